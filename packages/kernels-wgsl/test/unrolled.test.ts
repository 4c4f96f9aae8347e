// The unrolled form of the tiled shaders (constant loop bounds, full tiles: the GPU default; kernel 5 also expands its
// @unroll-gpu loops) is correct too, for kernels 1, 2 and 5; the CPU adapter defaults to runtime bounds, so this file forces unrolling, on small tiles to keep
// lavapipe's compile short.
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const backends = {
  1: createWgslBackend({ kernel: 1, unroll: true, maxWorkgroupBytes: 6144, maxTileSide: 4 }),
  2: createWgslBackend({ kernel: 2, unroll: true, maxWorkgroupBytes: 6144, maxTileSide: 4 }),
  5: createWgslBackend({ kernel: 5, unroll: true, maxWorkgroupBytes: 6144, maxTileSide: 4 }),
};
afterAll(async () => {
  for (const b of Object.values(backends)) await b.close();
});

describe.skipIf(skipGpu)('tiled, unrolled', () => {
  it.each([
    [1, false], [1, true], [2, false], [2, true], [5, false], [5, true],
  ] as const)('kernel %i: forward and backward on odd shapes, causal %s', async (kernel, causal) => {
    // nq = 32, nk = 16 has mask-free tiles in kernel 5; its fully unrolled chunk loops compile slowly on lavapipe,
    // so kernel 5 skips d = 5 (which runs kernel 3's shaders under it: vec4 chunks need d ≡ 0 mod 4)
    const shapes = [{ bh: 2, nq: 19, nk: 7, d: 5, dv: 7 }, { bh: 1, nq: 9, nk: 30, d: 8 }, { bh: 1, nq: 32, nk: 16, d: 8, dv: 12 }];
    for (const init of kernel === 5 ? shapes.slice(1) : shapes) {
      const p = makeProblem({ ...init, causal });
      const s = await backends[kernel].open(p, 'tiled');
      try {
        const seed = freshSeed();
        expect((await checkSession(s, { pipeline: 'fwd', seed })).failures, `seed ${seed}`).toEqual([]);
        expect((await checkSession(s, { pipeline: 'bwd', seed })).failures, `seed ${seed}`).toEqual([]);
      } finally {
        await s.dispose();
      }
    }
  });

  it('info() says so', async () => {
    expect((await backends[2].info()).details?.unrolledLoops).toBe(true);
  });
});
