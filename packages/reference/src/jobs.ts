/**
 * A job: one stage of the reference over a list of rows, as plain data, so the same job runs in this thread or is
 * posted to worker threads (typed arrays on SharedArrayBuffers are shared, not copied). Every row is computed by the
 * functions of rows.ts alone, so the result of a row does not depend on which thread computed it.
 *
 * Per-row inputs and outputs are packed by position in `rows` (position p holds row rows[p]); with rows = null the
 * job covers every row and position = flat row.
 */
import type { Problem } from './problem.js';
import type { RowInputs } from './rows.js';
import { dkdvBlock, dqBlock, forwardBlock, logSumExp, scoreBlock } from './rows.js';
import type { SumOrder, TextbookForwardOut } from './textbook.js';
import { textbookDkdvRow, textbookDqRow, textbookForwardRow } from './textbook.js';

interface JobBase {
  problem: Problem;
  q: Float64Array;
  k: Float64Array;
  v: Float64Array;
  /** flat query rows (key rows for 'dkdv'); null: all of them */
  rows: Int32Array | null;
}

/** stage 1: lse of each row */
export interface LseJob extends JobBase {
  kind: 'lse';
  lse: Float64Array;
}
/** stage 2 given lse (packed): O of each row */
export interface ForwardJob extends JobBase {
  kind: 'forward';
  lse: Float64Array;
  o: Float64Array;
}
/** stages 1 and 2 from one pass over each row's scores */
export interface LseForwardJob extends JobBase {
  kind: 'lseForward';
  lse: Float64Array;
  o: Float64Array;
}
/** stage 3, query side: dQ given lse and D of each row (packed) */
export interface DqJob extends JobBase {
  kind: 'dq';
  dO: Float64Array;
  lse: Float64Array;
  delta: Float64Array;
  dq: Float64Array;
}
/** stage 3, key side: dK, dV of each key row given lse and D of every query row (full, by flat query row) */
export interface DkDvJob extends JobBase {
  kind: 'dkdv';
  dO: Float64Array;
  queryLse: Float64Array;
  queryDelta: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

/** the float32 textbook (textbook.ts), query side: lse, softmax statistics (m, l), O and term scales of each row */
export interface TextbookForwardJob extends JobBase, TextbookForwardOut {
  kind: 'textbookForward';
  order: SumOrder;
}
/** the float32 textbook: dQ (and its term scale) of each row given its m, l, D and D's terms (packed) */
export interface TextbookDqJob extends JobBase {
  kind: 'textbookDq';
  order: SumOrder;
  dO: Float64Array;
  m: Float64Array;
  l: Float64Array;
  delta: Float64Array;
  deltaB: Float64Array;
  dq: Float64Array;
  dqTerms: Float64Array;
}
/** the float32 textbook: dK, dV (and term scales) of each key row given m, l, D, D's terms of every query row */
export interface TextbookDkDvJob extends JobBase {
  kind: 'textbookDkdv';
  order: SumOrder;
  dO: Float64Array;
  queryM: Float64Array;
  queryL: Float64Array;
  queryDelta: Float64Array;
  queryDeltaB: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
  dkTerms: Float64Array;
  dvTerms: Float64Array;
}

export type Job = LseJob | ForwardJob | LseForwardJob | DqJob | DkDvJob | TextbookForwardJob | TextbookDqJob | TextbookDkDvJob;

/** Number of row positions a job covers. */
export function jobPositions(job: Job): number {
  if (job.rows) return job.rows.length;
  const p = job.problem;
  return p.bh * (isKeySide(job) ? p.nk : p.nq);
}

function isKeySide(job: Job): boolean {
  return job.kind === 'dkdv' || job.kind === 'textbookDkdv';
}

/** Multiply-adds a job costs, roughly: what decides whether threads pay off. */
export function jobWork(job: Job): number {
  const p = job.problem;
  const backward = job.kind === 'dq' || job.kind === 'dkdv' || job.kind === 'textbookDq' || job.kind === 'textbookDkdv';
  const perPair = job.kind === 'lse' ? p.d : backward ? 2 * (p.d + p.dv) : p.d + p.dv;
  const partners = isKeySide(job) ? p.nq : p.nk;
  return jobPositions(job) * partners * perPair;
}

/** Query rows scored together (rows.ts scoreBlock): each key row is read once per block. */
export const ROW_BLOCK = 8;

/** Positions [start, end) cut into blocks of at most ROW_BLOCK consecutive positions whose rows share one bh. */
function forEachBlock(job: Job, start: number, end: number, body: (rows: Int32Array, pos0: number) => void): void {
  const rowsPerBh = isKeySide(job) ? job.problem.nk : job.problem.nq;
  const buffer = new Int32Array(ROW_BLOCK);
  const row = (pos: number): number => (job.rows ? job.rows[pos]! : pos);
  for (let pos = start; pos < end; ) {
    const b = Math.floor(row(pos) / rowsPerBh);
    let n = 0;
    while (n < ROW_BLOCK && pos + n < end && Math.floor(row(pos + n) / rowsPerBh) === b) {
      buffer[n] = row(pos + n);
      n++;
    }
    body(buffer.subarray(0, n), pos);
    pos += n;
  }
}

/** Compute positions [start, end) of a job. */
export function runJobRange(job: Job, start: number, end: number): void {
  const p = job.problem;
  const x: RowInputs = { q: job.q, k: job.k, v: job.v };
  switch (job.kind) {
    case 'lse':
    case 'forward':
    case 'lseForward': {
      const s = new Float64Array(ROW_BLOCK * p.nk);
      const counts = new Int32Array(ROW_BLOCK);
      forEachBlock(job, start, end, (rows, pos0) => {
        scoreBlock(p, x, rows, s, counts);
        if (job.kind !== 'forward') {
          for (let i = 0; i < rows.length; i++) job.lse[pos0 + i] = logSumExp(s.subarray(i * p.nk), counts[i]!);
        }
        if (job.kind !== 'lse') forwardBlock(p, x, rows, s, counts, job.lse.subarray(pos0, pos0 + rows.length), job.o, pos0 * p.dv);
      });
      return;
    }
    case 'dq': {
      const s = new Float64Array(ROW_BLOCK * p.nk);
      const counts = new Int32Array(ROW_BLOCK);
      forEachBlock(job, start, end, (rows, pos0) => {
        scoreBlock(p, x, rows, s, counts);
        const n = rows.length;
        dqBlock(p, x, job.dO, rows, s, counts, job.lse.subarray(pos0, pos0 + n), job.delta.subarray(pos0, pos0 + n), job.dq, pos0 * p.d);
      });
      return;
    }
    case 'dkdv':
      forEachBlock(job, start, end, (rows, pos0) => {
        dkdvBlock(p, x, job.dO, rows, job.queryLse, job.queryDelta, job.dk, pos0 * p.d, job.dv, pos0 * p.dv);
      });
      return;
    case 'textbookForward': {
      const probs = new Float64Array(p.nk);
      for (let pos = start; pos < end; pos++) textbookForwardRow(p, x, job.rows ? job.rows[pos]! : pos, job.order, probs, pos, job);
      return;
    }
    case 'textbookDq': {
      const ds = new Float64Array(p.nk);
      const w = new Float64Array(p.nk);
      for (let pos = start; pos < end; pos++) {
        const stats = { m: job.m[pos]!, l: job.l[pos]! };
        const r = job.rows ? job.rows[pos]! : pos;
        job.dqTerms[pos] = textbookDqRow(p, x, job.dO, r, stats, job.delta[pos]!, job.deltaB[pos]!, job.order, ds, w, job.dq, pos);
      }
      return;
    }
    case 'textbookDkdv': {
      const scratch = { prob: new Float64Array(p.nq), ds: new Float64Array(p.nq), w: new Float64Array(p.nq) };
      const stats = { m: job.queryM, l: job.queryL, delta: job.queryDelta, deltaB: job.queryDeltaB };
      for (let pos = start; pos < end; pos++) {
        const t = textbookDkdvRow(p, x, job.dO, job.rows ? job.rows[pos]! : pos, stats, job.order, scratch, job.dk, job.dv, pos);
        job.dkTerms[pos] = t.dk;
        job.dvTerms[pos] = t.dv;
      }
      return;
    }
  }
}
