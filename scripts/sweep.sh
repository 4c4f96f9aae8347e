#!/usr/bin/env bash
# The main job: set up, build, then sweep backends × shapes for correctness and speed (arguments go to `attn sweep`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh

if [ -f packages/harness/src/commands/sweep.ts ]; then
  printf '\n== attn sweep %s\n' "$*"
  exec pnpm --silent attn sweep "$@"
fi

# Until the sweep command exists: one reference run on a demo problem, to show the pipeline end to end.
printf '\n== attn sweep is not written yet; demo: the float64 reference, all three stages, on one odd-shaped problem\n'
demo=.cache/demo
node scripts/demo-inputs.mjs "$demo/in" 3 77 131 40 1
pnpm --silent attn run --backend reference --stage bwd --causal \
  --q "$demo/in/q.npy" --k "$demo/in/k.npy" --v "$demo/in/v.npy" --do "$demo/in/dO.npy" --out "$demo/out"
node --input-type=module -e "
  import { readFileSync } from 'node:fs';
  import { readNpy } from './packages/reference/dist/index.js';
  for (const name of ['lse', 'o', 'dq', 'dk', 'dv']) {
    const { data, shape } = readNpy(readFileSync('$demo/out/' + name + '.npy'));
    let sq = 0; for (const x of data) if (Number.isFinite(x)) sq += x * x;
    const head = Array.from(data.slice(0, 4), (x) => x.toFixed(6)).join(', ');
    console.log(name.padEnd(4), JSON.stringify(shape).padEnd(12), 'rms', Math.sqrt(sq / data.length).toFixed(6), ' first:', head);
  }"
