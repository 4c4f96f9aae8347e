#!/usr/bin/env bash
# The main job: set up, build, then sweep backends × shapes for correctness and speed and write the report.
# Arguments go to `attn sweep` (see `pnpm attn sweep --help`); with none it picks the preset for this machine.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
printf '\n== attn sweep %s\n' "$*"
exec node packages/harness/dist/cli.js sweep "$@"
