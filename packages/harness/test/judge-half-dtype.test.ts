/**
 * A sweep record's fixed relative-L2 tolerances (TOLERANCE: float32 sizes) judge float32 problems at score std 1 only:
 * a half-dtype output's own rounding exceeds them, and there the accuracy rule alone judges. Unwritten and non-finite
 * elements fail in every dtype.
 */
import { expect, it } from 'vitest';
import type { ErrorStats } from '../src/results.js';
import { judge } from '../src/sweep.js';

const halfRounded: Record<string, ErrorStats> = {
  o: { maxAbs: 1e-3, relL2: 3e-4, nonFinite: 0, unwritten: 0 },
  dq: { maxAbs: 2e-3, relL2: 4e-4, nonFinite: 0, unwritten: 0 },
};

it('applies the float32 tolerances to float32 only', () => {
  expect(judge(halfRounded, 1)).toBe('o: relL2 3.00e-4 > 0.00001; dq: relL2 4.00e-4 > 0.0001');
  expect(judge(halfRounded, 1, 'float32')).not.toBeNull();
  expect(judge(halfRounded, 1, 'float16')).toBeNull();
  expect(judge(halfRounded, 1, 'bfloat16')).toBeNull();
});

it('fails unwritten and non-finite elements in a half dtype too', () => {
  const bad = { o: { ...halfRounded.o!, unwritten: 3 }, dq: { ...halfRounded.dq!, nonFinite: 1 } };
  expect(judge(bad, 1, 'float16')).toBe('o: 3 elements never written; dq: 1 non-finite where the reference is finite');
});
