/**
 * The same-precision yardstick: attention computed the way a plain float32 implementation computes it, on the CPU.
 *
 *   S_ij = fl(fl(q_i · k_j) · scale)                  every sum a float32 sum of fused multiply-adds, in `order`
 *   m_i = max_j S_ij,  e_ij = fl(exp(fl(S_ij − m_i))),  l_i = Σ_j e_ij,  P_ij = fl(e_ij / l_i)
 *   O_i = Σ_j P_ij v_j,  lse_i = fl(m_i + fl(log l_i))
 *   D_i = dO_i · O_i,  dP_ij = dO_i · v_j,  dS_ij = fl(P_ij · fl(dP_ij − D_i))
 *   dQ_i = fl(scale · Σ_j dS_ij k_j),  dK_j = fl(scale · Σ_i dS_ij q_i),  dV_j = Σ_i P_ij dO_i
 *
 * In a half-precision problem (dtype.ts) the inputs are already rounded to the dtype, and st() rounds to it what a
 * half kernel stores or feeds to a half product: P before P·V and dV, dS before dQ and dK, and every output but the
 * lse (FlashAttention's reorder_ops reference computes in the dtype the same way); sums stay float32. In float32, st()
 * changes nothing.
 *
 * fl() is Math.fround: float64 arithmetic on float32 values rounded once to float32 is float32 arithmetic (the
 * product of two float32 numbers is exact in float64, so fl(acc + a·b) is a fused multiply-add). A plain
 * implementation may add its terms in any order, and at large scores one or two near-tied rows set an output's
 * largest error, so one order's error is luck: the yardstick's error is the largest over four orders (SUM_ORDERS:
 * forward and reverse chains, pairwise down to 8 terms, blocks of 8 added in turn — the CUDA emulator's check.h uses
 * the same four). This is FlashAttention's test yardstick (its reorder_ops reference in the storage dtype), judged by
 * the rule of accuracy.ts. It shares nothing with our kernels' algorithm (P = exp(S − lse) from a stored lse).
 *
 * Each output also gets its term scale: the largest sum of |terms| behind one element, in float64 — lse: the larger
 * of |lse| and a visible score's scale Σ_c |q_ic k_jc| (one key: lse = S, as exact as its dot product);
 * O_ic: Σ_j P_ij |v_jc|; dV_jc: Σ_i P_ij |dO_ic|; dQ_ie: scale Σ_j P_ij (A_ij + B_i) |k_je| and dK_je: scale Σ_i
 * P_ij (A_ij + B_i) |q_ie|, with A_ij = Σ_c |dO_ic v_jc| (behind dP) and B_i = Σ_c |dO_ic O_ic| (behind D). No
 * float32 evaluation avoids errors of a few ulps of it, however the terms cancel (one key: dS = P (dP − D) is exactly
 * 0, yet dP and D are rounded sums of dv terms); the rule's floor is taken of it.
 *
 * Row-sampled dK, dV (a key row sums over every query row) use the kernel's own lse and O like the float64 reference
 * (reference-outputs.ts): P_ij = fl(exp(fl(S_ij − lse_i))) and D_i from the given O.
 *
 * Rows are flat: query row r = b·nq + i, key row c = b·nk + j.
 */
import { roundTo } from './dtype.js';
import type { Problem } from './problem.js';
import { visibleKeys } from './problem.js';
import type { RowInputs } from './rows.js';

const f = Math.fround;

export type SumOrder = 'forward' | 'reverse' | 'pairwise' | 'blocked8';
export const SUM_ORDERS: readonly SumOrder[] = ['forward', 'reverse', 'pairwise', 'blocked8'];

/** Σ_i a[aOff + i·sa] · b[bOff + i·sb] over i < n in float32 with fused multiply-adds, in `order`. */
export function dot32(a: ArrayLike<number>, aOff: number, sa: number, b: ArrayLike<number>, bOff: number, sb: number, n: number, order: SumOrder): number {
  let acc = 0;
  switch (order) {
    case 'forward':
      for (let i = 0; i < n; i++) acc = f(acc + a[aOff + i * sa]! * b[bOff + i * sb]!);
      return acc;
    case 'reverse':
      for (let i = n - 1; i >= 0; i--) acc = f(acc + a[aOff + i * sa]! * b[bOff + i * sb]!);
      return acc;
    case 'pairwise': {
      if (n <= 8) return dot32(a, aOff, sa, b, bOff, sb, n, 'forward');
      const h = n >> 1;
      return f(dot32(a, aOff, sa, b, bOff, sb, h, order) + dot32(a, aOff + h * sa, sa, b, bOff + h * sb, sb, n - h, order));
    }
    case 'blocked8':
      for (let i0 = 0; i0 < n; i0 += 8) acc = f(acc + dot32(a, aOff + i0 * sa, sa, b, bOff + i0 * sb, sb, Math.min(8, n - i0), 'forward'));
      return acc;
  }
}

