#!/usr/bin/env bash
# Packs what the GPU machine needs into the ignored folder .device/ (kept under 60 MiB):
#   bin/node.xz                     this machine's node (the GPU machine has none)
#   attn.mjs, reference-worker.mjs  the harness as one esbuild bundle, and the reference pool's worker script
#   torch_server.py                 the torch SDPA peer's python server (attn sweep --backends …,torch)
#   node_modules/webgpu/            the webgpu package's index.js + dist/linux-x64/dawn.node.xz (its only native part)
#   node_modules/@napi-rs/canvas/   chart rendering: its JS + skia.linux-x64-gnu.node.xz
#   node_modules/@fontsource/dejavu-sans/  the charts' font (regular and bold .woff2)
#   attn_cuda.node.xz               the CUDA addon, when built
#   debs/*.deb                      Vulkan/GL loaders (libvulkan1, glvnd …), fetched once into .cache/device-debs
#   run.sh                          unpacks all this and runs attn there (see device/run.sh)
# ATTN_PACK_CHARTS=0 leaves chart rendering out (11 MiB: for a device call whose checkout plus bundle would pass the
# transfer limit; sweep with --no-report there and render the report here with `attn report`).
# Runs `pnpm build` first (ATTN_PACK_NO_BUILD=1 skips it); needs a set-up checkout (bash scripts/setup.sh).
# Then on the GPU machine: bash .device/run.sh [attn args…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=.device
limit_mib=60

# Pack what the sources say now: a stale dist/ would ship old kernels (turbo makes this quick when nothing changed).
if [ "${ATTN_PACK_NO_BUILD:-0}" != 1 ]; then
  TURBO_TELEMETRY_DISABLED=1 npm_config_nodedir="${npm_config_nodedir:-/usr}" pnpm --silent build --output-logs=errors-only
fi
for f in packages/harness/dist/cli.js packages/reference/dist/reference-worker.js; do
  [ -f "$f" ] || { echo "device-pack: $f is missing; build first (bash scripts/setup.sh)" >&2; exit 1; }
done

rm -rf "$out"
mkdir -p "$out/bin" "$out/debs"
xzc() { xz -6 -T0 -c "$1" > "$2"; }
# Large files that rarely change (node, dawn.node, skia) are compressed once into .cache/device-xz, keyed by size+mtime.
cache=.cache/device-xz
xzc_cached() {
  local key
  key=$(basename "$1")-$(stat -c %s-%Y "$1").xz
  mkdir -p "$cache"
  [ -f "$cache/$key" ] || { xzc "$1" "$cache/$key.part" && mv "$cache/$key.part" "$cache/$key"; }
  cp "$cache/$key" "$2"
}

echo "node $(node --version)"
xzc_cached "$(command -v node)" "$out/bin/node.xz"

# Native files stay outside the bundle: the kernel packages find them through ATTN_CUDA_ADDON / ATTN_DAWN_NODE
# (set by run.sh), and the packages imported by name resolve to $out/node_modules.
echo "esbuild: attn.mjs, reference-worker.mjs"
# A kernel package not built yet stays out of the bundle: there `attn --backend X` then says it could not be loaded.
missing=()
for pkg in kernels-cuda kernels-wgsl; do
  if [ ! -f "packages/$pkg/dist/index.js" ]; then
    echo "  @attn/$pkg is not built (packages/$pkg/dist/index.js missing): left out of the bundle"
    missing+=(--external:@attn/$pkg)
  fi
done
# The banner gives bundled CommonJS code a require() (ESM output has none).
packages/harness/node_modules/.bin/esbuild \
  attn=packages/harness/dist/cli.js \
  reference-worker=packages/reference/dist/reference-worker.js \
  --bundle --platform=node --format=esm --target=node20 --outdir="$out" --out-extension:.js=.mjs \
  --external:webgpu --external:@napi-rs/canvas --external:'*.node' "${missing[@]}" \
  --banner:js="import { createRequire as __attnCreateRequire } from 'node:module'; const require = __attnCreateRequire(import.meta.url);" \
  --log-level=warning
