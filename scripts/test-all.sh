#!/usr/bin/env bash
# Quick start, command 2 (and what CI runs): set everything up, check types and lint, then run
# the whole test suite (unit + integration).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm run --silent typecheck
npm run --silent lint
npm test
