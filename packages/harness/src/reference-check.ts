/**
 * The float64 reference of one problem's inputs, compared against every backend and variant, with the textbook's
 * error (in the problem's dtype) on the same rows beside each output (the accuracy rule's yardstick, @attn/reference accuracy.ts).
 * Small problems: every row, computed once. Large problems: sampled rows (edges of each bh, the causal edge, then
 * seeded random rows); lse, O and dQ of the sampled query rows are computed once, while sampled dK, dV depend on the
 * kernel's own lse and O (reference-outputs.ts says why) and so are recomputed per kernel — O(rows·N·d), cheap.
 */
import type { FloatArray, OutputName, Pipeline, Problem, RandomInputs, ReferenceOptions, ReferenceOutputs, RowSample, TensorError, TextbookError } from '@attn/reference';
import { compareOutputs, referenceOutputs, sampleRows, textbookErrors } from '@attn/reference';
import type { ErrorStats } from './results.js';

export interface ReferenceCheck {
  /** 'full', or the rows per side that were sampled */
  checked: 'full' | number;
  /** Errors of a backend's outputs (full tensors as read back) against the reference. */
  compare(outputs: Partial<Record<OutputName, FloatArray>>): Promise<Partial<Record<OutputName, ErrorStats>>>;
}

/** Problems with at most this many score pairs (bh·nq·nk) are checked in full. */
export const FULL_CHECK_MAX_PAIRS = 1 << 22;

function maxFiniteAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const x = Math.abs(a[i]!);
    if (x > m && Number.isFinite(x)) m = x;
  }
  return m;
}

type Errors = Partial<Record<OutputName, TensorError>>;
type Yardstick = Partial<Record<OutputName, TextbookError>>;
const finite = (e: TensorError): boolean => e.count - e.nonFinite - e.unwritten > 0;

function toStats(errors: Errors, textbook: Yardstick, ref: ReferenceOutputs): Partial<Record<OutputName, ErrorStats>> {
  const out: Partial<Record<OutputName, ErrorStats>> = {};
  for (const [name, e] of Object.entries(errors) as [OutputName, TensorError][]) {
    const t = textbook[name];
    out[name] = {
      maxAbs: finite(e) ? e.maxAbs : null,
      relL2: finite(e) ? e.relL2 : null,
      nonFinite: e.nonFinite,
      unwritten: e.unwritten,
      refMaxAbs: maxFiniteAbs(ref.tensors[name]!),
      textbookMaxAbs: t && finite(t) ? t.maxAbs : null,
      textbookRelL2: t && finite(t) ? t.relL2 : null,
      l2: finite(e) ? e.l2 : null,
      textbookL2: t && finite(t) ? t.l2 : null,
      finite: e.finite,
      ...(t ? { termScale: t.termScale } : {}),
    };
  }
  return out;
}

/** The float64 reference and the textbook's error (in the problem's dtype) against it, over the same rows. */
async function yardsticks(problem: Problem, inputs: RandomInputs, need: Pipeline, sample?: RowSample, options?: ReferenceOptions) {
  const ref = await referenceOutputs(problem, inputs, need, sample, options);
  return { ref, textbook: await textbookErrors(ref, inputs, sample, options) };
}

/** The reference restricted to the outputs a pipeline read back (an lse run is compared on lse alone). */
function only(ref: ReferenceOutputs, names: readonly string[]): ReferenceOutputs {
  const tensors = Object.fromEntries(Object.entries(ref.tensors).filter(([n]) => names.includes(n)));
  return { ...ref, tensors };
}

/**
 * `need` is the largest pipeline that will be compared ('bwd' covers all outputs); each compare call checks just the
 * outputs it is given.
 */
export async function referenceCheck(
  problem: Problem,
  inputs: RandomInputs,
  need: Pipeline,
  rowsPerSide: number,
  seed: number,
): Promise<ReferenceCheck> {
  const against = (y: { ref: ReferenceOutputs; textbook: Yardstick }, outputs: Partial<Record<OutputName, FloatArray>>): Partial<Record<OutputName, ErrorStats>> => {
    const r = only(y.ref, Object.keys(outputs));
    return toStats(compareOutputs(outputs, r), y.textbook, r);
  };
  if (problem.bh * problem.nq * problem.nk <= FULL_CHECK_MAX_PAIRS) {
    const full = await yardsticks(problem, inputs, need);
    return { checked: 'full', compare: async (outputs) => against(full, outputs) };
  }
  const sample = sampleRows(problem, rowsPerSide, seed);
  // query-side rows (lse, O) once; dK, dV need the kernel's own lse and O, so per call
  const forward = await yardsticks(problem, inputs, need === 'lse' ? 'lse' : 'fwd', sample);
  return {
    checked: rowsPerSide,
    async compare(outputs) {
      if (!outputs.dq && !outputs.dk && !outputs.dv) return against(forward, outputs);
      const { lse, o } = outputs;
      if (!lse || !o) throw new Error("a sampled backward check needs the kernel's lse and O read back");
      return against(await yardsticks(problem, inputs, 'bwd', sample, { given: { lse, o } }), outputs);
    },
  };
}
