/**
 * Checking a backend against the reference. checkSession does the whole round for one session; its pieces
 * (referenceOutputs, compareOutputs, failureLines) let the harness compute the reference once and compare several
 * backends or variants on the same inputs.
 */
import type { RuleInput, RuleResult } from './accuracy.js';
import { applyRule, describeRule } from './accuracy.js';
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
import type { TextbookError } from './textbook-outputs.js';
import { textbookErrors } from './textbook-outputs.js';

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

/** The rule's inputs for every output a kernel was compared on (accuracy.ts). */
export function ruleInputs(kernel: OutputErrors, textbook: Partial<Record<OutputName, TextbookError>>): Partial<Record<OutputName, RuleInput>> {
  const out: Partial<Record<OutputName, RuleInput>> = {};
  const finite = (x: TensorError): boolean => x.count - x.nonFinite - x.unwritten > 0;
  for (const [name, e] of Object.entries(kernel) as [OutputName, TensorError][]) {
    const t = textbook[name];
    if (!t) continue;
    out[name] = {
      maxAbs: finite(e) ? e.maxAbs : null,
      textbookMaxAbs: finite(t) ? t.maxAbs : null,
      l2: finite(e) ? e.l2 : null,
      textbookL2: finite(t) ? t.l2 : null,
      n: e.finite,
      termScale: t.termScale,
    };
  }
  return out;
}

export interface FailureContext {
  problem: Problem;
  seed: number;
  /** relative-L2 tolerances; missing entries from TOLERANCE */
  tolerance?: Partial<Record<OutputName, number>>;
  /**
   * The fixed relative-L2 tolerances hold for float32 on N(0,1) inputs (scoreStd 1); at larger score magnitudes even
   * the float32 textbook exceeds them, and in a half dtype its rounding alone does (2⁻¹¹ relative per stored value):
   * there the rule against the textbook in the dtype is the gate. Default true.
   */
  fixedTolerance?: boolean;
  /** the accuracy rule's worst output (accuracy.ts); a failed rule is one more failure line */
  rule?: RuleResult | null;
}

/** One line per failed criterion: unwritten elements, non-finite mismatches, relative L2 over tolerance, the rule. */
export function failureLines(errors: OutputErrors, context: FailureContext): string[] {
  const where = `(${describeProblem(context.problem)}, seed ${context.seed})`;
  const lines: string[] = [];
  for (const [name, e] of Object.entries(errors) as [OutputName, TensorError][]) {
    const tolerance = context.tolerance?.[name] ?? TOLERANCE[name];
    if (e.unwritten > 0) lines.push(`${name}: ${e.unwritten} of ${e.count} elements unwritten (still poisoned) ${where}`);
    if (e.nonFinite > 0) lines.push(`${name}: ${e.nonFinite} of ${e.count} elements non-finite where the reference is finite, or not −inf where it is ${where}`);
    if (context.fixedTolerance !== false && !(e.relL2 <= tolerance)) lines.push(`${name}: relL2 ${e.relL2.toExponential(3)} > tolerance ${tolerance} ${where}`);
  }
  if (context.rule && !context.rule.passed) lines.push(`${describeRule(context.rule, context.problem.dtype)} ${where}`);
  return lines;
}

export interface CheckOptions extends ParallelOptions {
  pipeline: Pipeline;
  seed: number;
  /** rows per side for a row-sampled check; undefined: every row */
  sample?: number;
  tolerance?: Partial<Record<OutputName, number>>;
  /** score magnitude of the inputs (InputOptions.scoreStd); default 1 */
  scoreStd?: number;
}

export interface CheckResult {
  seed: number;
  pipeline: Pipeline;
  problem: Problem;
  variant: Variant;
  /** rows per side checked; undefined: every row */
  sample?: number;
  errors: OutputErrors;
  /** the float32 textbook's errors on the same inputs and rows (the largest over its summation orders) */
  textbook: Partial<Record<OutputName, TextbookError>>;
  /** the accuracy rule's worst output */
  rule: RuleResult | null;
  passed: boolean;
  failures: string[];
}

/**
 * Fresh seeded inputs (N(0,1), Q and K scaled by options.scoreStd, rounded to the problem's dtype) → write → poison →
 * run the pipeline's stages → read → compare with the float64 reference, and judge by the accuracy rule against the
 * textbook in the problem's dtype on the same rows (the fixed tolerances too in float32 at score std 1). Session
 * errors (a kernel that throws) propagate.
 */
export async function checkSession(session: Session, options: CheckOptions): Promise<CheckResult> {
  const { pipeline, seed } = options;
  const problem = session.problem;
  const scoreStd = options.scoreStd ?? 1;
  const inputs = randomInputs(problem, seed, { scoreStd });
  await session.write(pipeline === 'bwd' ? inputs : { q: inputs.q, k: inputs.k, v: inputs.v });
  await session.poison();
  await session.run(PIPELINE_STAGES[pipeline]);
  const outputs = await session.read(pipelineOutputs(pipeline));
  const rows = options.sample === undefined ? undefined : sampleRows(problem, options.sample, seed);
  const referenceOptions = {
    threads: options.threads,
    minWork: options.minWork,
    given: outputs.lse && outputs.o ? { lse: outputs.lse, o: outputs.o } : undefined,
  };
  const reference = await referenceOutputs(problem, inputs, pipeline, rows, referenceOptions);
  const textbook = await textbookErrors(reference, inputs, rows, referenceOptions);
  const errors = compareOutputs(outputs, reference);
  const rule = applyRule(ruleInputs(errors, textbook), problem.dtype);
  // the fixed tolerances are float32 sizes: a half dtype's own rounding (2⁻¹¹, 2⁻⁸ relative) exceeds them, and the rule
  // (its floor one ulp of the dtype) is the gate there
  const context: FailureContext = { problem, seed, fixedTolerance: scoreStd === 1 && problem.dtype === 'float32', rule };
  if (options.tolerance) context.tolerance = options.tolerance;
  const failures = failureLines(errors, context);
  const result: CheckResult = { seed, pipeline, problem, variant: session.variant, errors, textbook, rule, passed: failures.length === 0, failures };
  if (options.sample !== undefined) result.sample = options.sample;
  return result;
}
