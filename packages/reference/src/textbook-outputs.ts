/**
 * The float32 textbook's outputs of a pipeline (textbook.ts), over every row or over the rows of a RowSample, packed
 * like referenceOutputs' so the two compare position by position. Run on the reference's worker pool.
 */
import type { OutputName, Pipeline } from './backend.js';
import type { Job } from './jobs.js';
import type { ParallelOptions } from './parallel.js';
import { runJob, sharedFloat64 } from './parallel.js';
import type { Problem } from './problem.js';
import type { ReferenceInputs, ReferenceOptions } from './reference-outputs.js';
import type { RowSample } from './sample-rows.js';
import { textbookDelta } from './textbook.js';

export interface TextbookOutputs {
  problem: Problem;
  pipeline: Pipeline;
  rows?: RowSample;
  /** float32 values (held in float64) of the pipeline's outputs; with rows, only those rows, packed in list order */
  tensors: Partial<Record<OutputName, Float64Array>>;
}

/** The values of `a` rounded to float32, on a SharedArrayBuffer (the textbook starts from float32 inputs). */
function shared32(a: ArrayLike<number>): Float64Array {
  const out = sharedFloat64(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.fround(a[i]!);
  return out;
}

async function run<J extends Job>(job: J, options: ParallelOptions): Promise<J> {
  await runJob(job, options);
  return job;
}

/**
 * `sample` and `options.given` as in referenceOutputs: row-sampled dK, dV use the kernel's own lse and O (the
 * textbook then builds P = fl(exp(fl(S − lse))) and D from that O, in float32).
 */
export async function textbookOutputs(
  problem: Problem,
  inputs: ReferenceInputs,
  pipeline: Pipeline,
  sample?: RowSample,
  options: ReferenceOptions = {},
): Promise<TextbookOutputs> {
  const p = problem;
  const x = { q: shared32(inputs.q), k: shared32(inputs.k), v: shared32(inputs.v) };
  const queryRows = sample ? Int32Array.from(sample.queryRows) : null;
  const keyRows = sample ? Int32Array.from(sample.keyRows) : null;
  const nRows = queryRows ? queryRows.length : p.bh * p.nq;
  const result: TextbookOutputs = { problem, pipeline, tensors: {} };
  if (sample) result.rows = { queryRows: [...sample.queryRows], keyRows: [...sample.keyRows] };

  const fwd = await run(
    { kind: 'textbookForward', problem: p, ...x, rows: queryRows, lse: sharedFloat64(nRows), m: sharedFloat64(nRows), l: sharedFloat64(nRows), o: sharedFloat64(nRows * p.dv) },
    options,
  );
  result.tensors.lse = fwd.lse;
  if (pipeline === 'lse') return result;
  result.tensors.o = fwd.o;
  if (pipeline === 'fwd') return result;

  if (!inputs.dO) throw new TypeError("textbookOutputs: the 'bwd' pipeline needs dO");
  const dO = shared32(inputs.dO);
  const delta = sharedFloat64(nRows);
  for (let pos = 0; pos < nRows; pos++) delta[pos] = textbookDelta(p, dO, queryRows ? queryRows[pos]! : pos, fwd.o, pos * p.dv);
  const dq = await run({ kind: 'textbookDq', problem: p, ...x, rows: queryRows, dO, m: fwd.m, l: fwd.l, delta, dq: sharedFloat64(nRows * p.d) }, options);
  result.tensors.dq = dq.dq;

  let queryM = fwd.m;
  let queryL = fwd.l;
  let queryDelta = delta;
  if (sample) {
    if (!options.given) throw new TypeError("textbookOutputs: sampled 'bwd' needs the kernel's own lse and O (options.given)");
    const all = p.bh * p.nq;
    queryM = shared32(options.given.lse);
    queryL = sharedFloat64(all).fill(1);
    const o = shared32(options.given.o);
    queryDelta = sharedFloat64(all);
    for (let r = 0; r < all; r++) queryDelta[r] = textbookDelta(p, dO, r, o, r * p.dv);
  }
  const nKeys = keyRows ? keyRows.length : p.bh * p.nk;
  const kv = await run(
    { kind: 'textbookDkdv', problem: p, ...x, rows: keyRows, dO, queryM, queryL, queryDelta, dk: sharedFloat64(nKeys * p.d), dv: sharedFloat64(nKeys * p.dv) },
    options,
  );
  result.tensors.dk = kv.dk;
  result.tensors.dv = kv.dv;
  return result;
}
