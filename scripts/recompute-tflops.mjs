// Usage: node scripts/recompute-tflops.mjs results.json… (after a change of the FLOP convention; run from the repo root)
// Recomputes each timed record's tflops with the current flops() (the 'fwd' convention changed from 6· to 4·).
import fs from 'node:fs';
import { flops, makeProblem } from '../packages/reference/dist/index.js';
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  let n = 0;
  for (const x of r.records) {
    if (!x.timing) continue;
    const p = makeProblem({ bh: x.bh, nq: x.nq, nk: x.nk, d: x.d, causal: x.causal });
    x.tflops = flops(p, x.stage) / (x.timing.medianMs * 1e-3) / 1e12;
    n++;
  }
  (r.metadata.notes ??= []).push("tflops recomputed after the sweep: the 'fwd' pipeline (lse + forward) now counts 4·bh·nq·nk·d, FlashAttention's forward, instead of 6·");
  fs.writeFileSync(file, JSON.stringify(r, null, 1) + '\n');
  console.log(file, n);
}
