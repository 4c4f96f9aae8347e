/**
 * The float32 textbook's outputs of a pipeline (textbook.ts), over every row or over the rows of a RowSample, packed
 * like referenceOutputs' so the two compare position by position, and its error against the reference: the largest
 * over the four summation orders. Run on the reference's worker pool.
 */
import type { OutputName, Pipeline } from './backend.js';
import type { Job } from './jobs.js';
import type { CompareOptions, TensorError } from './metrics.js';
import { compareTensor } from './metrics.js';
import type { ParallelOptions } from './parallel.js';
import { runJob, sharedFloat64 } from './parallel.js';
import type { Problem } from './problem.js';
import type { ReferenceInputs, ReferenceOptions, ReferenceOutputs } from './reference-outputs.js';
import type { RowSample } from './sample-rows.js';
import type { SumOrder } from './textbook.js';
import { deltaTerms, SUM_ORDERS, textbookDelta } from './textbook.js';

export interface TextbookOutputs {
  problem: Problem;
  pipeline: Pipeline;
  order: SumOrder;
  rows?: RowSample;
  /** float32 values (held in float64) of the pipeline's outputs; with rows, only those rows, packed in list order */
  tensors: Partial<Record<OutputName, Float64Array>>;
  /** per output, the largest sum of |terms| behind one element (textbook.ts), over the rows covered */
  termScale: Partial<Record<OutputName, number>>;
}

const maxOf = (a: Float64Array): number => a.reduce((m, x) => (Number.isFinite(x) && Math.abs(x) > m ? Math.abs(x) : m), 0);

type Copies = WeakMap<object, Float64Array>;

/**
 * The problem's inputs as shared32 gives them, kept per input array: every summation order and pipeline of a problem
 * starts from the same copies (at N = 16384, d = 128, BH = 16 each copy is 268 MB). Inputs are never written.
 */
const inputCopies: Copies = new WeakMap();

/** shared32(a), made once per array and kept in `copies`. */
function sharedOnce(copies: Copies, a: ArrayLike<number>): Float64Array {
  let copy = copies.get(a);
  if (!copy) copies.set(a, (copy = shared32(a)));
  return copy;
}

/** The values of `a` rounded to float32, on a SharedArrayBuffer (the textbook starts from float32 inputs). */
function shared32(a: ArrayLike<number>): Float64Array {
  const out = sharedFloat64(a.length);
  if (a instanceof Float32Array) out.set(a); // already float32: an exact widening
  else for (let i = 0; i < a.length; i++) out[i] = Math.fround(a[i]!);
  return out;
}

async function run<J extends Job>(job: J, options: ParallelOptions): Promise<J> {
  await runJob(job, options);
  return job;
}

/**
 * The textbook summing in `order`. `sample` and `options.given` as in referenceOutputs: row-sampled dK, dV use the
 * kernel's own lse and O (the textbook then builds P = fl(exp(fl(S − lse))) and D from that O, in float32).
 * `givenCopies` keeps the float32 copies of options.given across calls on the same outputs (textbookErrors' four orders).
 */
