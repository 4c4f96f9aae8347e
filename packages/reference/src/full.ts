/** The whole problem in this thread: the simplest statement of each stage over every row. */
import type { Problem } from './problem.js';
import { tensorSize } from './problem.js';
import type { RowInputs } from './rows.js';
import { deltaRow, dkdvRow, dqRow, forwardRow, logSumExp, scoreRow } from './rows.js';
import type { FloatArray } from './backend.js';

export function toFloat64(a: FloatArray): Float64Array {
  return a instanceof Float64Array ? a : Float64Array.from(a);
}

export function rowInputs(q: FloatArray, k: FloatArray, v: FloatArray): RowInputs {
  return { q: toFloat64(q), k: toFloat64(k), v: toFloat64(v) };
}

export interface ForwardResult {
  lse: Float64Array;
  o: Float64Array;
}

/** Stage 1 and 2: lse [bh, nq] and O [bh, nq, dv]. */
export function forwardFull(p: Problem, x: RowInputs): ForwardResult {
  const rows = p.bh * p.nq;
  const lse = new Float64Array(rows);
  const o = new Float64Array(tensorSize(p, 'o'));
  const s = new Float64Array(p.nk);
  for (let r = 0; r < rows; r++) {
    const count = scoreRow(p, x, r, s);
    lse[r] = logSumExp(s, count);
    forwardRow(p, x, r, s, count, lse[r]!, o, r * p.dv);
  }
  return { lse, o };
}

export interface BackwardResult {
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/** Stage 3 given lse and O: dQ, dK, dV. */
export function backwardFull(p: Problem, x: RowInputs, lse: Float64Array, o: Float64Array, dO: Float64Array): BackwardResult {
  const rows = p.bh * p.nq;
  const delta = new Float64Array(rows);
  for (let r = 0; r < rows; r++) delta[r] = deltaRow(p, dO, o, r);
  const dq = new Float64Array(tensorSize(p, 'dq'));
  const s = new Float64Array(p.nk);
  for (let r = 0; r < rows; r++) dqRow(p, x, dO, r, lse[r]!, delta[r]!, s, dq, r * p.d);
  const dk = new Float64Array(tensorSize(p, 'dk'));
  const dv = new Float64Array(tensorSize(p, 'dv'));
  for (let c = 0; c < p.bh * p.nk; c++) dkdvRow(p, x, dO, c, lse, delta, dk, c * p.d, dv, c * p.dv);
  return { dq, dk, dv };
}
