// Bad input gets one clear line: wrong tensor length, unknown names, variants and stages. Non-finite values are taken.
import { afterAll, describe, expect, it } from 'vitest';
import { backend, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('bad input', () => {
  const p = problem({ bh: 1, nq: 4, nk: 5, d: 3 });

  it('a tensor of the wrong length', async () => {
    const s = await backend.open(p, 'tiled');
    try {
      await expect(s.write({ q: new Float32Array(11).fill(0.5) })).rejects.toThrow(/^write: q has 11 elements, .* needs 12$/);
    } finally {
      await s.dispose();
    }
  });

  it('any float is taken, NaN and ±inf included: the caller owns the non-finite policy (attn run)', async () => {
    const s = await backend.open(p, 'naive');
    try {
      const k = new Float32Array(15).fill(0.25);
      k[7] = NaN;
      k[8] = Infinity;
      await expect(s.write({ k, lse: new Float32Array([-Infinity, 0.5, 1, 2]) })).resolves.toBeUndefined();
    } finally {
      await s.dispose();
    }
  });

  it('an unknown tensor, variant or stage', async () => {
    expect(backend.check(p, 'exact')).toBe("wgsl has no variant 'exact' (variants: naive, tiled; tiled@… takes a choice)");
    const s = await backend.open(p, 'tiled');
    try {
      await expect(s.write({ x: new Float32Array(1) } as never)).rejects.toThrow("write: 'x' is not an input");
      await expect(s.run(['softmax'] as never)).rejects.toThrow("unknown stage 'softmax'");
      await expect(s.read(['q'] as never)).rejects.toThrow("read: 'q' is not an output");
    } finally {
      await s.dispose();
    }
  });

  it('a disposed session', async () => {
    const s = await backend.open(p, 'tiled');
    await s.dispose();
    await expect(s.run(['lse'])).rejects.toThrow(/run after dispose\(\)/);
  });
});
