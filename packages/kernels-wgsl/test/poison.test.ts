// poison() fills every output with the poison pattern, so an element no kernel writes is caught: POISON_F32_BITS in a
// float32 buffer; in a float16 one POISON_F16_BITS, which reads back (widened exactly) as a pattern countPoisoned
// recognises. lse is float32 in every dtype.
import { countPoisoned, POISON_F16_WIDENED_BITS, POISON_F32_BITS, tensorSize } from '@attn/reference';
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

  it.each(['naive', 'tiled'] as const)('%s float16: every output element holds the pattern, odd lengths included', async (variant) => {
    const p = problem({ bh: 3, nq: 5, nk: 7, d: 3, dv: 5, dtype: 'float16' });
    const session = await backend.open(p, variant);
    try {
      await session.poison();
      const out = await session.read(['lse', 'o', 'dq', 'dk', 'dv']);
      for (const [name, a] of Object.entries(out) as [keyof typeof out, Float32Array][]) {
        expect(a.length).toBe(tensorSize(p, name));
        const bits = new Uint32Array(a.buffer, a.byteOffset, a.length);
        expect(bits.every((b) => b === (name === 'lse' ? POISON_F32_BITS : POISON_F16_WIDENED_BITS)), name).toBe(true);
        expect(countPoisoned(a), name).toBe(a.length);
      }
    } finally {
      await session.dispose();
    }
  });
});
