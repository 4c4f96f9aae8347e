/**
 * The float64 math of all three stages, one block of rows at a time. Every full or row-sampled computation (in this
 * thread or in a worker) is a loop over these functions, so there is exactly one statement of the contract in code;
 * the one-row functions (scoreRow, forwardRow, dqRow, dkdvRow) are the block functions with a block of one, and a
 * row's result does not depend on the block it was computed in (test/blocks-equal-rows.test.ts).
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
  return deltaAt(p, dO, r, o, r * p.dv);
}

/** D_r = dO_r · O_r with row r of O at o[oOff …) (O packed by sampled rows) */
export function deltaAt(p: Problem, dO: Float64Array, r: number, o: Float64Array, oOff: number): number {
  return dot(dO, r * p.dv, o, oOff, p.dv);
}

/**
 * dQ of a block of query rows of one bh (scores and counts from scoreBlock; lse[i], delta[i] of row i):
 * dq_r = scale · Σ_j P_rj (dO_r·v_j − D_r) k_j, row i written to dq[dqOff + i·d …). Each key and value row is read
 * once per block; every row's sum runs over j in the same order as alone.
 */
export function dqBlock(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  rows: Int32Array,
  s: Float64Array,
  counts: Int32Array,
  lse: Float64Array,
  delta: Float64Array,
  dq: Float64Array,
  dqOff: number,
): void {
  const n = rows.length;
  const { d, dv, nk } = p;
  const b = Math.floor(rows[0]! / p.nq);
  const kBase = b * nk * d;
  const vBase = b * nk * dv;
  let maxCount = 0;
  for (let i = 0; i < n; i++) {
    dq.fill(0, dqOff + i * d, dqOff + (i + 1) * d);
    if (counts[i]! > maxCount) maxCount = counts[i]!;
  }
  // like forwardBlock: four keys per pass over a dQ row, the last count mod 4 one at a time
  const v = x.v;
  const k = x.k;
  for (let j = 0; j < maxCount; j += 4) {
    const k0 = kBase + j * d;
    const k1 = k0 + d;
    const k2 = k1 + d;
    const k3 = k2 + d;
    for (let i = 0; i < n; i++) {
      const count = counts[i]!;
      if (j >= count) continue;
      const l = lse[i]!;
      const D = delta[i]!;
      const si = i * nk;
      const dOOff = rows[i]! * dv;
      const qi = dqOff + i * d;
      if (j + 3 < count) {
        const vOff = vBase + j * dv;
        const ds0 = Math.exp(s[si + j]! - l) * (dot(dO, dOOff, v, vOff, dv) - D);
        const ds1 = Math.exp(s[si + j + 1]! - l) * (dot(dO, dOOff, v, vOff + dv, dv) - D);
        const ds2 = Math.exp(s[si + j + 2]! - l) * (dot(dO, dOOff, v, vOff + 2 * dv, dv) - D);
        const ds3 = Math.exp(s[si + j + 3]! - l) * (dot(dO, dOOff, v, vOff + 3 * dv, dv) - D);
        for (let c = 0; c < d; c++) dq[qi + c] += ds0 * k[k0 + c]! + ds1 * k[k1 + c]! + (ds2 * k[k2 + c]! + ds3 * k[k3 + c]!);
      } else {
        for (let jj = j; jj < count; jj++) {
          const ds = Math.exp(s[si + jj]! - l) * (dot(dO, dOOff, v, vBase + jj * dv, dv) - D);
          const kOff = kBase + jj * d;
          for (let c = 0; c < d; c++) dq[qi + c] += ds * k[kOff + c]!;
        }
      }
    }
  }
  for (let i = 0; i < n * d; i++) dq[dqOff + i] *= p.scale;
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
  const rows = Int32Array.of(r);
  const counts = new Int32Array(1);
  scoreBlock(p, x, rows, s, counts);
  dqBlock(p, x, dO, rows, s, counts, Float64Array.of(lse), Float64Array.of(delta), dq, dqOff);
}

/**
 * dK, dV of a block of key rows of one bh: dk_c = scale · Σ_i dS_ic q_i and dv_c = Σ_i P_ic dO_i over the queries
 * that see key c; key row m of the block written to dk[dkOff + m·d …] and dv[dvOff + m·dv …]. Each query row (q, dO)
 * is read once per block. lse and delta are indexed by flat query row (only rows of this bh are read).
 */
