#!/usr/bin/env bash
# Set up, build, and run every test. vitest also writes its JSON report to .cache/test-results.json (read by .ci/run).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
printf '\n== tests\n'
mkdir -p .cache
pnpm vitest run --reporter=default --reporter=json --outputFile.json=.cache/test-results.json "$@"
