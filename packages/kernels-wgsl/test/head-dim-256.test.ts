// The tiled limit itself: d = 256 (smallest tiles), and d = 200 with dv = 256 (d ≠ dv, not a power of two).
import { afterAll, describe, expect, it } from 'vitest';
import { backend, cases, checkCase, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('d up to 256', () => {
  it.each(cases([{ bh: 1, nq: 33, nk: 20, d: 256 }, { bh: 2, nq: 19, nk: 41, d: 200, dv: 256 }]))('$name', async ({ problem, variant }) => {
    expect(await checkCase(problem, variant, 'bwd')).toEqual([]);
  });
});