export function dkdvBlock(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  keyRows: Int32Array,
  lse: Float64Array,
  delta: Float64Array,
  dk: Float64Array,
  dkOff: number,
  dv: Float64Array,
  dvOff: number,
): void {
  const n = keyRows.length;
  const { d, nq, nk, scale } = p;
  const dvw = p.dv;
  const b = Math.floor(keyRows[0]! / nk);
  // query i sees key j iff j ≤ i + (nk − nq), i.e. i ≥ j − (nk − nq)
  const first = new Int32Array(n);
  let minFirst = nq;
  for (let m = 0; m < n; m++) {
    const c = keyRows[m]!;
    if (Math.floor(c / nk) !== b) throw new RangeError(`dkdvBlock: key rows ${keyRows[0]} and ${c} are in different bh`);
    first[m] = p.causal ? Math.max(0, c - b * nk - (nk - nq)) : 0;
    if (first[m]! < minFirst) minFirst = first[m]!;
    dk.fill(0, dkOff + m * d, dkOff + (m + 1) * d);
    dv.fill(0, dvOff + m * dvw, dvOff + (m + 1) * dvw);
  }
  // four queries per pass over a dK/dV row, in groups aligned to multiples of 4 (so a key row's sums do not depend on
  // its block); the partial groups at its first visible query and at the end one query at a time
  const { q, k, v } = x;
  for (let g = minFirst - (minFirst % 4); g < nq; g += 4) {
    const full = g + 3 < nq;
    const r0 = b * nq + g;
    for (let m = 0; m < n; m++) {
      const c = keyRows[m]!;
      const kOff = c * d;
      const vOff = c * dvw;
      const ko = dkOff + m * d;
      const vo = dvOff + m * dvw;
      if (full && g >= first[m]!) {
        const p0 = Math.exp(scale * dot(q, r0 * d, k, kOff, d) - lse[r0]!);
        const p1 = Math.exp(scale * dot(q, (r0 + 1) * d, k, kOff, d) - lse[r0 + 1]!);
        const p2 = Math.exp(scale * dot(q, (r0 + 2) * d, k, kOff, d) - lse[r0 + 2]!);
        const p3 = Math.exp(scale * dot(q, (r0 + 3) * d, k, kOff, d) - lse[r0 + 3]!);
        const s0 = p0 * (dot(dO, r0 * dvw, v, vOff, dvw) - delta[r0]!);
        const s1 = p1 * (dot(dO, (r0 + 1) * dvw, v, vOff, dvw) - delta[r0 + 1]!);
        const s2 = p2 * (dot(dO, (r0 + 2) * dvw, v, vOff, dvw) - delta[r0 + 2]!);
        const s3 = p3 * (dot(dO, (r0 + 3) * dvw, v, vOff, dvw) - delta[r0 + 3]!);
        const o0 = r0 * dvw;
        for (let e = 0; e < dvw; e++) dv[vo + e] += p0 * dO[o0 + e]! + p1 * dO[o0 + dvw + e]! + (p2 * dO[o0 + 2 * dvw + e]! + p3 * dO[o0 + 3 * dvw + e]!);
        const q0 = r0 * d;
        for (let e = 0; e < d; e++) dk[ko + e] += s0 * q[q0 + e]! + s1 * q[q0 + d + e]! + (s2 * q[q0 + 2 * d + e]! + s3 * q[q0 + 3 * d + e]!);
      } else {
        const end = Math.min(g + 4, nq);
        for (let i = Math.max(g, first[m]!); i < end; i++) {
          const r = b * nq + i;
          const prob = Math.exp(scale * dot(q, r * d, k, kOff, d) - lse[r]!);
          const dOOff = r * dvw;
          const dsi = prob * (dot(dO, dOOff, v, vOff, dvw) - delta[r]!);
          for (let e = 0; e < dvw; e++) dv[vo + e] += prob * dO[dOOff + e]!;
          const qOff = r * d;
          for (let e = 0; e < d; e++) dk[ko + e] += dsi * q[qOff + e]!;
        }
      }
    }
  }
  for (let e = 0; e < n * d; e++) dk[dkOff + e] *= scale;
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
  const lse64 = lse instanceof Float64Array ? lse : Float64Array.from(lse);
  const delta64 = delta instanceof Float64Array ? delta : Float64Array.from(delta);
  dkdvBlock(p, x, dO, Int32Array.of(c), lse64, delta64, dk, dkOff, dv, dvOff);
}
