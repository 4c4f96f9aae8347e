/**
 * The float64 reference of every output a pipeline produces, over all rows or over sampled rows.
 *
 * Sampled mode costs O(rows·N·d): each sampled query row gets lse, O (from one pass over its scores) and dQ from the
 * reference's own lse and D; each sampled key row gets dK, dV. A key row sums over every query row of its bh and needs
 * their lse and D = rowsum(dO∘O), which would cost the full O(N²·d) to compute, so sampled dK, dV are computed from
 * the kernel's own float32 lse and O (`given`): stage 3 is defined as a function of lse and O, so this checks the
 * kernel's stage 3 exactly, while its lse and O are checked on the sampled query rows.
 */
import type { FloatArray, OutputName, Pipeline } from './backend.js';
import { PIPELINE_STAGES, STAGE_OUTPUTS } from './backend.js';
import type { ParallelOptions } from './parallel.js';
import { toSharedFloat64 } from './parallel.js';
import type { Problem } from './problem.js';
import { tensorSize } from './problem.js';
import type { RowSample } from './sample-rows.js';
import { deltaStage, dkdvStage, dqStage, lseForwardStage, lseStage } from './stages.js';

export interface ReferenceInputs {
  q: FloatArray;
  k: FloatArray;
  v: FloatArray;
  /** needed by the 'bwd' pipeline */
  dO?: FloatArray;
}

export interface ReferenceOptions extends ParallelOptions {
  /** the kernel's own full lse and O: needed (only) for sampled dK, dV (see above) */
  given?: { lse: FloatArray; o: FloatArray };
}

export interface ReferenceOutputs {
  problem: Problem;
  pipeline: Pipeline;
  /** the rows covered; undefined: every row */
  rows?: RowSample;
  /** float64 outputs of the pipeline's stages; with rows, only those rows, packed in list order */
  tensors: Partial<Record<OutputName, Float64Array>>;
}

/** The outputs a pipeline writes, in stage order. */
export function pipelineOutputs(pipeline: Pipeline): OutputName[] {
  return PIPELINE_STAGES[pipeline].flatMap((stage) => [...STAGE_OUTPUTS[stage]]);
}

function checkLength(p: Problem, name: 'q' | 'k' | 'v' | 'dO' | 'lse' | 'o', a: FloatArray): void {
  const want = tensorSize(p, name);
  if (a.length !== want) throw new RangeError(`referenceOutputs: ${name} has ${a.length} elements, the problem needs ${want}`);
}

function checkRows(rows: readonly number[], total: number, side: string): Int32Array {
  for (const r of rows) {
    if (!Number.isSafeInteger(r) || r < 0 || r >= total) throw new RangeError(`referenceOutputs: ${side} row ${r} is outside 0 … ${total - 1}`);
  }
  return Int32Array.from(rows);
}

export async function referenceOutputs(
  problem: Problem,
  inputs: ReferenceInputs,
  pipeline: Pipeline,
  sample?: RowSample,
  options: ReferenceOptions = {},
): Promise<ReferenceOutputs> {
  const p = problem;
  checkLength(p, 'q', inputs.q);
  checkLength(p, 'k', inputs.k);
  checkLength(p, 'v', inputs.v);
  const x = { q: toSharedFloat64(inputs.q), k: toSharedFloat64(inputs.k), v: toSharedFloat64(inputs.v) };
  const queryRows = sample ? checkRows(sample.queryRows, p.bh * p.nq, 'query') : null;
  const keyRows = sample ? checkRows(sample.keyRows, p.bh * p.nk, 'key') : null;
  const result: ReferenceOutputs = { problem, pipeline, tensors: {} };
  if (sample) result.rows = { queryRows: [...sample.queryRows], keyRows: [...sample.keyRows] };

  if (pipeline === 'lse') {
    result.tensors.lse = await lseStage(p, x, queryRows, options);
    return result;
  }
  const { lse, o } = await lseForwardStage(p, x, queryRows, options);
  result.tensors.lse = lse;
  result.tensors.o = o;
  if (pipeline === 'fwd') return result;

  if (!inputs.dO) throw new TypeError("referenceOutputs: the 'bwd' pipeline needs dO");
  checkLength(p, 'dO', inputs.dO);
  const dO = toSharedFloat64(inputs.dO);
  const delta = deltaStage(p, dO, queryRows, o);
  result.tensors.dq = await dqStage(p, x, dO, queryRows, lse, delta, options);
  let queryLse = lse;
  let queryDelta = delta;
  if (sample) {
    if (!options.given) throw new TypeError("referenceOutputs: sampled 'bwd' needs the kernel's own lse and O (options.given)");
    checkLength(p, 'lse', options.given.lse);
    checkLength(p, 'o', options.given.o);
    queryLse = toSharedFloat64(options.given.lse);
    queryDelta = deltaStage(p, dO, null, toSharedFloat64(options.given.o));
  }
  const { dk, dv } = await dkdvStage(p, x, dO, keyRows, queryLse, queryDelta, options);
  result.tensors.dk = dk;
  result.tensors.dv = dv;
  return result;
}
