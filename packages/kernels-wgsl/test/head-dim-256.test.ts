// The tiled limit itself: the large head dims of @attn/reference's odd shapes (d = 256; d = 200 with dv = 130, which
// runs version 3: dv is not a multiple of 4) and d = 200 with dv = 256 (version 5, d ≠ dv), naive and tiled, causal
// and not.
import { ODD_SHAPES } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, cases, checkCase, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('d up to 256', () => {
  it.each(cases([...ODD_SHAPES.filter((s) => s.large), { bh: 2, nq: 19, nk: 41, d: 200, dv: 256 }]))('$name', async ({ problem, variant }) => {
    expect(await checkCase(problem, variant, 'bwd')).toEqual([]);
  });
});
