/**
 * Checking a backend against the reference. checkSession does the whole round for one session; its pieces
 * (referenceOutputs, compareOutputs, failureLines) let the harness compute the reference once and compare several
 * backends or variants on the same inputs.
 */
import type { FloatArray, OutputName, Pipeline, Session, Variant } from './backend.js';
import { PIPELINE_STAGES } from './backend.js';
import { describeProblem } from './describe.js';
import type { CompareOptions, TensorError } from './metrics.js';
import { TOLERANCE, compareTensor } from './metrics.js';
import type { ParallelOptions } from './parallel.js';
import type { Problem } from './problem.js';
import { tensorSize } from './problem.js';
import type { ReferenceOutputs } from './reference-outputs.js';
import { pipelineOutputs, referenceOutputs } from './reference-outputs.js';
import { randomInputs } from './sample.js';
import { sampleRows } from './sample-rows.js';

export type OutputErrors = Partial<Record<OutputName, TensorError>>;

function rowWidth(p: Problem, name: OutputName): { width: number; side: 'queryRows' | 'keyRows' } {
  switch (name) {
    case 'lse':
      return { width: 1, side: 'queryRows' };
    case 'o':
      return { width: p.dv, side: 'queryRows' };
    case 'dq':
      return { width: p.d, side: 'queryRows' };
    case 'dk':
      return { width: p.d, side: 'keyRows' };
    case 'dv':
      return { width: p.dv, side: 'keyRows' };
  }
}

/** The listed rows of a full tensor, packed; a bit copy (TypedArray.set between equal types), so poison survives. */
function gatherRows(a: FloatArray, rows: readonly number[], width: number): FloatArray {
  const out = a instanceof Float32Array ? new Float32Array(rows.length * width) : new Float64Array(rows.length * width);
  rows.forEach((r, pos) => out.set(a.subarray(r * width, (r + 1) * width), pos * width));
  return out;
}

/** Error of each output the reference holds; `outputs` are full tensors as read back from a session. */
export function compareOutputs(
  outputs: Partial<Record<OutputName, FloatArray>>,
  reference: ReferenceOutputs,
  options?: CompareOptions,
): OutputErrors {
  const p = reference.problem;
  const errors: OutputErrors = {};
  for (const [name, ref] of Object.entries(reference.tensors) as [OutputName, Float64Array][]) {
    const actual = outputs[name];
    if (!actual) throw new TypeError(`compareOutputs: output '${name}' is missing`);
    const size = tensorSize(p, name);
    if (actual.length !== size) throw new RangeError(`compareOutputs: '${name}' has ${actual.length} elements, the problem makes ${size}`);
    const { width, side } = rowWidth(p, name);
    const packed = reference.rows ? gatherRows(actual, reference.rows[side], width) : actual;
    errors[name] = compareTensor(packed, ref, name === 'lse' ? { l2Floor: 1, ...options } : options);
  }
  return errors;
}

export interface FailureContext {
  problem: Problem;
  seed: number;
  /** relative-L2 tolerances; missing entries from TOLERANCE */
  tolerance?: Partial<Record<OutputName, number>>;
}

/** One line per failed criterion: unwritten elements, non-finite mismatches, relative L2 over tolerance. */
export function failureLines(errors: OutputErrors, context: FailureContext): string[] {
  const where = `(${describeProblem(context.problem)}, seed ${context.seed})`;
  const lines: string[] = [];
  for (const [name, e] of Object.entries(errors) as [OutputName, TensorError][]) {
    const tolerance = context.tolerance?.[name] ?? TOLERANCE[name];
    if (e.unwritten > 0) lines.push(`${name}: ${e.unwritten} of ${e.count} elements unwritten (still poisoned) ${where}`);
    if (e.nonFinite > 0) lines.push(`${name}: ${e.nonFinite} of ${e.count} elements non-finite where the reference is finite, or not −inf where it is ${where}`);
    if (!(e.relL2 <= tolerance)) lines.push(`${name}: relL2 ${e.relL2.toExponential(3)} > tolerance ${tolerance} ${where}`);
  }
  return lines;
}

export interface CheckOptions extends ParallelOptions {
  pipeline: Pipeline;
  seed: number;
  /** rows per side for a row-sampled check; undefined: every row */
  sample?: number;
  tolerance?: Partial<Record<OutputName, number>>;
}

export interface CheckResult {
  seed: number;
  pipeline: Pipeline;
  problem: Problem;
  variant: Variant;
  /** rows per side checked; undefined: every row */
  sample?: number;
  errors: OutputErrors;
  passed: boolean;
  failures: string[];
}

/**
 * Fresh seeded N(0,1) float32 inputs → write → poison → run the pipeline's stages → read → compare with the float64
 * reference. Session errors (a kernel that throws) propagate.
 */
export async function checkSession(session: Session, options: CheckOptions): Promise<CheckResult> {
  const { pipeline, seed } = options;
  const problem = session.problem;
  const inputs = randomInputs(problem, seed);
  await session.write(pipeline === 'bwd' ? inputs : { q: inputs.q, k: inputs.k, v: inputs.v });
  await session.poison();
  await session.run(PIPELINE_STAGES[pipeline]);
  const outputs = await session.read(pipelineOutputs(pipeline));
  const rows = options.sample === undefined ? undefined : sampleRows(problem, options.sample, seed);
  const reference = await referenceOutputs(problem, inputs, pipeline, rows, {
    threads: options.threads,
    minWork: options.minWork,
    given: outputs.lse && outputs.o ? { lse: outputs.lse, o: outputs.o } : undefined,
  });
  const errors = compareOutputs(outputs, reference);
  const context: FailureContext = { problem, seed };
  if (options.tolerance) context.tolerance = options.tolerance;
  const failures = failureLines(errors, context);
  const result: CheckResult = { seed, pipeline, problem, variant: session.variant, errors, passed: failures.length === 0, failures };
  if (options.sample !== undefined) result.sample = options.sample;
  return result;
}
