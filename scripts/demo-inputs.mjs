// Writes seeded random float32 inputs q, k, v, dO of one problem as .npy files, inputs for `attn run`.
// Usage: node scripts/demo-inputs.mjs DIR BH NQ NK D [SEED]
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeProblem, randomInputs, tensorShape, writeNpy } from '../packages/reference/dist/index.js';

const [dir, bh, nq, nk, d, seed = '1'] = process.argv.slice(2);
if (!dir || !bh || !nq || !nk || !d) {
  console.error('usage: node scripts/demo-inputs.mjs DIR BH NQ NK D [SEED]');
  process.exit(2);
}
const problem = makeProblem({ bh: Number(bh), nq: Number(nq), nk: Number(nk), d: Number(d) });
const inputs = randomInputs(problem, Number(seed));
mkdirSync(dir, { recursive: true });
for (const name of ['q', 'k', 'v', 'dO']) {
  writeFileSync(join(dir, `${name}.npy`), writeNpy(inputs[name], tensorShape(problem, name)));
}
console.log(`wrote q, k, v, dO for BH=${bh} Nq=${nq} Nk=${nk} d=${d} (seed ${seed}) into ${dir}`);
