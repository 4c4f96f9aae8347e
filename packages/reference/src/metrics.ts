/**
 * Error of a kernel's output against the float64 reference.
 *
 * Element classes, each counted once and in this order:
 * - unwritten: the actual still holds the poison pattern (poison.ts), i.e. the kernel never wrote it;
 * - nonFinite: actual and reference disagree about being finite: NaN/±Inf in the actual where the reference is finite,
 *   and also (our choice) any element whose reference is not finite (−inf lse of a fully masked row) but whose actual
 *   is not exactly the same value. An exact −inf where the reference is −inf is a match with error 0.
 * - everything else is a finite pair and enters maxAbs, maxRel and relL2.
 * Non-finite pairs are left out of the metrics so one NaN does not hide the size of the other errors.
 */
import type { FloatArray, OutputName } from './backend.js';
import { isPoisoned } from './poison.js';

export interface TensorError {
  /** elements compared */
  count: number;
  /** max |a − r| over finite pairs */
  maxAbs: number;
  /** max |a − r| / max(|r|, relFloor) over finite pairs */
  maxRel: number;
  /** ‖a − r‖ / max(‖r‖, l2Floor·√finite pairs) over finite pairs; ‖a − r‖ when that is 0 */
  relL2: number;
  /** ‖a − r‖ over finite pairs (absolute) */
  l2: number;
  /** finite pairs compared */
  finite: number;
  /** non-finite disagreements (see above) */
  nonFinite: number;
  /** elements still holding the poison pattern */
  unwritten: number;
}

export interface CompareOptions {
  /**
   * Absolute floor of the max-rel denominator, so tiny reference values do not blow it up.
   * Default: 1e-3 × the root mean square of the finite reference values (1e-30 if that is 0).
   */
  relFloor?: number;
  /**
   * Floor of the relative-L2 denominator per element: ‖a − r‖ / max(‖r‖, l2Floor·√count). compareOutputs sets 1 for
   * lse: a logsumexp's float32 error is absolute (rounding of its terms, whose size does not shrink as lse → 0), so
   * for |lse| < 1 it is compared as an absolute error (a 1 × 1 problem with lse = 4e-4 failed a purely relative test).
   * Default 0.
   */
  l2Floor?: number;
}

/** Relative L2 tolerance of each output, float32 kernel vs float64 reference (algorithm.md). */
export const TOLERANCE: Readonly<Record<OutputName, number>> = { lse: 1e-5, o: 1e-5, dq: 1e-4, dk: 1e-4, dv: 1e-4 };

function defaultFloor(reference: Float64Array): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    if (Number.isFinite(r)) {
      sum += r * r;
      n++;
    }
  }
  const rms = n > 0 ? Math.sqrt(sum / n) : 0;
  return rms > 0 ? 1e-3 * rms : 1e-30;
}

export function compareTensor(actual: FloatArray, reference: Float64Array, options: CompareOptions = {}): TensorError {
  if (actual.length !== reference.length) {
    throw new RangeError(`compareTensor: actual has ${actual.length} elements, reference ${reference.length}`);
  }
  const floor = options.relFloor ?? defaultFloor(reference);
  let maxAbs = 0;
  let maxRel = 0;
  let diff2 = 0;
  let ref2 = 0;
  let nonFinite = 0;
  let unwritten = 0;
  let finite = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const r = reference[i]!;
    if (Number.isNaN(a) && isPoisoned(actual, i)) {
      unwritten++;
      continue;
    }
    if (!Number.isFinite(r)) {
      if (a !== r) nonFinite++;
      continue;
    }
    if (!Number.isFinite(a)) {
      nonFinite++;
      continue;
    }
    const e = Math.abs(a - r);
    if (e > maxAbs) maxAbs = e;
    const rel = e / Math.max(Math.abs(r), floor);
    if (rel > maxRel) maxRel = rel;
    diff2 += e * e;
    ref2 += r * r;
    finite++;
  }
  const scale = Math.max(Math.sqrt(ref2), (options.l2Floor ?? 0) * Math.sqrt(finite));
  const relL2 = scale > 0 ? Math.sqrt(diff2) / scale : Math.sqrt(diff2);
  return { count: actual.length, maxAbs, maxRel, relL2, l2: Math.sqrt(diff2), finite, nonFinite, unwritten };
}
