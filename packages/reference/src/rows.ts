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

/** a·b over n elements; four partial sums break the add-latency chain (about 2× faster in V8 than one). */
function dot(a: Float64Array, aOff: number, b: Float64Array, bOff: number, n: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let c = 0;
  for (; c + 3 < n; c += 4) {
    s0 += a[aOff + c]! * b[bOff + c]!;
    s1 += a[aOff + c + 1]! * b[bOff + c + 1]!;
    s2 += a[aOff + c + 2]! * b[bOff + c + 2]!;
    s3 += a[aOff + c + 3]! * b[bOff + c + 3]!;
  }
  for (; c < n; c++) s0 += a[aOff + c]! * b[bOff + c]!;
  return s0 + s1 + (s2 + s3);
}

/**
 * Scores of a block of query rows of one bh: row i of the block against its visible keys into
 * s[i·nk … i·nk + counts[i]). Each key row is read once for the whole block (memory traffic / block size), and every
 * score is the same dot product a single row would compute, so results do not depend on how rows are blocked.
 */
export function scoreBlock(p: Problem, x: RowInputs, rows: Int32Array, s: Float64Array, counts: Int32Array): void {
  const n = rows.length;
  const b = Math.floor(rows[0]! / p.nq);
  let maxCount = 0;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (Math.floor(r / p.nq) !== b) throw new RangeError(`scoreBlock: rows ${rows[0]} and ${r} are in different bh`);
    counts[i] = visibleKeys(p, r - b * p.nq);
    if (counts[i]! > maxCount) maxCount = counts[i]!;
  }
  const { d, nk, scale } = p;
  const kBase = b * nk * d;
  for (let j = 0; j < maxCount; j++) {
    const kOff = kBase + j * d;
    for (let i = 0; i < n; i++) {
      if (j < counts[i]!) s[i * nk + j] = scale * dot(x.q, rows[i]! * d, x.k, kOff, d);
    }
  }
}

/** Scores of query row r against its visible keys, into s[0 … count); returns count. */
export function scoreRow(p: Problem, x: RowInputs, r: number, s: Float64Array): number {
  const counts = new Int32Array(1);
  scoreBlock(p, x, Int32Array.of(r), s, counts);
  return counts[0]!;
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

/**
 * O of a block of query rows of one bh (scores and counts from scoreBlock, lse[i] of row i): row i goes to
 * o[oOff + i·dv …). Keys are taken four at a time per pass over an output row (a quarter of its loads and stores),
 * the last count mod 4 one at a time, for every row alike, so a row's O does not depend on its block.
 */
export function forwardBlock(
  p: Problem,
  x: RowInputs,
  rows: Int32Array,
  s: Float64Array,
  counts: Int32Array,
  lse: Float64Array,
  o: Float64Array,
  oOff: number,
): void {
  const n = rows.length;
  const { dv, nk } = p;
  const v = x.v;
  const vBase = Math.floor(rows[0]! / p.nq) * nk * dv;
  let maxCount = 0;
  for (let i = 0; i < n; i++) {
    o.fill(0, oOff + i * dv, oOff + (i + 1) * dv);
    if (counts[i]! > maxCount) maxCount = counts[i]!;
  }
  for (let j = 0; j < maxCount; j += 4) {
    const v0 = vBase + j * dv;
    const v1 = v0 + dv;
    const v2 = v1 + dv;
    const v3 = v2 + dv;
    for (let i = 0; i < n; i++) {
      const count = counts[i]!;
      if (j >= count) continue;
      const l = lse[i]!;
      const si = i * nk;
      const oi = oOff + i * dv;
      if (j + 3 < count) {
        const w0 = Math.exp(s[si + j]! - l);
        const w1 = Math.exp(s[si + j + 1]! - l);
        const w2 = Math.exp(s[si + j + 2]! - l);
        const w3 = Math.exp(s[si + j + 3]! - l);
        for (let c = 0; c < dv; c++) o[oi + c] += w0 * v[v0 + c]! + w1 * v[v1 + c]! + (w2 * v[v2 + c]! + w3 * v[v3 + c]!);
      } else {
        for (let jj = j; jj < count; jj++) {
          const w = Math.exp(s[si + jj]! - l);
          const vOff = vBase + jj * dv;
          for (let c = 0; c < dv; c++) o[oi + c] += w * v[vOff + c]!;
        }
      }
    }
  }
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
  forwardBlock(p, x, Int32Array.of(r), s, Int32Array.of(count), Float64Array.of(lse), o, oOff);
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
