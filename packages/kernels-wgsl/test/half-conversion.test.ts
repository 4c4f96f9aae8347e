// float16 on the host (src/half.ts): float32 → float16 bits rounds as @attn/reference's roundTo (nearest, ties to
// even, ±Infinity past the range), float16 bits → float32 is exact and keeps a NaN's payload, so the float16 poison
// reads back as the pattern countPoisoned recognises. No adapter needed.
import { countPoisoned, POISON_F16_BITS, POISON_F16_WIDENED_BITS, Rng, roundTo } from '@attn/reference';
import { describe, expect, it } from 'vitest';
import { floatBitsOfHalf, fromHalfBits, halfBitsOf, toHalfBits } from '../src/half.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const bitsOf = (x: number): number => ((f32[0] = x), u32[0]!);
const valueOf = (bits: number): number => ((u32[0] = bits), f32[0]!);

/** The value of float16 bits from its definition: (−1)^s · 2^(e − 15) · (1 + m/1024), subnormals 2⁻¹⁴ · m/1024. */
function definition(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m ? NaN : s * Infinity;
  return e === 0 ? s * 2 ** -14 * (m / 1024) : s * 2 ** (e - 15) * (1 + m / 1024);
}

describe('float16 bits ↔ float32', () => {
  it('every float16 value widens exactly and narrows back to its own bits', () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = valueOf(floatBitsOfHalf(h));
      if (Number.isNaN(definition(h))) {
        expect(Number.isNaN(v), h.toString(16)).toBe(true);
        continue;
      }
      expect(Object.is(v, definition(h)), h.toString(16)).toBe(true);
      expect(halfBitsOf(floatBitsOfHalf(h)), h.toString(16)).toBe(h);
    }
  });

  it('float32 values round as roundTo: random ones across the range, every midpoint between neighbours', () => {
    const rng = new Rng(7);
    for (let i = 0; i < 200_000; i++) {
      // exponents from far below the subnormals to past the largest finite value
      const x = Math.fround((rng.uniform() * 2 - 1) * 2 ** Math.floor(rng.uniform() * 48 - 30));
      expect(valueOf(floatBitsOfHalf(halfBitsOf(bitsOf(x)))), String(x)).toBe(roundTo('float16', x));
    }
    for (let h = 0; h < 0x7bff; h++) {
      const mid = (definition(h) + definition(h + 1)) / 2; // exact in float32: one bit more than float16
      const even = (h & 1) === 0 ? h : h + 1;
      expect(halfBitsOf(bitsOf(mid)), `between ${h.toString(16)} and ${(h + 1).toString(16)}`).toBe(even);
      expect(halfBitsOf(bitsOf(-mid))).toBe(0x8000 | even);
    }
    expect(halfBitsOf(bitsOf(65519.99))).toBe(0x7bff);
    expect(halfBitsOf(bitsOf(65520))).toBe(0x7c00);
    expect(halfBitsOf(bitsOf(-1e9))).toBe(0xfc00);
    expect(halfBitsOf(bitsOf(2 ** -25))).toBe(0);
    expect(halfBitsOf(bitsOf(Math.fround(2 ** -25 * 1.0001)))).toBe(1);
  });

  it('arrays: a Float64Array goes through float32; NaN payloads survive the widening, the poison included', () => {
    expect([...toHalfBits(new Float64Array([1, -2.5, 65504, Infinity]))]).toEqual([0x3c00, 0xc100, 0x7bff, 0x7c00]);
    const widened = fromHalfBits(new Uint16Array([0x3c00, POISON_F16_BITS, 0x7e00, 0x0001]));
    expect(widened[0]).toBe(1);
    expect(new Uint32Array(widened.buffer)[1]).toBe(POISON_F16_WIDENED_BITS);
    expect(widened[3]).toBe(2 ** -24);
    expect(countPoisoned(widened)).toBe(1);
    expect(toHalfBits(widened)[1]).toBe(POISON_F16_BITS);
  });
});
