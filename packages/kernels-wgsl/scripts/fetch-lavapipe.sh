#!/usr/bin/env bash
# Provides the CPU Vulkan adapter (lavapipe) the WGSL backend uses on a machine with no GPU.
#
# Debian 12's own lavapipe (Mesa 22.3) is too old for the Dawn in `webgpu` 0.6.2 (no adapter), so this installs the
# Vulkan loader and Debian's drivers (for their shared libraries: llvm, xcb, drm), then fetches the bookworm-backports
# build of mesa-vulkan-drivers into <repo>/.cache/lavapipe, without touching the system's apt sources, and writes
# <repo>/.cache/lavapipe/icd.json pointing at it. The backend finds that json by itself (src/environment.ts).
#
# Idempotent: does nothing when the ICD json and its library are already there. Needs root only to install the
# system packages, and only when they are missing. The mirror is read from this machine's apt configuration.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
dest="$repo/.cache/lavapipe"
lib_rel="mesa/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so"

if [[ -f "$dest/icd.json" && -f "$dest/$lib_rel" ]]; then
  echo "fetch-lavapipe: already present in $dest"
  exit 0
fi
if [[ "$(uname -m)" != "x86_64" ]]; then
  echo "fetch-lavapipe: only x86_64 is supported (this machine is $(uname -m))" >&2
  exit 1
fi

# 1. The Vulkan loader and Debian's lavapipe dependencies.
if ! dpkg-query -W -f='${Status}' libvulkan1 mesa-vulkan-drivers 2>/dev/null | grep -c 'install ok installed' | grep -qx 2; then
  if [[ "$(id -u)" != 0 ]]; then
    echo "fetch-lavapipe: libvulkan1 and mesa-vulkan-drivers are missing; run this script as root to install them" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  # apt-get update only when the package lists do not know the packages yet
  if ! apt-cache show libvulkan1 mesa-vulkan-drivers >/dev/null 2>&1; then apt-get update; fi
  apt-get install -y --no-install-recommends libvulkan1 mesa-vulkan-drivers
fi

# 2. The backports build, into a private folder, through a private sources list.
uri=""
if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
  uri="$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
fi
if [[ -z "$uri" && -f /etc/apt/sources.list ]]; then
  uri="$(awk '$1=="deb" && $0 ~ /bookworm/ {for (i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list)"
fi
if [[ -z "$uri" ]]; then
  echo "fetch-lavapipe: no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list" >&2
  exit 1
fi

work="$dest/apt"
mkdir -p "$work/lists/partial" "$work/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm-backports main" > "$work/backports.list"
opts=(-o "Dir::Etc::SourceList=$work/backports.list" -o "Dir::Etc::SourceParts=/dev/null"
      -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives"
      -o "APT::Architecture=amd64" -o "APT::Architectures=amd64" -o "APT::Sandbox::User=root")
apt-get "${opts[@]}" update
(cd "$work" && rm -f mesa-vulkan-drivers_*.deb && apt-get "${opts[@]}" download mesa-vulkan-drivers/bookworm-backports)
deb="$(ls "$work"/mesa-vulkan-drivers_*.deb | head -n 1)"
rm -rf "$dest/mesa"
dpkg -x "$deb" "$dest/mesa"
if [[ ! -f "$dest/$lib_rel" ]]; then
  echo "fetch-lavapipe: $deb has no libvulkan_lvp.so" >&2
  exit 1
fi

# 3. The ICD json: only this driver, by a path relative to the json (the loader resolves it so), so Debian's older
#    one is never picked through it and the folder may move with the checkout.
api="$(cat "$dest"/mesa/usr/share/vulkan/icd.d/lvp_icd*.json 2>/dev/null | sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' | head -n 1 || true)"
cat > "$dest/icd.json.tmp" <<JSON
{
  "file_format_version": "1.0.0",
  "ICD": {
    "library_path": "./$lib_rel",
    "api_version": "${api:-1.3.0}"
  }
}
JSON
mv "$dest/icd.json.tmp" "$dest/icd.json"
echo "fetch-lavapipe: $(basename "$deb") unpacked; ICD at $dest/icd.json"
