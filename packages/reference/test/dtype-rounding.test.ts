/**
 * Rounding to a storage dtype is IEEE round to nearest, ties to even: every float16 value maps to itself, the midpoint
 * of two neighbours goes to the even one, overflow goes to ±inf; bfloat16 agrees with the bit-level rounding of a
 * float32 (add 0x7fff plus the lowest kept bit, truncate).
 */
import { expect, test } from 'vitest';
import { roundNumber } from '../src/dtype.js';
import { Rng, roundTo, ulpOf } from '../src/index.js';

/** The value of a float16 bit pattern. */
function f16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const man = bits & 0x3ff;
  if (exp === 0x1f) return man ? NaN : sign * Infinity;
  return exp === 0 ? sign * man * 2 ** -24 : sign * (1 + man / 1024) * 2 ** (exp - 15);
}

test('every finite float16 value rounds to itself; the midpoint of neighbours rounds to the even one', () => {
  for (let bits = 0; bits < 0x7c00; bits++) {
    const x = f16(bits);
    expect(roundTo('float16', x)).toBe(x);
    expect(roundTo('float16', -x)).toBe(-x);
    if (bits + 1 < 0x7c00) {
      const mid = (x + f16(bits + 1)) / 2;
      expect(roundTo('float16', mid), `between ${bits} and ${bits + 1}`).toBe(bits % 2 === 0 ? x : f16(bits + 1));
      // just off the midpoint: to the nearer neighbour
      expect(roundTo('float16', mid - (f16(bits + 1) - x) / 8)).toBe(x);
    }
  }
  expect(roundTo('float16', 65519.99)).toBe(65504);
  expect(roundTo('float16', 65520)).toBe(Infinity);
  expect(roundTo('float16', -1e6)).toBe(-Infinity);
  expect(roundTo('float16', 2 ** -26)).toBe(0); // half the smallest subnormal: a tie, to even (0)
  expect(ulpOf('float16', 1)).toBe(2 ** -10);
  expect(ulpOf('bfloat16', 1)).toBe(2 ** -7);
});

test('bfloat16 rounding equals the bit-level round-to-nearest-even of a float32', () => {
  const rng = new Rng(11);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (let i = 0; i < 200_000; i++) {
    u32[0] = rng.nextUint32();
    const x = f32[0]!;
    if (!Number.isFinite(x)) continue;
    const bits = u32[0]!;
    u32[0] = (((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16) >>> 0;
    const want = f32[0]!;
    expect(roundTo('bfloat16', x), `bits ${bits.toString(16)}`).toBe(want);
  }
});

test('a float32 value rounds by its bits exactly as any float64 number does by arithmetic', () => {
  const rng = new Rng(12);
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  for (const dtype of ['float16', 'bfloat16'] as const) {
    for (let i = 0; i < 200_000; i++) {
      // every exponent (subnormals and near-overflow included), random mantissa and sign
      u32[0] = rng.nextUint32();
      const x = f32[0]!;
      if (Number.isNaN(x)) continue;
      expect(roundTo(dtype, x), `${dtype} bits ${u32[0]!.toString(16)}`).toBe(roundNumber(dtype, x));
    }
  }
});
