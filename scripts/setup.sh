#!/usr/bin/env bash
# Set up a checkout for building and testing: pnpm (the pinned version), dependencies, the CPU Vulkan adapter for the
# WGSL tests, and a full build. Idempotent; meant for a fresh Debian 12 + Node 20 as root, and safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export TURBO_TELEMETRY_DISABLED=1
# node-gyp (the CUDA addon) must use Node's own headers: there is no header download here.
export npm_config_nodedir="${npm_config_nodedir:-/usr}"

step() { printf '\n== %s\n' "$*"; }

pinned=$(node -p "require('./package.json').packageManager.replace(/^pnpm@/, '')")
if [ "$(pnpm --version 2>/dev/null || true)" != "$pinned" ]; then
  step "installing pnpm $pinned"
  npm i -g "pnpm@$pinned"
fi

step "pnpm install"
pnpm install --frozen-lockfile

if [ -f packages/kernels-wgsl/scripts/fetch-lavapipe.sh ]; then
  step "CPU Vulkan adapter (lavapipe) for the WGSL tests"
  bash packages/kernels-wgsl/scripts/fetch-lavapipe.sh
fi

step "build"
pnpm build
