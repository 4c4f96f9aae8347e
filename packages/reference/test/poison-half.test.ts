// A float16 output's poison (POISON_F16_BITS on the device) is still recognised after an exact widening to float32:
// countPoisoned, isPoisoned and the comparison count it as unwritten, while a NaN a kernel computed is not.
import { expect, it } from 'vitest';
import { POISON_F16_BITS, POISON_F16_WIDENED_BITS, POISON_F32_BITS, compareTensor, countPoisoned, isPoisoned } from '../src/index.js';

/** float16 bits of a NaN → float32 bits, exactly (sign, all-ones exponent, the 10-bit payload moved up 13 bits) */
const widenNaN = (h: number): number => (((h & 0x8000) << 16) | 0x7f800000 | ((h & 0x3ff) << 13)) >>> 0;

it('the float16 poison is a quiet NaN other than the canonical one, and its widening is recognised', () => {
  expect(POISON_F16_BITS & 0x7c00).toBe(0x7c00);
  expect(POISON_F16_BITS & 0x0200).toBe(0x0200);
  expect(POISON_F16_BITS).not.toBe(0x7e00);
  expect(POISON_F16_WIDENED_BITS).toBe(widenNaN(POISON_F16_BITS));
  expect(POISON_F16_WIDENED_BITS).not.toBe(POISON_F32_BITS);

  const a = new Float32Array(6).fill(0.5);
  const bits = new Uint32Array(a.buffer);
  bits[1] = widenNaN(POISON_F16_BITS);
  bits[3] = POISON_F32_BITS;
  bits[4] = widenNaN(0x7e00); // the canonical NaN a half kernel computes
  expect(countPoisoned(a)).toBe(2);
  expect([0, 1, 2, 3, 4, 5].map((i) => isPoisoned(a, i))).toEqual([false, true, false, true, false, false]);
  const e = compareTensor(a, new Float64Array(6).fill(0.5));
  expect([e.unwritten, e.nonFinite, e.finite]).toEqual([2, 1, 3]);
});
