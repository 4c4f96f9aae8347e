// naive in float16: Q, K, V, dO, O, dQ, dK, dV stored as f16 (lse, D, P and dS in f32, every sum f32), lse → forward
// → backward on every odd shape of @attn/reference (N = 1, 17, 129; Nq ≠ Nk both ways; d not a power of two, dv ≠ d),
// causal and not, judged by the accuracy rule against the textbook in float16 (checkSession).
import { SMALL_ODD_SHAPES } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, checkShapes, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

const SHAPES = SMALL_ODD_SHAPES.map(({ bh, nq, nk, d, dv, why }) => ({ bh, nq, nk, d, dv: dv ?? d, why }));

describe.skipIf(skipGpu)('naive float16', () => {
  it.each(SHAPES)('bh=$bh nq=$nq nk=$nk d=$d dv=$dv ($why)', async ({ why: _, ...shape }) => {
    expect(await checkShapes(backend, 'naive', [shape], 'bwd', 'float16')).toEqual([]);
  });

  it('the forward alone (lse and O from Q, K, V)', async () => {
    expect(await checkShapes(backend, 'naive', SHAPES.slice(0, 3), 'fwd', 'float16')).toEqual([]);
  });
});
