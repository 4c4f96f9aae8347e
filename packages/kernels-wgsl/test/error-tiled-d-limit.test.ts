// d over the tiled limit is refused by check() and open(); the naive variant takes it and computes it right.
import { BackendError } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, checkCase, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('tiled d limit', () => {
  it('d = 257 is refused by the tiled variant with the limit in the message', async () => {
    const p = problem({ bh: 1, nq: 3, nk: 3, d: 257 });
    expect(backend.limits('tiled').maxD).toBe(256);
    expect(backend.check(p, 'tiled')).toMatch(/up to 256, got d = 257/);
    await expect(backend.open(p, 'tiled')).rejects.toThrow(BackendError);
  });

  it('dv over the limit is refused too', () => {
    expect(backend.check(problem({ bh: 1, nq: 3, nk: 3, d: 16, dv: 300 }), 'tiled')).toMatch(/dv = 300/);
  });

  it('d = 256 is accepted by the tiled variant', () => {
    expect(backend.check(problem({ bh: 1, nq: 3, nk: 3, d: 256 }), 'tiled')).toBeNull();
  });

  it('naive runs d = 300 correctly (backward included)', async () => {
    expect(await checkCase(problem({ bh: 1, nq: 9, nk: 13, d: 300, causal: true }), 'naive', 'bwd')).toEqual([]);
  });
});