const ONE = Float64Array.of(1);

/** The softmax statistics of a query row: P_ij = fl(fl(exp(fl(S_ij − m))) / l). m = −inf when no key is visible. */
export interface SoftmaxRow {
  m: number;
  l: number;
}

function prob32(p: Problem, sc: number, m: number, l: number): number {
  return roundTo(p.dtype, f(f(Math.exp(f(sc - m))) / l));
}

function score32(p: Problem, x: RowInputs, r: number, kRow: number, scale32: number, order: SumOrder): number {
  return f(dot32(x.q, r * p.d, 1, x.k, kRow * p.d, 1, p.d, order) * scale32);
}

export interface TextbookForwardOut {
  lse: Float64Array;
  m: Float64Array;
  l: Float64Array;
  o: Float64Array;
  /** per position: the row's lse term scale (max of |lse| and a visible score's scale Σ_c |q_c k_c|) */
  lseTerms: Float64Array;
  /** per position: the O term scale of the row (max over columns of Σ_j P_ij |v_jc|) */
  oTerms: Float64Array;
}

/**
 * lse, softmax statistics and O of query row r, to position `pos` of `out`. `probs` is scratch of ≥ nk entries.
 * A row that sees no key: lse = m = −inf, l = 0, O = 0.
 */
export function textbookForwardRow(p: Problem, x: RowInputs, r: number, order: SumOrder, probs: Float64Array, pos: number, out: TextbookForwardOut): void {
  const { dv, nk } = p;
  const b = Math.floor(r / p.nq);
  const count = visibleKeys(p, r - b * p.nq);
  const scale32 = f(p.scale);
  const oOff = pos * dv;
  out.o.fill(0, oOff, oOff + dv);
  out.oTerms[pos] = 0;
  out.lseTerms[pos] = 0;
  if (count === 0) {
    out.lse[pos] = -Infinity;
    out.m[pos] = -Infinity;
    out.l[pos] = 0;
    return;
  }
  let m = -Infinity;
  let scoreTerms = 0;
  for (let j = 0; j < count; j++) {
    probs[j] = score32(p, x, r, b * nk + j, scale32, order);
    if (probs[j]! > m) m = probs[j]!;
    let t = 0;
    for (let c = 0; c < p.d; c++) t += Math.abs(x.q[r * p.d + c]! * x.k[(b * nk + j) * p.d + c]!);
    if (t > scoreTerms) scoreTerms = t;
  }
  for (let j = 0; j < count; j++) probs[j] = f(Math.exp(f(probs[j]! - m)));
  const l = dot32(probs, 0, 1, ONE, 0, 0, count, order);
  for (let j = 0; j < count; j++) probs[j] = roundTo(p.dtype, f(probs[j]! / l));
  const vBase = b * nk * dv;
  let terms = 0;
  for (let c = 0; c < dv; c++) {
    out.o[oOff + c] = roundTo(p.dtype, dot32(probs, 0, 1, x.v, vBase + c, dv, count, order));
    let t = 0;
    for (let j = 0; j < count; j++) t += probs[j]! * Math.abs(x.v[vBase + j * dv + c]!);
    if (t > terms) terms = t;
  }
  out.oTerms[pos] = terms;
  out.lse[pos] = f(m + f(Math.log(l)));
  out.lseTerms[pos] = Math.max(Math.abs(out.lse[pos]!), p.scale * scoreTerms);
  out.m[pos] = m;
  out.l[pos] = l;
}

/** D_r = dO_r · O_r in float32, with row r of O at o[oOff …). */
export function textbookDelta(p: Problem, dO: Float64Array, r: number, o: Float64Array, oOff: number, order: SumOrder): number {
  return dot32(dO, r * p.dv, 1, o, oOff, 1, p.dv, order);
}

/** B_r = Σ_c |dO_rc O_rc|: the terms behind D_r. */
export function deltaTerms(p: Problem, dO: Float64Array, r: number, o: Float64Array, oOff: number): number {
  let t = 0;
  for (let c = 0; c < p.dv; c++) t += Math.abs(dO[r * p.dv + c]! * o[oOff + c]!);
  return t;
}

