// The fixed relative-L2 tolerances are float32's: a float16 record at score std 1 is judged by the rule alone (its
// rounding to float16 is 2⁻¹¹ relative per value, over the tolerance of O), while unwritten and non-finite elements
// fail in every dtype.
import { expect, it } from 'vitest';
import { judge } from '../src/sweep.js';

const stored = { o: { maxAbs: 1e-3, relL2: 2e-4, nonFinite: 0, unwritten: 0 } };

it('float32 at score std 1 keeps the fixed tolerance; float16 leaves it to the rule', () => {
  expect(judge(stored, 1, 'float32')).toBe('o: relL2 2.00e-4 > 0.00001');
  expect(judge(stored, 1, 'float16')).toBeNull();
  expect(judge({ o: { ...stored.o, unwritten: 3 } }, 1, 'float16')).toBe('o: 3 elements never written');
});
