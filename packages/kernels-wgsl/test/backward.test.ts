// stages 1+2+3 (lse, forward, backward) against the float64 reference on fresh seeded inputs, outputs poisoned first (checkSession): naive and
// tiled (the default versions) on the odd shapes of @attn/reference (SMALL_ODD_SHAPES), causal and not.
import { afterAll, describe, expect, it } from 'vitest';
import { backend, cases, checkCase, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('wgsl bwd', () => {
  it.each(cases())('$name', async ({ problem, variant }) => {
    expect(await checkCase(problem, variant, 'bwd')).toEqual([]);
  });
});