export async function textbookOutputs(
  problem: Problem,
  inputs: ReferenceInputs,
  pipeline: Pipeline,
  sample?: RowSample,
  options: ReferenceOptions = {},
  order: SumOrder = 'forward',
  givenCopies: Copies = new WeakMap(),
): Promise<TextbookOutputs> {
  const p = problem;
  const x = { q: sharedOnce(inputCopies, inputs.q), k: sharedOnce(inputCopies, inputs.k), v: sharedOnce(inputCopies, inputs.v) };
  const queryRows = sample ? Int32Array.from(sample.queryRows) : null;
  const keyRows = sample ? Int32Array.from(sample.keyRows) : null;
  const nRows = queryRows ? queryRows.length : p.bh * p.nq;
  const result: TextbookOutputs = { problem, pipeline, order, tensors: {}, termScale: {} };
  if (sample) result.rows = { queryRows: [...sample.queryRows], keyRows: [...sample.keyRows] };

  const fwd = await run(
    {
      kind: 'textbookForward', problem: p, ...x, rows: queryRows, order,
      lse: sharedFloat64(nRows), m: sharedFloat64(nRows), l: sharedFloat64(nRows), o: sharedFloat64(nRows * p.dv),
      lseTerms: sharedFloat64(nRows), oTerms: sharedFloat64(nRows),
    },
    options,
  );
  result.tensors.lse = fwd.lse;
  result.termScale.lse = maxOf(fwd.lseTerms);
  if (pipeline === 'lse') return result;
  result.tensors.o = fwd.o;
  result.termScale.o = maxOf(fwd.oTerms);
  if (pipeline === 'fwd') return result;

  if (!inputs.dO) throw new TypeError("textbookOutputs: the 'bwd' pipeline needs dO");
  const dO = sharedOnce(inputCopies, inputs.dO);
  const delta = sharedFloat64(nRows);
  const deltaB = sharedFloat64(nRows);
  for (let pos = 0; pos < nRows; pos++) {
    const r = queryRows ? queryRows[pos]! : pos;
    delta[pos] = textbookDelta(p, dO, r, fwd.o, pos * p.dv, order);
    deltaB[pos] = deltaTerms(p, dO, r, fwd.o, pos * p.dv);
  }
  const dq = await run(
    { kind: 'textbookDq', problem: p, ...x, rows: queryRows, order, dO, m: fwd.m, l: fwd.l, delta, deltaB, dq: sharedFloat64(nRows * p.d), dqTerms: sharedFloat64(nRows) },
    options,
  );
  result.tensors.dq = dq.dq;

  let queryM = fwd.m;
  let queryL = fwd.l;
  let queryDelta = delta;
  let queryDeltaB = deltaB;
  if (sample) {
    if (!options.given) throw new TypeError("textbookOutputs: sampled 'bwd' needs the kernel's own lse and O (options.given)");
    const all = p.bh * p.nq;
    queryM = sharedOnce(givenCopies, options.given.lse);
    queryL = sharedFloat64(all).fill(1);
    const o = sharedOnce(givenCopies, options.given.o);
    queryDelta = sharedFloat64(all);
    queryDeltaB = sharedFloat64(all);
    for (let r = 0; r < all; r++) {
      queryDelta[r] = textbookDelta(p, dO, r, o, r * p.dv, order);
      queryDeltaB[r] = deltaTerms(p, dO, r, o, r * p.dv);
    }
  }
  const nKeys = keyRows ? keyRows.length : p.bh * p.nk;
  const kv = await run(
    {
      kind: 'textbookDkdv', problem: p, ...x, rows: keyRows, order, dO, queryM, queryL, queryDelta, queryDeltaB,
      dk: sharedFloat64(nKeys * p.d), dv: sharedFloat64(nKeys * p.dv), dkTerms: sharedFloat64(nKeys), dvTerms: sharedFloat64(nKeys),
    },
    options,
  );
  result.tensors.dk = kv.dk;
  result.tensors.dv = kv.dv;
  result.termScale.dq = maxOf(dq.dqTerms);
  result.termScale.dk = maxOf(kv.dkTerms);
  result.termScale.dv = maxOf(kv.dvTerms);
  return result;
}

/** The yardstick's error of one output: the largest over the summation orders, and the output's term scale. */
export interface TextbookError extends TensorError {
  termScale: number;
}

/**
 * The textbook's error against the reference for every output the reference holds: for maxAbs, l2 and relL2 each, the
 * largest over SUM_ORDERS (textbook.ts says why). `sample` and `options` must be those the reference was computed with.
 */
export async function textbookErrors(
  reference: ReferenceOutputs,
  inputs: ReferenceInputs,
  sample?: RowSample,
  options: ReferenceOptions = {},
  compare: CompareOptions = {},
): Promise<Partial<Record<OutputName, TextbookError>>> {
  const out: Partial<Record<OutputName, TextbookError>> = {};
  const givenCopies: Copies = new WeakMap(); // the kernel's lse and O, copied once for the four orders
  for (const order of SUM_ORDERS) {
    const tb = await textbookOutputs(reference.problem, inputs, reference.pipeline, sample, options, order, givenCopies);
    for (const [name, ref] of Object.entries(reference.tensors) as [OutputName, Float64Array][]) {
      const e = compareTensor(tb.tensors[name]!, ref, name === 'lse' ? { l2Floor: 1, ...compare } : compare);
      const prev = out[name];
      out[name] = prev
        ? { ...prev, maxAbs: Math.max(prev.maxAbs, e.maxAbs), relL2: Math.max(prev.relL2, e.relL2), l2: Math.max(prev.l2, e.l2), maxRel: Math.max(prev.maxRel, e.maxRel) }
        : { ...e, termScale: tb.termScale[name] ?? 0 };
    }
  }
  return out;
}
