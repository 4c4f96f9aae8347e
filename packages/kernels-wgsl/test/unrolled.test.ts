// The unrolled form of the tiled shaders (constant loop bounds, full tiles: the GPU default) is correct too; the CPU
// adapter defaults to runtime bounds, so this file forces unrolling, on small tiles to keep lavapipe's compile short.
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const backend = createWgslBackend({ unroll: true, maxWorkgroupBytes: 6144, maxTileSide: 4 });
afterAll(() => backend.close());

describe.skipIf(skipGpu)('tiled, unrolled', () => {
  it.each([false, true])('backward on odd shapes, causal %s', async (causal) => {
    for (const init of [{ bh: 2, nq: 19, nk: 7, d: 5, dv: 7 }, { bh: 1, nq: 9, nk: 30, d: 8 }]) {
      const p = makeProblem({ ...init, causal });
      const s = await backend.open(p, 'tiled');
      try {
        expect((await checkSession(s, { pipeline: 'bwd', seed: freshSeed() })).failures).toEqual([]);
      } finally {
        await s.dispose();
      }
    }
  });

  it('info() says so', async () => {
    expect((await backend.info()).details?.unrolledLoops).toBe(true);
  });
});
