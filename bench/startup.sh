#!/usr/bin/env bash
# bench/startup: the CLI's start-up cost, `berth --version` against a bare `node -e 0`.
set -euo pipefail
source "$(dirname "$0")/_lib.sh"
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine
[ -f "$REPO/dist/berth.mjs" ] || (cd "$REPO" && node scripts/build.mjs)
out="$RESULTS/startup.json"
hyperfine -N --runs "${RUNS:-40}" --warmup 3 --export-json "$out" \
  -n 'node -e 0' 'node -e 0' \
  -n 'berth --version' "$REPO/bin/berth --version" \
  -n 'node dist/berth.mjs --version' "node $REPO/dist/berth.mjs --version"
echo
echo "### start-up ($(date -u +%F), $(nproc) cores)"
summarise "$out" 'node -e 0' | tee "$RESULTS/startup.md"
