// Tiled kernels 1 to 4 (ATTN_WGSL_KERNEL=1…4, kept for old-vs-new measurements) stay correct: stages 1+2 and 3
// against the float64 reference on fresh seeded inputs, odd shapes, causal and not. Kernel 5, the default, is what
// the other stage tests check; 64 × 96 with d = 12 has tiles every query of which sees every key (kernel 5's
// mask-free path) next to boundary ones.
import type { ProblemInit } from '@attn/reference';
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const VERSIONS = [1, 2, 3, 4, 5] as const;
const backends = Object.fromEntries(VERSIONS.map((k) => [k, createWgslBackend({ kernel: k })]));
afterAll(async () => {
  for (const b of Object.values(backends)) await b.close();
});

const SHAPES: ProblemInit[] = [
  { bh: 2, nq: 17, nk: 40, d: 8 },
  { bh: 1, nq: 64, nk: 96, d: 12, dv: 20 },
  { bh: 1, nq: 33, nk: 9, d: 6 },
];

describe.skipIf(skipGpu)('tiled kernels 1 to 5', () => {
  it.each(VERSIONS)('info() names kernel %i', async (k) => {
    expect((await backends[k]!.info()).details?.tiledKernel).toBe(k);
  });

  it.each(VERSIONS.flatMap((k) => [false, true].map((causal) => [k, causal] as const)))('kernel %i, causal %s: fwd and bwd', async (k, causal) => {
    for (const init of SHAPES) {
      const p = makeProblem({ ...init, causal });
      const s = await backends[k]!.open(p, 'tiled');
      try {
        const seed = freshSeed();
        for (const pipeline of ['fwd', 'bwd'] as const) {
          expect((await checkSession(s, { pipeline, seed })).failures, `${pipeline} ${JSON.stringify(init)} seed ${seed}`).toEqual([]);
        }
      } finally {
        await s.dispose();
      }
    }
  });
});
