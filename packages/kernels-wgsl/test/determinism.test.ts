// Backward is deterministic: no atomics, every sum in a fixed order, so two runs agree bit for bit.
import { freshSeed, randomInputs } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('determinism', () => {
  it.each(['naive', 'tiled'] as const)('%s: two backward runs give identical bits', async (variant) => {
    const p = problem({ bh: 2, nq: 70, nk: 45, d: 24, causal: true });
    const seed = freshSeed();
    const s = await backend.open(p, variant);
    try {
      await s.write(randomInputs(p, seed));
      const bits = async (): Promise<Uint32Array[]> => {
        await s.poison();
        await s.run(['lse', 'forward', 'backward']);
        const out = await s.read(['lse', 'o', 'dq', 'dk', 'dv']);
        return Object.values(out).map((a) => new Uint32Array(a.buffer, a.byteOffset, a.length));
      };
      const first = await bits();
      const second = await bits();
      expect(second, `seed ${seed}`).toEqual(first);
    } finally {
      await s.dispose();
    }
  });
});
