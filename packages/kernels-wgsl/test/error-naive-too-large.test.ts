// A naive problem whose score matrix exceeds one storage binding is refused up front with the bytes needed and allowed.
import { BackendError } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('naive too large', () => {
  const p = problem({ bh: 2, nq: 32768, nk: 32768, d: 4 });
  const needed = 4 * 2 * 32768 * 32768;

  it('check() names the bytes needed and allowed', () => {
    const why = backend.check(p, 'naive');
    expect(why).toMatch(new RegExp(`needs ${needed} bytes for each score matrix .*adapter allows \\d+ per buffer`));
    expect(why).not.toContain('\n');
  });

  it('open() rejects with the same BackendError and allocates nothing', async () => {
    await expect(backend.open(p, 'naive')).rejects.toThrow(BackendError);
    await expect(backend.open(p, 'naive')).rejects.toThrow(`needs ${needed} bytes`);
  });

  it('the tiled variant takes the same problem (no score matrix)', () => {
    expect(backend.check(p, 'tiled')).toBeNull();
  });
});
