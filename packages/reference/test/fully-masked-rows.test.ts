/** Causal with nq > nk: query rows 0 … nq−nk−1 see no key and give lse = −inf, O = 0, dQ = 0, and no NaN anywhere. */
import { expect, it } from 'vitest';
import { createReferenceBackend, freshSeed, makeProblem, randomInputs } from '../src/index.js';
import { hasNaN } from './_helpers.js';

it('fully masked rows give −inf / 0 / 0 with no NaN (bh=2 nq=20 nk=6 d=9 causal)', async () => {
  const p = makeProblem({ bh: 2, nq: 20, nk: 6, d: 9, causal: true });
  const seed = freshSeed();
  const session = await createReferenceBackend().open(p, 'exact');
  await session.write(randomInputs(p, seed));
  await session.poison();
  await session.run(['lse', 'forward', 'backward']);
  const out = await session.read(['lse', 'o', 'dq', 'dk', 'dv']);
  const masked = p.nq - p.nk;
  for (let b = 0; b < p.bh; b++) {
    for (let i = 0; i < p.nq; i++) {
      const r = b * p.nq + i;
      if (i < masked) {
        expect(out.lse[r], `lse row ${r} (seed ${seed})`).toBe(-Infinity);
        expect(Array.from(out.o.subarray(r * p.dv, (r + 1) * p.dv)), `O row ${r}`).toEqual(new Array(p.dv).fill(0));
        expect(Array.from(out.dq.subarray(r * p.d, (r + 1) * p.d)), `dQ row ${r}`).toEqual(new Array(p.d).fill(0));
      } else {
        expect(Number.isFinite(out.lse[r]), `lse row ${r} (seed ${seed})`).toBe(true);
      }
    }
  }
  for (const name of ['lse', 'o', 'dq', 'dk', 'dv'] as const) expect(hasNaN(out[name]), `${name} has NaN (seed ${seed})`).toBe(false);
});
