// Tiled kernel 1 (ATTN_WGSL_KERNEL=1, kept for old-vs-new measurements) stays correct: stages 1+2+3 against the
// float64 reference on fresh seeded inputs, odd shapes, causal and not. Kernel 2, the default, is what the other
// stage tests check.
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { BACKWARD_SHAPES, skipGpu } from './_helpers.js';

const backend = createWgslBackend({ kernel: 1 });
afterAll(() => backend.close());

describe.skipIf(skipGpu)('tiled kernel 1', () => {
  it('info() names it', async () => {
    expect((await backend.info()).details?.tiledKernel).toBe(1);
  });

  it.each(BACKWARD_SHAPES.flatMap((init) => [false, true].map((causal) => ({ ...init, causal }))))('bwd %o', async (init) => {
    const p = makeProblem(init);
    const s = await backend.open(p, 'tiled');
    try {
      expect((await checkSession(s, { pipeline: 'bwd', seed: freshSeed() })).failures).toEqual([]);
    } finally {
      await s.dispose();
    }
  });
});
