// stages 1+2+3 (lse, forward, backward) against the float64 reference on fresh seeded inputs, outputs poisoned first (checkSession).
import { afterAll, describe, expect, it } from 'vitest';
import { BACKWARD_SHAPES, backend, cases, checkCase, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('wgsl bwd', () => {
  it.each(cases(BACKWARD_SHAPES))('$name', async ({ problem, variant }) => {
    expect(await checkCase(problem, variant, 'bwd')).toEqual([]);
  });
});
