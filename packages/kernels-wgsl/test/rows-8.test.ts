// Tiled kernel 2 with 8 rows per invocation (ATTN_WGSL_ROWS=8: RM4 = 2, two vec4 per row block) is correct too.
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const backend = createWgslBackend({ rowsPerInvocation: 8 });
afterAll(() => backend.close());

describe.skipIf(skipGpu)('tiled kernel 2, 8 rows per invocation', () => {
  it.each([false, true])('bwd on odd shapes, causal %s', async (causal) => {
    for (const init of [{ bh: 2, nq: 77, nk: 33, d: 24 }, { bh: 1, nq: 17, nk: 130, d: 64, dv: 40 }]) {
      const p = makeProblem({ ...init, causal });
      const s = await backend.open(p, 'tiled');
      try {
        const seed = freshSeed();
        expect((await checkSession(s, { pipeline: 'bwd', seed })).failures, `seed ${seed}`).toEqual([]);
      } finally {
        await s.dispose();
      }
    }
  });

  it('info() reports the tile with 8 rows per invocation', async () => {
    const info = await backend.info();
    expect(info.details?.rowsPerInvocation).toBe(8);
    expect(String((info.details?.tiles as Record<string, Record<string, string>>).d64.forward)).toMatch(/^64x32 \(8x8 invocations/);
  });
});
