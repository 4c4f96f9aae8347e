/**
 * The non-finite policy's tools, shared by every caller of a backend: backends take any float (as GPU kernels do);
 * the caller scans inputs and outputs here and decides. Indices are reported as coordinates ([b, n, d] or
 * [b, h, n, d], whatever shape the caller gives), never as flat offsets.
 */
import type { OutputName } from './backend.js';
import { isPoisoned } from './poison.js';
import type { Problem } from './problem.js';
import { visibleKeys } from './problem.js';

/** Where a tensor holds NaN or ±inf. */
export interface NonFiniteScan {
  /** how many elements are NaN or ±inf */
  count: number;
  /** row-major coordinates of the first one */
  first: number[];
  /** its value: NaN, Infinity or -Infinity */
  value: number;
}

/** Row-major coordinates of flat `index` in `shape`: unflattenIndex(7, [2, 3]) → [1, 1]. */
export function unflattenIndex(index: number, shape: readonly number[]): number[] {
  const at: number[] = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    at[axis] = index % shape[axis]!;
    index = Math.floor(index / shape[axis]!);
  }
  return at;
}

/**
 * NaN and ±inf in a row-major tensor of `shape`, or null when there are none. `exempt(i)` leaves out element i
 * (called only for non-finite elements).
 */
export function scanNonFinite(data: ArrayLike<number>, shape: readonly number[], exempt?: (i: number) => boolean): NonFiniteScan | null {
  let first = -1;
  let count = 0;
  for (let i = 0; i < data.length; i++) {
    if (Number.isFinite(data[i]!) || exempt?.(i)) continue;
    if (first < 0) first = i;
    count++;
  }
  return first < 0 ? null : { count, first: unflattenIndex(first, shape), value: data[first]! };
}

/** "K has 2 non-finite values (first at [1,3,2]: NaN)"; `qualifier` goes before the parenthesis ("after conversion"). */
export function describeNonFinite(label: string, scan: NonFiniteScan, qualifier = ''): string {
  const values = `non-finite value${scan.count === 1 ? '' : 's'}`;
  return `${label} has ${scan.count} ${values}${qualifier ? ` ${qualifier}` : ''} (first at [${scan.first.join(',')}]: ${scan.value})`;
}

/**
 * Non-finite values an output should not hold when every input was finite. The one exemption is the lse of a row
 * that sees no key (causal, nq > nk), which is −inf by definition (its O and dQ rows are 0). Elements still holding
 * the poison pattern are left out too: they are unwritten, a different fault (countPoisoned).
 * `shape` is the caller's layout of the output (its leading dims may be [bh] or [b, h]).
 */
export function unexpectedNonFinite(
  problem: Problem, name: OutputName, data: Float32Array | Float64Array, shape: readonly number[],
): NonFiniteScan | null {
  const maskedLse = (i: number): boolean => name === 'lse' && data[i] === -Infinity && visibleKeys(problem, i % problem.nq) === 0;
  return scanNonFinite(data, shape, (i) => maskedLse(i) || isPoisoned(data, i));
}

/** A row whose lse provably exceeds a limit, with the lower bound that proves it. */
export interface LseBeyond {
  /** the row: b·nq + i */
  row: number;
  /** a lower bound on that row's lse (in value units), above the limit */
  bound: number;
}

const UNIT_ROUNDOFF = 2 ** -53;

/**
 * The first query row whose lse is certainly above `limit`, or null. By Jensen, lse_i = log Σ_j exp(S_ij) ≥
 * log n_i + mean_j S_ij over the n_i keys row i sees, and mean_j S_ij = scale · q_i · (mean of those keys): one pass
 * over K (prefix sums, for causal) and one over Q, O(bh·(nq + nk)·d), float64. The float64 rounding error of that
 * sum is bounded and subtracted, so a row is reported only when its lse is above the limit for certain; a row whose
 * scores merely spread wide is not (the bound is loose, never wrong). Inputs must be finite.
 * Shapes: q [bh, nq, d], k [bh, nk, d] (row-major).
 */
export function lseCertainlyAbove(problem: Problem, q: ArrayLike<number>, k: ArrayLike<number>, limit: number): LseBeyond | null {
  const { bh, nq, nk, d, scale } = problem;
  const sum = new Float64Array(d);
  const abs = new Float64Array(d);
  for (let b = 0; b < bh; b++) {
    sum.fill(0);
    abs.fill(0);
    let summed = 0;
    // visibleKeys grows with i: the prefix sums of K only ever extend
    for (let i = 0; i < nq; i++) {
      const n = visibleKeys(problem, i);
      for (; summed < n; summed++) {
        const ko = (b * nk + summed) * d;
        for (let c = 0; c < d; c++) {
          sum[c] += k[ko + c]!;
          abs[c] += Math.abs(k[ko + c]!);
        }
      }
      if (n === 0) continue;
      const qo = (b * nq + i) * d;
      let dot = 0;
      let magnitude = 0;
      for (let c = 0; c < d; c++) {
        dot += q[qo + c]! * sum[c]!;
        magnitude += Math.abs(q[qo + c]!) * abs[c]!;
      }
      // |computed − exact| ≤ (n + d)·u·Σ|q||k| for the sums, a few u more for the scaling; 2× covers the higher terms
      const error = 2 * (n + d + 4) * UNIT_ROUNDOFF * Math.abs(scale) * (magnitude / n);
      const bound = Math.log(n) + scale * (dot / n) - error;
      if (bound > limit) return { row: b * nq + i, bound };
    }
  }
  return null;
}
