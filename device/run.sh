#!/usr/bin/env bash
# Runs the attn harness on a GPU machine that has a driver but no Node (made by `pnpm device:pack`):
#   bash .device/run.sh [attn args…]
# With no arguments: a verification sweep, results into ${OUT:-./device-out}.
# Unpacks node, dawn.node, skia and the CUDA addon next to themselves, installs the Vulkan/GL loader .debs into /
# (dpkg -x, root only; ATTN_SKIP_DPKG=1 skips it), points Vulkan/EGL at NVIDIA's ICD, and runs node attn.mjs.
# Its own notes (the banner, skipped loader .debs) go to stderr only with ATTN_VERBOSE=1 or on the no-argument run, so
# that a refused command prints exactly its one 'attn: …' line.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

verbose=${ATTN_VERBOSE:-0}
if [ $# -eq 0 ]; then verbose=1; fi
note() {
  if [ "$verbose" = 1 ]; then echo "run.sh: $*" >&2; fi
}

# x.xz -> x, once (again only when the .xz is newer)
unpack() {
  local packed=$1 file=${1%.xz}
  [ -f "$packed" ] || return 0
  if [ ! -s "$file" ] || [ "$packed" -nt "$file" ]; then
    xz -dc "$packed" > "$file.part" && mv "$file.part" "$file"
  fi
}
unpack "$here/bin/node.xz"
chmod +x "$here/bin/node"
unpack "$here/node_modules/webgpu/dist/linux-x64/dawn.node.xz"
unpack "$here/node_modules/@napi-rs/canvas/skia.linux-x64-gnu.node.xz"
unpack "$here/attn_cuda.node.xz"

# The GPU machine lacks the Vulkan loader and glvnd; NVIDIA's Vulkan ICD needs both.
if [ "${ATTN_SKIP_DPKG:-0}" = 1 ]; then
  note "ATTN_SKIP_DPKG=1, loader .debs not installed"
elif [ "$(id -u)" != 0 ]; then
  note "not root, loader .debs not installed (WGSL may find no adapter)"
elif ! ldconfig -p | grep -q 'libvulkan.so.1 ' || ! ldconfig -p | grep -q 'libGLX.so.0 '; then
  for deb in "$here"/debs/*.deb; do dpkg -x "$deb" /; done
  # its warnings (a library that is not a symlink, …) are notes too
  if [ "$verbose" = 1 ]; then ldconfig; else ldconfig 2>/dev/null; fi
fi

first_existing() {
  local f
  for f in "$@"; do
    if [ -f "$f" ]; then echo "$f"; break; fi
  done
}
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ]; then
  icd=$(first_existing /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json)
  if [ -n "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
fi
if [ -z "${__EGL_VENDOR_LIBRARY_FILENAMES:-}" ]; then
  egl=$(first_existing /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json)
  if [ -n "$egl" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$egl; fi
fi
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
  export XDG_RUNTIME_DIR=/tmp/attn-xdg-$(id -u)
  mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
fi

# Where the bundled kernel packages and the reference pool find their files (no node_modules tree here).
if [ -f "$here/attn_cuda.node" ]; then export ATTN_CUDA_ADDON="$here/attn_cuda.node"; fi
dawn="$here/node_modules/webgpu/dist/linux-x64/dawn.node"
if [ -f "$dawn" ]; then export ATTN_DAWN_NODE="$dawn"; fi
export ATTN_REFERENCE_WORKER="$here/reference-worker.mjs"
if [ -z "${ATTN_GIT_COMMIT:-}" ] && [ -s "$here/COMMIT" ]; then export ATTN_GIT_COMMIT=$(cat "$here/COMMIT"); fi

if [ $# -eq 0 ]; then
  set -- sweep --preset verify --out "${OUT:-./device-out}"
fi
if [ "$verbose" = 1 ]; then note "node $("$here/bin/node" --version), bundle $(cat "$here/COMMIT" 2>/dev/null || echo '?'), attn $*"; fi
exec "$here/bin/node" "$here/attn.mjs" "$@"
