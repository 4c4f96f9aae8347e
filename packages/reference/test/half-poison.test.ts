/**
 * A half-precision output the device never wrote holds the dtype's poison NaN (float16 0x7e5d, bfloat16 0x7fde), and a
 * session reads it back widened exactly: countPoisoned and isPoisoned know those float32 patterns as unwritten, not as
 * a NaN a kernel computed.
 */
import { expect, it } from 'vitest';
import {
  POISON_BF16_BITS, POISON_BF16_WIDENED_BITS, POISON_F16_BITS, POISON_F16_WIDENED_BITS, compareTensor, countPoisoned, isPoisoned,
} from '../src/index.js';

/** float16 bits widened to float32 bits exactly (sign, exponent rebiased, mantissa shifted; a NaN keeps its payload). */
function widenF16(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  return (sign | (exp === 0x1f ? 0x7f800000 : (exp + 112) << 23) | (mant << 13)) >>> 0;
}

it('the widened patterns are the exact widenings of quiet half NaNs', () => {
  expect(widenF16(POISON_F16_BITS)).toBe(POISON_F16_WIDENED_BITS);
  expect((POISON_BF16_BITS << 16) >>> 0).toBe(POISON_BF16_WIDENED_BITS);
  expect(POISON_F16_BITS & 0x0200).not.toBe(0); // quiet bit of float16
  expect(POISON_BF16_BITS & 0x0040).not.toBe(0); // quiet bit of bfloat16
  for (const bits of [POISON_F16_WIDENED_BITS, POISON_BF16_WIDENED_BITS]) expect(new Float32Array(Uint32Array.of(bits).buffer)[0]).toBeNaN();
});

it('counts widened half poison as unwritten, and a computed NaN as not', () => {
  const a = new Float32Array(6);
  const bits = new Uint32Array(a.buffer);
  bits[1] = POISON_F16_WIDENED_BITS;
  bits[3] = POISON_BF16_WIDENED_BITS;
  bits[4] = 0x7fc00000; // canonical NaN: what a kernel computes
  bits[5] = widenF16(0x7fff); // CUDA's canonical half NaN, widened
  expect(countPoisoned(a)).toBe(2);
  expect([0, 1, 2, 3, 4, 5].map((i) => isPoisoned(a, i))).toEqual([false, true, false, true, false, false]);
  // compared with a reference, the poisoned elements are unwritten and the computed NaNs non-finite
  const e = compareTensor(a, new Float64Array(6));
  expect([e.unwritten, e.nonFinite]).toEqual([2, 2]);
});
