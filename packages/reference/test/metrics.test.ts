/** compareTensor: poison counts as unwritten, NaN/Inf as non-finite, −inf must match −inf, metrics skip both. */
import { describe, expect, it } from 'vitest';
import { compareTensor, poisonArray } from '../src/index.js';

describe('compareTensor', () => {
  it('measures max abs, max rel and relative L2 of finite pairs', () => {
    const e = compareTensor(new Float32Array([1, 2.5, -4]), new Float64Array([1, 2, -4]), { relFloor: 1e-9 });
    expect(e).toEqual({ count: 3, maxAbs: 0.5, maxRel: 0.25, relL2: 0.5 / Math.sqrt(1 + 4 + 16), l2: 0.5, finite: 3, nonFinite: 0, unwritten: 0 });
  });

  it('counts poisoned elements as unwritten and a computed NaN as non-finite, leaving both out of the metrics', () => {
    const actual = new Float32Array([1, 0, 0, 3, Number.NaN, Infinity]);
    const poisoned = new Float32Array(2);
    poisonArray(poisoned);
    actual.set(poisoned, 1);
    const e = compareTensor(actual, new Float64Array([1, 5, 6, 2, 7, 8]), { relFloor: 1e-9 });
    expect(e.unwritten).toBe(2);
    expect(e.nonFinite).toBe(2);
    expect(e.maxAbs).toBe(1);
    expect(e.relL2).toBeCloseTo(1 / Math.sqrt(1 + 4), 15);
  });

  it('tells float64 poison from float64 NaN too', () => {
    const actual = new Float64Array(3);
    poisonArray(actual);
    actual[2] = Number.NaN;
    const e = compareTensor(actual, new Float64Array([1, 2, 3]));
    expect([e.unwritten, e.nonFinite]).toEqual([2, 1]);
  });

  it('takes −inf for −inf (a fully masked lse) as exact, anything else there as a non-finite mismatch', () => {
    const reference = new Float64Array([-Infinity, -Infinity, -Infinity, 2]);
    const e = compareTensor(new Float32Array([-Infinity, -1e30, Number.NaN, 2]), reference);
    expect(e.nonFinite).toBe(2);
    expect([e.maxAbs, e.relL2]).toEqual([0, 0]);
  });

  it('uses the floor in the max-rel denominator, and ‖a − r‖ when the reference is zero', () => {
    expect(compareTensor(new Float64Array([1e-6]), new Float64Array([1e-12]), { relFloor: 1e-3 }).maxRel).toBeCloseTo((1e-6 - 1e-12) / 1e-3, 15);
    const zero = compareTensor(new Float64Array([3, 4]), new Float64Array([0, 0]));
    expect(zero.relL2).toBe(5);
  });

  it('refuses tensors of different lengths', () => {
    expect(() => compareTensor(new Float32Array(3), new Float64Array(4))).toThrow(/actual has 3 elements, reference 4/);
  });
});

describe('relative L2 floor (lse)', () => {
  it('compares values below the floor as absolute errors, and leaves larger ones relative', () => {
    const small = compareTensor(Float32Array.of(4.001e-4), Float64Array.of(4e-4), { l2Floor: 1 });
    expect(small.relL2).toBeCloseTo(1e-7, 9);
    const large = compareTensor(Float32Array.of(10.5), Float64Array.of(10), { l2Floor: 1 });
    expect(large.relL2).toBeCloseTo(0.05, 12);
    expect(compareTensor(Float32Array.of(4.001e-4), Float64Array.of(4e-4)).relL2).toBeCloseTo(2.5e-4, 6);
  });
});
