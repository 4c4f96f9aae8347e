// poison() fills every output with the POISON_F32_BITS pattern, so an element no kernel writes is caught.
import { POISON_F32_BITS, tensorSize } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { backend, problem, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('poison', () => {
  it.each(['naive', 'tiled'] as const)('%s: every output element holds the pattern', async (variant) => {
    const p = problem({ bh: 3, nq: 5, nk: 7, d: 6, dv: 4 });
    const session = await backend.open(p, variant);
    try {
      await session.poison();
      const out = await session.read(['lse', 'o', 'dq', 'dk', 'dv']);
      for (const [name, a] of Object.entries(out) as [keyof typeof out, Float32Array][]) {
        expect(a.length).toBe(tensorSize(p, name));
        const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
        expect(bits.every((b) => b === POISON_F32_BITS), name).toBe(true);
      }
    } finally {
      await session.dispose();
    }
  });
});