/** A = Σ_c |dO_rc v_jc|: the terms behind dP_rj. */
function dpTerms(p: Problem, dO: Float64Array, r: number, v: Float64Array, kRow: number): number {
  let t = 0;
  for (let c = 0; c < p.dv; c++) t += Math.abs(dO[r * p.dv + c]! * v[kRow * p.dv + c]!);
  return t;
}

/**
 * dQ of query row r given its softmax statistics, D and B (deltaTerms), to dq[pos·d …); returns the row's dQ term
 * scale. `ds` and `w` are scratch of ≥ nk entries.
 */
export function textbookDqRow(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  r: number,
  stats: SoftmaxRow,
  delta: number,
  deltaB: number,
  order: SumOrder,
  ds: Float64Array,
  w: Float64Array,
  dq: Float64Array,
  pos: number,
): number {
  const { d, nk } = p;
  const b = Math.floor(r / p.nq);
  const count = visibleKeys(p, r - b * p.nq);
  const scale32 = f(p.scale);
  for (let j = 0; j < count; j++) {
    const kRow = b * nk + j;
    const prob = prob32(p, score32(p, x, r, kRow, scale32, order), stats.m, stats.l);
    ds[j] = roundTo(p.dtype, f(prob * f(dot32(dO, r * p.dv, 1, x.v, kRow * p.dv, 1, p.dv, order) - delta)));
    w[j] = prob * (dpTerms(p, dO, r, x.v, kRow) + deltaB);
  }
  let terms = 0;
  for (let e = 0; e < d; e++) {
    dq[pos * d + e] = roundTo(p.dtype, f(dot32(ds, 0, 1, x.k, b * nk * d + e, d, count, order) * scale32));
    let t = 0;
    for (let j = 0; j < count; j++) t += w[j]! * Math.abs(x.k[(b * nk + j) * d + e]!);
    if (t > terms) terms = t;
  }
  return p.scale * terms;
}

/**
 * dK, dV of key row c to dk[pos·d …), dv[pos·dv …), given every query row's softmax statistics (m, l), D and B,
 * indexed by flat query row; returns the key row's term scales of dK and dV. `prob`, `ds`, `w` are scratch of ≥ nq.
 */
export function textbookDkdvRow(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  c: number,
  stats: { m: Float64Array; l: Float64Array; delta: Float64Array; deltaB: Float64Array },
  order: SumOrder,
  scratch: { prob: Float64Array; ds: Float64Array; w: Float64Array },
  dk: Float64Array,
  dvOut: Float64Array,
  pos: number,
): { dk: number; dv: number } {
  const { d, nq, nk } = p;
  const dv = p.dv;
  const b = Math.floor(c / nk);
  const first = p.causal ? Math.max(0, c - b * nk - (nk - nq)) : 0;
  const n = nq - first;
  const scale32 = f(p.scale);
  const { prob, ds, w } = scratch;
  for (let t = 0; t < n; t++) {
    const r = b * nq + first + t;
    prob[t] = prob32(p, score32(p, x, r, c, scale32, order), stats.m[r]!, stats.l[r]!);
    ds[t] = roundTo(p.dtype, f(prob[t]! * f(dot32(dO, r * dv, 1, x.v, c * dv, 1, dv, order) - stats.delta[r]!)));
    w[t] = prob[t]! * (dpTerms(p, dO, r, x.v, c) + stats.deltaB[r]!);
  }
  const r0 = b * nq + first;
  let dkTerms = 0;
  for (let e = 0; e < d; e++) {
    dk[pos * d + e] = roundTo(p.dtype, f(dot32(ds, 0, 1, x.q, r0 * d + e, d, n, order) * scale32));
    let t = 0;
    for (let i = 0; i < n; i++) t += w[i]! * Math.abs(x.q[(r0 + i) * d + e]!);
    if (t > dkTerms) dkTerms = t;
  }
  let dvTerms = 0;
  for (let e = 0; e < dv; e++) {
    dvOut[pos * dv + e] = roundTo(p.dtype, dot32(prob, 0, 1, dO, r0 * dv + e, dv, n, order));
    let t = 0;
    for (let i = 0; i < n; i++) t += prob[i]! * Math.abs(dO[(r0 + i) * dv + e]!);
    if (t > dvTerms) dvTerms = t;
  }
  return { dk: p.scale * dkTerms, dv: dvTerms };
}
