#!/usr/bin/env bash
# Checks the GPU bundle on this (CPU) machine: copies .device/ into a fresh fake device folder, runs
# `run.sh run --backend reference` there with no node_modules around and the .deb step skipped, and requires outputs
# byte-identical to the workspace CLI's on the same seeded inputs, renders a report's charts through the bundle, and
# shows which backends the bundle can load.
# Usage: bash scripts/device-selftest.sh   (after pnpm device:pack)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[ -f .device/run.sh ] || { echo "device-selftest: .device/ is missing; run pnpm device:pack first" >&2; exit 1; }
tmp=$(mktemp -d /tmp/attn-fake-device.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cp -r .device "$tmp/device"

node scripts/demo-inputs.mjs "$tmp/in" 3 77 131 40 "${SEED:-$RANDOM}"
in=(--q "$tmp/in/q.npy" --k "$tmp/in/k.npy" --v "$tmp/in/v.npy" --do "$tmp/in/dO.npy")

# A bare environment, as on the GPU machine: no node on PATH (the bundle's own is used), no workspace.
bare() { (cd "$tmp" && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$tmp" ATTN_SKIP_DPKG=1 "$@"); }
bare bash "$tmp/device/run.sh" run --backend reference --stage bwd --causal "${in[@]}" --out "$tmp/bundle-out"
node packages/harness/dist/cli.js run --backend reference --stage bwd --causal "${in[@]}" --out "$tmp/workspace-out" > /dev/null
for f in lse o dq dk dv; do
  cmp -s "$tmp/bundle-out/$f.npy" "$tmp/workspace-out/$f.npy" || { echo "device-selftest: $f.npy differs between bundle and workspace" >&2; exit 1; }
done
echo "device-selftest: bundle reference outputs are byte-identical to the workspace's"

# Charts through the bundle: it must find its own font (the GPU machine has no system fonts).
bare bash "$tmp/device/run.sh" report "$PWD/reports/cpu/results.json" --out "$tmp/report" > /dev/null
echo "device-selftest: bundle rendered $(ls "$tmp/report"/*.png | wc -l) charts with its font"

# WGSL through the bundle's dawn.node on the CPU adapter, when setup fetched it: outputs against the reference's.
lavapipe=$PWD/.cache/lavapipe/icd.json
if [ -f "$lavapipe" ]; then
  bare VK_ICD_FILENAMES="$lavapipe" bash "$tmp/device/run.sh" run --backend wgsl --variant tiled --stage bwd --causal \
    "${in[@]}" --out "$tmp/wgsl-lvp-out" 2>&1 | grep -v '^Warning' | grep -v '^wrote' || true
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    import { readNpy } from './packages/reference/dist/index.js';
    let bad = 0;
    for (const n of ['lse', 'o', 'dq', 'dk', 'dv']) {
      const a = readNpy(readFileSync('$tmp/wgsl-lvp-out/' + n + '.npy')).data, r = readNpy(readFileSync('$tmp/bundle-out/' + n + '.npy')).data;
      let num = 0, den = 0;
      for (let i = 0; i < r.length; i++) if (Number.isFinite(r[i])) { num += (a[i] - r[i]) ** 2; den += r[i] ** 2; } else if (a[i] !== r[i]) num = NaN;
      const rel = Math.sqrt(num / den);
      if (!(rel <= 1e-4)) bad++;
      console.log('device-selftest: bundle wgsl tiled (lavapipe) ' + n + ' rel L2 vs reference ' + rel.toExponential(2));
    }
    process.exit(bad);
  "
fi

for backend in cuda wgsl; do
  printf 'device-selftest: %s in the bundle: ' "$backend"
  if bare bash "$tmp/device/run.sh" run --backend "$backend" --stage fwd --q "$tmp/in/q.npy" --k "$tmp/in/k.npy" \
    --v "$tmp/in/v.npy" --out "$tmp/$backend-out" > "$tmp/$backend.log" 2>&1; then
    echo "ran"
  else
    grep '^attn:' "$tmp/$backend.log" || tail -1 "$tmp/$backend.log"
  fi
done
