#!/usr/bin/env bash
# Build, then run the test suite with node's test runner. With arguments, runs only the test
# files whose path contains one of them: `bash scripts/test.sh archive registry/auth`.
set -euo pipefail
cd "$(dirname "$0")/.."
node scripts/build.mjs
mapfile -t all < <(find build -name '*.test.js' | sort)
files=()
if [ $# -gt 0 ]; then
  for f in "${all[@]}"; do for pat in "$@"; do [[ $f == *"$pat"* ]] && { files+=("$f"); break; }; done; done
else
  files=("${all[@]}")
fi
[ ${#files[@]} -gt 0 ] || { echo "no test files match: $*" >&2; exit 1; }
exec node --test --test-concurrency=2 --test-reporter=spec "${files[@]}"
