// deviceBytes counts every buffer a session allocates: the nine tensors (lse with its two extra parts a_ref and c),
// D, naive's two score matrices, the params; in float16 the eight tensors but lse take 2 bytes an element (a buffer
// rounded up to whole 4-byte words).
import { tensorSize } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('deviceBytes', () => {
  const p = problem({ bh: 2, nq: 9, nk: 11, d: 5, dv: 3 });
  const tensors = (['q', 'k', 'v', 'dO', 'lse', 'o', 'dq', 'dk', 'dv'] as const).reduce((s, n) => s + 4 * tensorSize(p, n), 0) + 2 * 4 * tensorSize(p, 'lse');
  const delta = 4 * p.bh * p.nq;
  const params = 32;

  it('tiled', async () => {
    const s = await backend.open(p, 'tiled');
    expect(s.deviceBytes).toBe(tensors + delta + params);
    await s.dispose();
  });

  it('naive', async () => {
    const s = await backend.open(p, 'naive');
    expect(s.deviceBytes).toBe(tensors + delta + 2 * 4 * p.bh * p.nq * p.nk + params);
    await s.dispose();
  });

  it('tiled float16', async () => {
    const h = { ...p, dtype: 'float16' as const };
    const halfTensors = (['q', 'k', 'v', 'dO', 'o', 'dq', 'dk', 'dv'] as const).reduce((sum, n) => sum + 4 * Math.ceil((2 * tensorSize(h, n)) / 4), 0);
    const s = await backend.open(h, 'tiled');
    expect(s.deviceBytes).toBe(halfTensors + 3 * 4 * tensorSize(h, 'lse') + delta + params);
    await s.dispose();
  });
});