# The torch peer's server: attn.mjs looks for it beside itself (peers/torch-backend.ts).
cp packages/harness/src/peers/torch_server.py "$out/torch_server.py"

webgpu=$(cd packages/kernels-wgsl && node -p "require('node:path').dirname(require.resolve('webgpu/package.json'))" 2>/dev/null || true)
if [ -n "$webgpu" ] && [ -f "$webgpu/dist/linux-x64/dawn.node" ]; then
  echo "webgpu: $webgpu"
  mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
  cp "$webgpu/package.json" "$webgpu/index.js" "$out/node_modules/webgpu/"
  xzc_cached "$webgpu/dist/linux-x64/dawn.node" "$out/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
else
  echo "webgpu: not installed; the bundle has no WGSL backend"
fi

canvas=$(cd packages/harness && node -p "require('node:path').dirname(require.resolve('@napi-rs/canvas/package.json'))" 2>/dev/null || true)
skia=$(cd "${canvas:-.}" && node -p "require.resolve('@napi-rs/canvas-linux-x64-gnu')" 2>/dev/null || true)
if [ "${ATTN_PACK_CHARTS:-1}" = 0 ]; then
  echo "canvas: left out (ATTN_PACK_CHARTS=0): sweep with --no-report there, then attn report here"
elif [ -n "$canvas" ] && [ -n "$skia" ]; then
  echo "canvas: $canvas"
  mkdir -p "$out/node_modules/@napi-rs/canvas"
  cp "$canvas"/*.js "$canvas/package.json" "$out/node_modules/@napi-rs/canvas/"
  # js-binding.js tries ./skia.linux-x64-gnu.node first
  xzc_cached "$skia" "$out/node_modules/@napi-rs/canvas/skia.linux-x64-gnu.node.xz"
else
  echo "canvas: not installed; the bundle renders no charts"
fi

# The charts' font (charts.ts resolves it from attn.mjs's folder; the GPU machine has no system fonts).
font=$(cd packages/harness && node -p "require('node:path').dirname(require.resolve('@fontsource/dejavu-sans/package.json'))" 2>/dev/null || true)
if [ -n "$font" ]; then
  echo "chart font: $font"
  mkdir -p "$out/node_modules/@fontsource/dejavu-sans/files"
  cp "$font/package.json" "$font/LICENSE" "$out/node_modules/@fontsource/dejavu-sans/"
  cp "$font"/files/dejavu-sans-latin-{400,700}-normal.woff2 "$out/node_modules/@fontsource/dejavu-sans/files/"
else
  echo "chart font: not installed; the bundle renders no charts"
fi

addon=packages/kernels-cuda/build/Release/attn_cuda.node
if [ -f "$addon" ]; then
  echo "cuda addon: $addon"
  xzc "$addon" "$out/attn_cuda.node.xz"
else
  echo "cuda addon: not built ($addon missing); the bundle has no CUDA backend"
fi

# Vulkan/GL loaders for the GPU machine (it has the driver's ICD but not the loader), fetched once.
debs=.cache/device-debs
want=(libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
if [ "$(ls "$debs"/*.deb 2>/dev/null | wc -l)" -lt "${#want[@]}" ]; then
  echo "fetching loader .debs into $debs"
  lists="$PWD/.cache/apt-amd64-lists"
  mkdir -p "$debs" "$lists/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update -qq
  (cd "$debs" && apt-get "${o[@]}" download "${want[@]}")
fi
cp "$debs"/*.deb "$out/debs/"

cp device/run.sh "$out/run.sh"
chmod +x "$out/run.sh"
{ git rev-parse --short=12 HEAD; git diff --quiet HEAD -- packages device || echo "+uncommitted"; } | paste -sd "" > "$out/COMMIT" 2>/dev/null || true

size_kib=$(du -sk "$out" | cut -f1)
echo "packed $out: $((size_kib / 1024)) MiB"
du -ah "$out" | sort -k2 | awk '$1 ~ /M$/'
if [ "$size_kib" -gt $((limit_mib * 1024)) ]; then
  echo "device-pack: $out is over ${limit_mib} MiB" >&2
  exit 1
fi
