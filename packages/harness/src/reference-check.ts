/**
 * The float64 reference of one problem's inputs, computed once and compared against every backend and variant.
 * Full for small problems; for large ones only some query rows (and key rows, for dK/dV) are computed and checked.
 */
import type { FloatArray, OutputName, Pipeline, Problem, RandomInputs } from '@attn/reference';
import { backwardFull, forwardFull, rowInputs, toFloat64 } from '@attn/reference';
import type { ErrorStats } from './results.js';

/** Relative L2 tolerance per output, float32 kernel vs float64 reference (algorithm.md). */
export const TOLERANCE: Readonly<Record<OutputName, number>> = { lse: 1e-5, o: 1e-5, dq: 1e-4, dk: 1e-4, dv: 1e-4 };

export interface ReferenceCheck {
  /** 'full', or the query rows per bh that were checked */
  checked: 'full' | number;
  /** Errors of a backend's outputs (full tensors as read back) against the reference. */
  compare(outputs: Partial<Record<OutputName, FloatArray>>): Partial<Record<OutputName, ErrorStats>>;
}

/** Problems with at most this many score pairs (bh·nq·nk) are checked in full. */
export const FULL_CHECK_MAX_PAIRS = 1 << 22;

export function errorStats(actual: FloatArray, reference: Float64Array): ErrorStats {
  return tensorError(actual, reference);
}

export async function referenceCheck(problem: Problem, inputs: RandomInputs, pipeline: Pipeline, sampleRows: number): Promise<ReferenceCheck> {
  const pairs = problem.bh * problem.nq * problem.nk;
  if (pairs > FULL_CHECK_MAX_PAIRS) {
    throw new Error(`row-sampled reference (${sampleRows} rows) not available for ${pairs} score pairs`);
  }
  const x = rowInputs(inputs.q, inputs.k, inputs.v);
  const fwd = forwardFull(problem, x);
  const ref: Partial<Record<OutputName, Float64Array>> = { lse: fwd.lse, o: fwd.o };
  if (pipeline === 'bwd') Object.assign(ref, backwardFull(problem, x, fwd.lse, fwd.o, toFloat64(inputs.dO)));
  return {
    checked: 'full',
    compare(outputs) {
      const out: Partial<Record<OutputName, ErrorStats>> = {};
      for (const [name, actual] of Object.entries(outputs) as [OutputName, FloatArray][]) {
        const r = ref[name];
        if (!r) throw new Error(`no reference for output ${name} of pipeline ${pipeline}`);
        out[name] = errorStats(actual, r);
      }
      return out;
    },
  };
}

import { isPoisoned } from '@attn/reference';
function tensorError(actual: FloatArray, reference: Float64Array): ErrorStats {
  let maxAbs = 0;
  let diff2 = 0;
  let ref2 = 0;
  let refMax = 0;
  let nonFinite = 0;
  let unwritten = 0;
  let finite = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const r = reference[i]!;
    if (Number.isNaN(a) && isPoisoned(actual, i)) {
      unwritten++;
      continue;
    }
    if (!Number.isFinite(r)) {
      if (a !== r) nonFinite++;
      continue;
    }
    if (!Number.isFinite(a)) {
      nonFinite++;
      continue;
    }
    finite++;
    const e = Math.abs(a - r);
    if (e > maxAbs) maxAbs = e;
    if (Math.abs(r) > refMax) refMax = Math.abs(r);
    diff2 += e * e;
    ref2 += r * r;
  }
  return {
    maxAbs: finite > 0 ? maxAbs : null,
    relL2: finite > 0 ? (ref2 > 0 ? Math.sqrt(diff2 / ref2) : Math.sqrt(diff2)) : null,
    nonFinite,
    unwritten,
    refMaxAbs: refMax,
  };
}
