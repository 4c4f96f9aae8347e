// Bad input gets one clear line: wrong tensor length, non-finite values, unknown names, variants and stages.
import { BackendError } from '@attn/reference';
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

  it('a NaN or infinite input', async () => {
    const s = await backend.open(p, 'naive');
    try {
      const k = new Float32Array(15).fill(0.25);
      k[7] = NaN;
      await expect(s.write({ k })).rejects.toThrow('write: k[7] is NaN, inputs must be finite');
      k[7] = Infinity;
      await expect(s.write({ k })).rejects.toThrow(BackendError);
    } finally {
      await s.dispose();
    }
  });

  it('−inf is a valid lse (a row that sees no key)', async () => {
    const s = await backend.open(p, 'naive');
    try {
      await expect(s.write({ lse: new Float32Array([-Infinity, 0.5, 1, 2]) })).resolves.toBeUndefined();
    } finally {
      await s.dispose();
    }
  });

  it('an unknown tensor, variant or stage', async () => {
    expect(backend.check(p, 'exact')).toBe("wgsl has no variant 'exact' (variants: naive, tiled)");
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
