// Version 5 with 8 rows per invocation (rows=8, the GPU default: RM4 = 2, two vec4 per row block) is correct too.
// lavapipe's 32 KiB of workgroup memory fit 8-row forward and dq tiles with 8 × 8 invocations (side=8), not 16 × 16.
import { afterAll, describe, expect, it } from 'vitest';
import { backend, checkShapes, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

const VARIANT = 'tiled@rows=8+side=8';

describe.skipIf(skipGpu)(VARIANT, () => {
  it('Session.kernels records 8 rows per invocation in lse, forward and dq', async () => {
    const s = await backend.open({ bh: 1, nq: 77, nk: 33, d: 24, dv: 24, scale: 1, causal: false, dtype: 'float32' }, VARIANT);
    try {
      expect(s.kernels).toEqual({
        lse: 'lse5: 64x64 tile, 8x8 invocations of 8x8',
        forward: 'fwd5: 64x32 tile, 8x8 invocations of 8x4',
        backward: 'bwd5: dkdv 64x32 tile, 8x8 invocations of 8x4 + dq 64x32 tile, 8x8 invocations of 8x4',
      });
    } finally {
      await s.dispose();
    }
  });

  it.each([{ bh: 2, nq: 77, nk: 33, d: 24 }, { bh: 1, nq: 17, nk: 130, d: 64, dv: 40 }])('bwd, causal and not: bh=$bh nq=$nq nk=$nk d=$d', async (shape) => {
    expect(await checkShapes(backend, VARIANT, [shape], 'bwd')).toEqual([]);
  });
});
