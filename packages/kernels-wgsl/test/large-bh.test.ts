// bh beyond 65535 workgroups per dimension: the dispatch folds onto a 2-D grid and every row is still computed.
import { afterAll, describe, expect, it } from 'vitest';
import { gridFor } from '../src/plan.js';
import { backend, checkCase, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe('gridFor', () => {
  it('covers the items within the per-dimension limit', () => {
    expect(gridFor(70000, 65535)).toEqual([65535, 2]);
    expect(gridFor(1, 65535)).toEqual([1, 1]);
    expect(gridFor(65535 * 65535 + 1, 65535)).toBeNull();
  });
});

// tiled with 4 × 4 invocations: 70000 workgroups of the default 16 × 16 spend ~30 s on lavapipe idling over nq = 2
describe.skipIf(skipGpu)('bh = 70000', () => {
  it.each(['naive', 'tiled@side=4'])('%s backward matches the reference', async (variant) => {
    expect(await checkCase(problem({ bh: 70000, nq: 2, nk: 3, d: 2, causal: true }), variant, 'bwd')).toEqual([]);
  });
});
