/**
 * The float64 math of all three stages, one row at a time. Every full or row-sampled computation (in this thread or
 * in a worker) is a loop over these functions, so there is exactly one statement of the contract in code.
 *
 * Rows are flat: query row r = b·nq + i, key row c = b·nk + j.
 */
import type { Problem } from './problem.js';
import { visibleKeys } from './problem.js';

export interface RowInputs {
  readonly q: Float64Array;
  readonly k: Float64Array;
  readonly v: Float64Array;
}

function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s += a[aOff + c]! * b[bOff + c]!;
  return s;
}

/** Scores of query row r against its visible keys, into s[0 … count); returns count. */
export function scoreRow(p: Problem, x: RowInputs, r: number, s: Float64Array): number {
  const b = Math.floor(r / p.nq);
  const count = visibleKeys(p, r - b * p.nq);
  const qOff = r * p.d;
  const kBase = b * p.nk * p.d;
  for (let j = 0; j < count; j++) s[j] = p.scale * dot(x.q, qOff, x.k, kBase + j * p.d, p.d);
  return count;
}

/** lse of scores s[0 … count): −inf when count is 0. */
export function logSumExp(s: Float64Array, count: number): number {
  if (count === 0) return -Infinity;
  let m = -Infinity;
  for (let j = 0; j < count; j++) if (s[j]! > m) m = s[j]!;
  let sum = 0;
  for (let j = 0; j < count; j++) sum += Math.exp(s[j]! - m);
  return m + Math.log(sum);
}

/** o_r = Σ_j exp(s_j − lse) v_j over the visible keys, written to o[oOff … oOff+dv). Zero when no key is visible. */
export function forwardRow(
  p: Problem,
  x: RowInputs,
  r: number,
  s: Float64Array,
  count: number,
  lse: number,
  o: Float64Array,
  oOff: number,
): void {
  const b = Math.floor(r / p.nq);
  const vBase = b * p.nk * p.dv;
  o.fill(0, oOff, oOff + p.dv);
  for (let j = 0; j < count; j++) {
    const w = Math.exp(s[j]! - lse);
    const vOff = vBase + j * p.dv;
    for (let c = 0; c < p.dv; c++) o[oOff + c] += w * x.v[vOff + c]!;
  }
}

/** D_r = dO_r · O_r */
export function deltaRow(p: Problem, dO: Float64Array, o: Float64Array, r: number): number {
  return dot(dO, r * p.dv, o, r * p.dv, p.dv);
}

/** dq_r = scale · Σ_j P_rj (dO_r·v_j − D_r) k_j, written to dq[dqOff … dqOff+d). */
export function dqRow(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  r: number,
  lse: number,
  delta: number,
  s: Float64Array,
  dq: Float64Array,
  dqOff: number,
): void {
  const b = Math.floor(r / p.nq);
  const count = scoreRow(p, x, r, s);
  const kBase = b * p.nk * p.d;
  const vBase = b * p.nk * p.dv;
  dq.fill(0, dqOff, dqOff + p.d);
  for (let j = 0; j < count; j++) {
    const prob = Math.exp(s[j]! - lse);
    const dp = dot(dO, r * p.dv, x.v, vBase + j * p.dv, p.dv);
    const ds = prob * (dp - delta);
    const kOff = kBase + j * p.d;
    for (let c = 0; c < p.d; c++) dq[dqOff + c] += ds * x.k[kOff + c]!;
  }
  for (let c = 0; c < p.d; c++) dq[dqOff + c] *= p.scale;
}

/**
 * dk_c = scale · Σ_i dS_ic q_i and dv_c = Σ_i P_ic dO_i for key row c, over the queries that see it.
 * lse and delta are indexed by flat query row (only rows of this bh are read).
 */
export function dkdvRow(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  c: number,
  lse: ArrayLike<number>,
  delta: ArrayLike<number>,
  dk: Float64Array,
  dkOff: number,
  dv: Float64Array,
  dvOff: number,
): void {
  const b = Math.floor(c / p.nk);
  const j = c - b * p.nk;
  const kOff = c * p.d;
  const vOff = c * p.dv;
  dk.fill(0, dkOff, dkOff + p.d);
  dv.fill(0, dvOff, dvOff + p.dv);
  // query i sees key j iff j ≤ i + (nk − nq), i.e. i ≥ j − (nk − nq)
  const first = p.causal ? Math.max(0, j - (p.nk - p.nq)) : 0;
  for (let i = first; i < p.nq; i++) {
    const r = b * p.nq + i;
    const prob = Math.exp(p.scale * dot(x.q, r * p.d, x.k, kOff, p.d) - lse[r]!);
    const dOOff = r * p.dv;
    const dp = dot(dO, dOOff, x.v, vOff, p.dv);
    const ds = prob * (dp - delta[r]!);
    for (let e = 0; e < p.dv; e++) dv[dvOff + e] += prob * dO[dOOff + e]!;
    const qOff = r * p.d;
    for (let e = 0; e < p.d; e++) dk[dkOff + e] += ds * x.q[qOff + e]!;
  }
  for (let e = 0; e < p.d; e++) dk[dkOff + e] *= p.scale;
}
