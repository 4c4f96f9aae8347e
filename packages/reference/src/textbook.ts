/**
 * The same-precision yardstick: attention computed the way a plain float32 implementation computes it, on the CPU.
 *
 *   S_ij = fl(scale · fl(q_i · k_j))                 dot products accumulated in float32 with fused multiply-adds
 *   m_i = max_j S_ij,  e_ij = fl(exp(fl(S_ij − m_i))),  l_i = Σ_j e_ij (float32),  P_ij = fl(e_ij / l_i)
 *   O_i = Σ_j P_ij v_j (float32),  lse_i = fl(m_i + fl(log l_i))
 *   D_i = dO_i · O_i,  dP_ij = dO_i · v_j,  dS_ij = fl(P_ij · fl(dP_ij − D_i))            (all float32)
 *   dQ_i = fl(scale · Σ_j dS_ij k_j),  dK_j = fl(scale · Σ_i dS_ij q_i),  dV_j = Σ_i P_ij dO_i
 *
 * fl() is Math.fround: float64 arithmetic on float32 values rounded once to float32 is float32 arithmetic (double
 * rounding is innocuous for +, −, ×, ÷ at these widths). Every sum of products (S, O, D, dP, dQ, dK, dV) accumulates
 * as a GPU thread does, s ← fma(a, b, s): the float32 product is exact in float64, so fl(s + a·b) rounds once. This is FlashAttention's test yardstick (its reorder_ops
 * reference in the storage dtype): a kernel passes when max|kernel − exact| ≤ 2 · max|textbook − exact| + a floor
 * (accuracy.ts). It shares nothing with our kernels' algorithm (P = exp(S − lse) from a stored lse) — judging tiled
 * kernels against our own naive kernel missed an error that grows with the score magnitude. docs/algorithm.md.
 *
 * Row-sampled dK, dV (a key row sums over every query row) use the kernel's own lse and O like the float64
 * reference does (reference-outputs.ts): P_ij = fl(exp(fl(S_ij − lse_i))) and D_i from the given O, in float32.
 *
 * Rows are flat: query row r = b·nq + i, key row c = b·nk + j.
 */
import type { Problem } from './problem.js';
import { visibleKeys } from './problem.js';
import type { RowInputs } from './rows.js';

const f = Math.fround;

/** a·b over n elements in float32, s ← fma(a_c, b_c, s) in order. */
function dot32(a: Float64Array, aOff: number, b: Float64Array, bOff: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s = f(s + a[aOff + c]! * b[bOff + c]!);
  return s;
}

function score32(p: Problem, x: RowInputs, r: number, kRow: number, scale32: number): number {
  return f(scale32 * dot32(x.q, r * p.d, x.k, kRow * p.d, p.d));
}

/** The softmax statistics of a query row: P_ij = fl(fl(exp(fl(S_ij − m))) / l). m = −inf when no key is visible. */
export interface SoftmaxRow {
  m: number;
  l: number;
}

/**
 * lse, softmax statistics and O of query row r: lse to lse[pos], m to m[pos], l to l[pos], O to o[pos·dv …).
 * A row that sees no key: lse = m = −inf, l = 0, O = 0.
 */
export function textbookForwardRow(
  p: Problem,
  x: RowInputs,
  r: number,
  s: Float64Array,
  pos: number,
  out: { lse: Float64Array; m: Float64Array; l: Float64Array; o: Float64Array },
): void {
  const { dv, nk } = p;
  const b = Math.floor(r / p.nq);
  const count = visibleKeys(p, r - b * p.nq);
  const scale32 = f(p.scale);
  const o = out.o;
  o.fill(0, pos * dv, (pos + 1) * dv);
  if (count === 0) {
    out.lse[pos] = -Infinity;
    out.m[pos] = -Infinity;
    out.l[pos] = 0;
    return;
  }
  let m = -Infinity;
  for (let j = 0; j < count; j++) {
    s[j] = score32(p, x, r, b * nk + j, scale32);
    if (s[j]! > m) m = s[j]!;
  }
  let l = 0;
  for (let j = 0; j < count; j++) {
    s[j] = f(Math.exp(f(s[j]! - m)));
    l = f(l + s[j]!);
  }
  const oOff = pos * dv;
  for (let j = 0; j < count; j++) {
    const prob = f(s[j]! / l);
    const vOff = (b * nk + j) * dv;
    for (let c = 0; c < dv; c++) o[oOff + c] = f(o[oOff + c]! + prob * x.v[vOff + c]!);
  }
  out.lse[pos] = f(m + f(Math.log(l)));
  out.m[pos] = m;
  out.l[pos] = l;
}

/** D_r = dO_r · O_r in float32, with row r of O at o[oOff …). */
export function textbookDelta(p: Problem, dO: Float64Array, r: number, o: Float64Array, oOff: number): number {
  return dot32(dO, r * p.dv, o, oOff, p.dv);
}

function prob32(sc: number, m: number, l: number): number {
  return f(f(Math.exp(f(sc - m))) / l);
}

/** dQ of query row r given its softmax statistics and D, to dq[pos·d …). */
export function textbookDqRow(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  r: number,
  stats: SoftmaxRow,
  delta: number,
  dq: Float64Array,
  pos: number,
): void {
  const { d, dv, nk } = p;
  const b = Math.floor(r / p.nq);
  const count = visibleKeys(p, r - b * p.nq);
  const scale32 = f(p.scale);
  const qOff = pos * d;
  dq.fill(0, qOff, qOff + d);
  for (let j = 0; j < count; j++) {
    const kRow = b * nk + j;
    const prob = prob32(score32(p, x, r, kRow, scale32), stats.m, stats.l);
    const ds = f(prob * f(dot32(dO, r * dv, x.v, kRow * dv, dv) - delta));
    const kOff = kRow * d;
    for (let c = 0; c < d; c++) dq[qOff + c] = f(dq[qOff + c]! + ds * x.k[kOff + c]!);
  }
  for (let c = 0; c < d; c++) dq[qOff + c] = f(scale32 * dq[qOff + c]!);
}

/**
 * dK, dV of key row c to dk[pos·d …), dv[pos·dv …), given every query row's softmax statistics (m, l) and D,
 * indexed by flat query row.
 */
export function textbookDkdvRow(
  p: Problem,
  x: RowInputs,
  dO: Float64Array,
  c: number,
  m: Float64Array,
  l: Float64Array,
  delta: Float64Array,
  dk: Float64Array,
  dvOut: Float64Array,
  pos: number,
): void {
  const { d, nq, nk } = p;
  const dv = p.dv;
  const b = Math.floor(c / nk);
  const j = c - b * nk;
  const first = p.causal ? Math.max(0, j - (nk - nq)) : 0;
  const scale32 = f(p.scale);
  const kOff = pos * d;
  const vOff = pos * dv;
  dk.fill(0, kOff, kOff + d);
  dvOut.fill(0, vOff, vOff + dv);
  for (let i = first; i < nq; i++) {
    const r = b * nq + i;
    const prob = prob32(score32(p, x, r, c, scale32), m[r]!, l[r]!);
    const ds = f(prob * f(dot32(dO, r * dv, x.v, c * dv, dv) - delta[r]!));
    for (let e = 0; e < dv; e++) dvOut[vOff + e] = f(dvOut[vOff + e]! + prob * dO[r * dv + e]!);
    for (let e = 0; e < d; e++) dk[kOff + e] = f(dk[kOff + e]! + ds * x.q[r * d + e]!);
  }
  for (let e = 0; e < d; e++) dk[kOff + e] = f(scale32 * dk[kOff + e]!);
}
