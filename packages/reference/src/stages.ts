/**
 * The three stages of the reference over every row (rows = undefined) or over chosen rows (row-sampled mode),
 * run through the pool (parallel.ts). Outputs are packed by position in the row list; with all rows that is the
 * ordinary [bh, n, ·] layout.
 */
import type { ParallelOptions } from './parallel.js';
import { runJob, sharedFloat64 } from './parallel.js';
import type { Problem } from './problem.js';
import { deltaAt } from './rows.js';

export interface StageInputs {
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
}

function rowCount(p: Problem, rows: Int32Array | null, side: 'query' | 'key'): number {
  return rows ? rows.length : p.bh * (side === 'query' ? p.nq : p.nk);
}

/** Stage 1: lse of the query rows. */
export async function lseStage(p: Problem, x: StageInputs, rows: Int32Array | null, options?: ParallelOptions): Promise<Float64Array> {
  const lse = sharedFloat64(rowCount(p, rows, 'query'));
  await runJob({ kind: 'lse', problem: p, ...x, rows, lse }, options);
  return lse;
}

/** Stage 2 given lse (packed like rows): O of the query rows. */
export async function forwardStage(
  p: Problem,
  x: StageInputs,
  rows: Int32Array | null,
  lse: Float64Array,
  options?: ParallelOptions,
): Promise<Float64Array> {
  const o = sharedFloat64(rowCount(p, rows, 'query') * p.dv);
  await runJob({ kind: 'forward', problem: p, ...x, rows, lse, o }, options);
  return o;
}

/** Stages 1 and 2 together, each row's scores computed once. */
export async function lseForwardStage(
  p: Problem,
  x: StageInputs,
  rows: Int32Array | null,
  options?: ParallelOptions,
): Promise<{ lse: Float64Array; o: Float64Array }> {
  const n = rowCount(p, rows, 'query');
  const lse = sharedFloat64(n);
  const o = sharedFloat64(n * p.dv);
  await runJob({ kind: 'lseForward', problem: p, ...x, rows, lse, o }, options);
  return { lse, o };
}

/** D = rowsum(dO ∘ O) of the query rows; o is packed like rows, dO is the full tensor. */
export function deltaStage(p: Problem, dO: Float64Array, rows: Int32Array | null, o: Float64Array): Float64Array {
  const n = rowCount(p, rows, 'query');
  const delta = sharedFloat64(n);
  for (let pos = 0; pos < n; pos++) {
    delta[pos] = deltaAt(p, dO, rows ? rows[pos]! : pos, o, pos * p.dv);
  }
  return delta;
}

/** Stage 3, query side: dQ of the query rows given their lse and D (packed like rows). */
export async function dqStage(
  p: Problem,
  x: StageInputs,
  dO: Float64Array,
  rows: Int32Array | null,
  lse: Float64Array,
  delta: Float64Array,
  options?: ParallelOptions,
): Promise<Float64Array> {
  const dq = sharedFloat64(rowCount(p, rows, 'query') * p.d);
  await runJob({ kind: 'dq', problem: p, ...x, dO, rows, lse, delta, dq }, options);
  return dq;
}

/** Stage 3, key side: dK, dV of the key rows given lse and D of every query row. */
export async function dkdvStage(
  p: Problem,
  x: StageInputs,
  dO: Float64Array,
  keyRows: Int32Array | null,
  queryLse: Float64Array,
  queryDelta: Float64Array,
  options?: ParallelOptions,
): Promise<{ dk: Float64Array; dv: Float64Array }> {
  const n = rowCount(p, keyRows, 'key');
  const dk = sharedFloat64(n * p.d);
  const dv = sharedFloat64(n * p.dv);
  await runJob({ kind: 'dkdv', problem: p, ...x, dO, rows: keyRows, queryLse, queryDelta, dk, dv }, options);
  return { dk, dv };
}

/** Stage 3 over every row given full lse and O. */
export async function backwardStage(
  p: Problem,
  x: StageInputs,
  dO: Float64Array,
  lse: Float64Array,
  o: Float64Array,
  options?: ParallelOptions,
): Promise<{ dq: Float64Array; dk: Float64Array; dv: Float64Array }> {
  const delta = deltaStage(p, dO, null, o);
  const dq = await dqStage(p, x, dO, null, lse, delta, options);
  const { dk, dv } = await dkdvStage(p, x, dO, null, lse, delta, options);
  return { dq, dk, dv };
}
