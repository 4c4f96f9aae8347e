/**
 * attn run: one pipeline (lse | fwd | bwd) of one backend on .npy inputs, outputs written as .npy.
 * Every problem with the inputs is caught before a device is touched and reported as one line (exit 2); outputs
 * that are NaN/Inf although the inputs were finite, or left unwritten, are reported as one line too (exit 1).
 * The non-finite policy lives here: backends take any float, this command decides what it accepts.
 */
import { performance } from 'node:perf_hooks';
import type { Backend, Dtype, FloatArray, KernelStage, OutputName, Pipeline, Problem, Variant } from '@attn/reference';
import {
  BackendError, PIPELINE_STAGES, STAGE_OUTPUTS, countPoisoned, describeNonFinite, lseCertainlyAbove, makeProblem, scanNonFinite,
  DTYPES, roundArray, splitVariant, tensorShape, unexpectedNonFinite, unflattenIndex,
} from '@attn/reference';
import { finiteNumber, oneOf, parseFlags, required } from '../args.js';
import { variantName } from '../cli-options.js';
import { TORCH_VARIANTS } from '../peers/torch-backend.js';
import { variantsHelp } from '../variants-help.js';
import type { BackendName } from '../backends.js';
import { BACKEND_NAMES, loadBackend } from '../backends.js';
import type { NpyTensor } from '../npy-io.js';
import { formatShape, readTensorFile, writeTensorFile } from '../npy-io.js';
import { UsageError } from '../usage-error.js';

export const summary = 'run one stage pipeline (lse, fwd, bwd) of a backend on .npy inputs and write the outputs';

export const helpExtra = variantsHelp;

export const help = `Usage: attn run --backend NAME --stage STAGE --q Q.npy --k K.npy --v V.npy [--do dO.npy] --out DIR [options]

Runs one pipeline of one backend on the given inputs and writes its outputs into DIR as .npy files.

Inputs are float16, float32 or float64 .npy files, C order, either 3-D [BH, N, d] or 4-D [B, H, N, d] (BH = B·H):
  Q [BH, Nq, d], K [BH, Nk, d], V [BH, Nk, dv], dO [BH, Nq, dv]. Their values are rounded to --dtype; GPU backends
  store them in it (float64 files are converted).

Options:
  --backend NAME     reference | cuda | wgsl | torch (torch: its SDPA backends as variants) (required)
  --stage STAGE      lse: stage 1 only -> lse.npy
                     fwd: stages 1, 2  -> lse.npy, o.npy
                     bwd: stages 1-3   -> lse.npy, o.npy, dq.npy, dk.npy, dv.npy  (required)
  --q FILE           queries                                                       (required)
  --k FILE           keys                                                          (required)
  --v FILE           values                                                        (required)
  --do FILE          gradient of the output; required by --stage bwd
  --out DIR          where the outputs go (created if missing)                     (required)
  --causal           causal mask, bottom-right aligned: query i sees key j iff j <= i + Nk - Nq
  --scale S          score scale (default 1/sqrt(d))
  --dtype D          float32 | float16 | bfloat16: storage of Q, K, V, dO and the outputs (lse stays float32);
                     inputs are rounded to it, to nearest even. bfloat16 has no NumPy dtype: it takes float16,
                     float32 or float64 files and rounds them. Half outputs are written as float32 (an exact widening)
  --variant V        naive | tiled | tiled@CHOICE | exact (default: the backend's first variant; versions below)
  --allow-nonfinite  run even when an input holds NaN or Inf; the outputs are then not checked for NaN/Inf (a NaN
                     reaches what depends on it and, in the tiled GPU kernels' block products, 0 × NaN reaches
                     other rows of its tile)
  -h, --help         this text

Outputs keep the input's rank: lse is [BH, Nq] or [B, H, Nq]; o is [.., Nq, dv]; dq, dk, dv match Q, K, V.
Their dtype is what the backend computes in (float64 for reference, float32 for cuda and wgsl).
Exit status: 0 done; 1 a backend failed at run time, left outputs unwritten, or wrote NaN/Inf from finite inputs
(the outputs are written all the same); 2 bad input, a problem the backend refuses, or one whose lse a float32 backend
cannot represent (a proof: log n + the mean score of a row beyond float32's range). The reason is one line on stderr.

Example:
  attn run --backend reference --stage bwd --q q.npy --k k.npy --v v.npy --do do.npy --causal --out out/`;

const flags = {
  backend: { type: 'string' },
  stage: { type: 'string' },
  q: { type: 'string' },
  k: { type: 'string' },
  v: { type: 'string' },
  do: { type: 'string' },
  out: { type: 'string' },
  causal: { type: 'boolean' },
  scale: { type: 'string' },
  dtype: { type: 'string' },
  variant: { type: 'string' },
  'allow-nonfinite': { type: 'boolean' },
} as const;

const PIPELINES: readonly Pipeline[] = ['lse', 'fwd', 'bwd'];
const VARIANTS: readonly Variant[] = ['naive', 'tiled', 'exact', ...TORCH_VARIANTS];

interface RunOptions {
  backend: BackendName;
  stage: Pipeline;
  files: { q: string; k: string; v: string; dO?: string };
  out: string;
  causal: boolean;
  scale?: number;
  dtype: Dtype;
  variant?: Variant;
  allowNonfinite: boolean;
}

/** A base name, optionally with '@' and a choice the backend parses (its check() refuses a bad one in one line). */
function parseOptions(argv: string[]): RunOptions {
  const { values } = parseFlags(argv, flags);
  const stage = oneOf('stage', required('stage', values.stage), PIPELINES);
  const dOFile = values.do;
  if (stage === 'bwd' && dOFile === undefined) throw new UsageError('--stage bwd needs --do dO.npy (the gradient of O)');
  if (stage !== 'bwd' && dOFile !== undefined) throw new UsageError(`--do is only read by --stage bwd, not --stage ${stage}`);
  return {
    backend: oneOf('backend', required('backend', values.backend), BACKEND_NAMES),
    stage,
    files: { q: required('q', values.q), k: required('k', values.k), v: required('v', values.v), ...(dOFile === undefined ? {} : { dO: dOFile }) },
    out: required('out', values.out),
    causal: values.causal ?? false,
    ...(values.scale === undefined ? {} : { scale: finiteNumber('scale', values.scale) }),
    dtype: (values.dtype === undefined ? 'float32' : oneOf('dtype', values.dtype, DTYPES)) as Dtype,
    ...(values.variant === undefined ? {} : { variant: variantName('--variant', values.variant, VARIANTS) }),
    allowNonfinite: values['allow-nonfinite'] ?? false,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// input shapes

type InputLabel = 'Q' | 'K' | 'V' | 'dO';
type Inputs = Record<'q' | 'k' | 'v', NpyTensor> & { dO?: NpyTensor };

interface Shapes {
  /** [BH] for 3-D inputs, [B, H] for 4-D: outputs are written with the same leading dims */
  lead: number[];
  bh: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
}

/** "K is [3,131,40] but Q is [3,77,41]: head dims differ" */
function mismatch(a: InputLabel, as: number[], b: InputLabel, bs: number[], what: string): UsageError {
  return new UsageError(`${a} is ${formatShape(as)} but ${b} is ${formatShape(bs)}: ${what}`);
}

function inputShapes(inputs: Inputs): Shapes {
  const { q, k, v, dO } = inputs;
  const labelled: [InputLabel, NpyTensor][] = [['Q', q], ['K', k], ['V', v]];
  if (dO) labelled.push(['dO', dO]);
  for (const [label, t] of labelled) {
    if (t.shape.length !== 3 && t.shape.length !== 4) {
      throw new UsageError(`${label} is ${formatShape(t.shape)}: expected 3-D [BH,N,d] or 4-D [B,H,N,d]`);
    }
    if (t.shape.some((n) => n < 1)) throw new UsageError(`${label} is ${formatShape(t.shape)}: every dimension must be at least 1`);
  }
  const rank = q.shape.length;
  for (const [label, t] of labelled.slice(1)) {
    if (t.shape.length !== rank) {
      throw mismatch(label, t.shape, 'Q', q.shape, `ranks differ (${t.shape.length}-D vs ${rank}-D); give every input the same layout`);
    }
  }
  const lead = q.shape.slice(0, rank - 2);
  const sameLead = (t: NpyTensor): boolean => t.shape.slice(0, rank - 2).every((n, i) => n === lead[i]);
  const leadWhat = rank === 4 ? 'batch or head counts differ' : 'batch×heads (BH) differ';
  const n = (t: NpyTensor): number => t.shape[rank - 2]!;
  const last = (t: NpyTensor): number => t.shape[rank - 1]!;

  if (!sameLead(k)) throw mismatch('K', k.shape, 'Q', q.shape, leadWhat);
  if (last(k) !== last(q)) throw mismatch('K', k.shape, 'Q', q.shape, 'head dims differ');
  if (!sameLead(v)) throw mismatch('V', v.shape, 'Q', q.shape, leadWhat);
  if (n(v) !== n(k)) throw mismatch('V', v.shape, 'K', k.shape, 'key counts differ');
  if (dO) {
    if (!sameLead(dO)) throw mismatch('dO', dO.shape, 'Q', q.shape, leadWhat);
    if (n(dO) !== n(q)) throw mismatch('dO', dO.shape, 'Q', q.shape, 'query counts differ');
    if (last(dO) !== last(v)) throw mismatch('dO', dO.shape, 'V', v.shape, 'value dims differ');
  }
  return { lead, bh: lead.reduce((a, b) => a * b, 1), nq: n(q), nk: n(k), d: last(q), dv: last(v) };
}

// ---------------------------------------------------------------------------------------------------------------
// input values

/** The array a backend of this dtype is given: float64 files become float32 for GPU backends. */
function asDtype(data: FloatArray, dtype: 'float32' | 'float64'): FloatArray {
  if (dtype === 'float32' && data instanceof Float64Array) return Float32Array.from(data);
  return data;
}

/** Refuses NaN/Inf in an input (exit 2); true when every element is finite. `converted`: the dtype it was rounded to. */
function checkFinite(label: InputLabel, data: FloatArray, shape: readonly number[], converted: Dtype | null, allow: boolean): boolean {
  const bad = scanNonFinite(data, shape);
  if (!bad) return true;
  if (allow) return false;
  const where = converted === null ? '' : `after rounding to ${converted}${converted === 'float32' ? '' : ` (largest finite ${MAX_FINITE[converted]})`}`;
  throw new UsageError(`${describeNonFinite(label, bad, where)}; pass --allow-nonfinite to run anyway`);
}

/** The largest finite value of each half dtype (beyond it a value is stored as Inf). */
const MAX_FINITE: Readonly<Record<Exclude<Dtype, 'float32'>, string>> = { float16: '65504', bfloat16: '3.39e38' };

/** Anything beyond this rounds to Inf in float32. */
const F32_OVERFLOW = 2 ** 128;

/**
 * A float32 backend cannot represent this problem's scale or (for certain) some row's lse: refuse before running.
 * `q`, `k` are what the backend gets; `lseShape` is the lse's shape in the caller's layout.
 */
function refuseUnrepresentable(problem: Problem, q: FloatArray, k: FloatArray, where: string, lseShape: readonly number[]): void {
  const range = `beyond float32's range (${where} computes in float32)`;
  if (!Number.isFinite(Math.fround(problem.scale))) throw new UsageError(`--scale ${problem.scale} is ${range}`);
  const beyond = lseCertainlyAbove(problem, q, k, F32_OVERFLOW);
  if (beyond) {
    const row = formatShape(unflattenIndex(beyond.row, lseShape));
    throw new UsageError(`the lse of row ${row} is at least ${beyond.bound.toPrecision(3)}, ${range}: scale·Q·Kᵀ is too large`);
  }
}

const OUTPUT_LABELS: Readonly<Record<OutputName, string>> = { lse: 'lse', o: 'O', dq: 'dQ', dk: 'dK', dv: 'dV' };

// ---------------------------------------------------------------------------------------------------------------
// backend

async function load(name: BackendName): Promise<Backend> {
  try {
    return await loadBackend(name);
  } catch (e) {
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    throw new BackendError(`backend '${name}' could not be loaded: ${why}`);
  }
}

async function refuseUnavailable(backend: Backend): Promise<void> {
  const unavailable = await backend.availability();
  if (unavailable !== null) throw new BackendError(`backend '${backend.name}' is not available: ${unavailable}`);
}

function pickVariant(backend: Backend, asked: Variant | undefined): Variant {
  const variant = asked ?? backend.variants[0];
  if (variant === undefined) throw new BackendError(`backend '${backend.name}' has no variants`);
  if (!backend.variants.includes(splitVariant(variant).base)) {
    throw new UsageError(`backend '${backend.name}' has no variant '${variant}' (it has: ${backend.variants.join(', ')})`);
  }
  return variant;
}

/**
 * A dtype the variant has no kernels for, refused before the backend opens its device (a WebGPU device on a CPU
 * adapter prints its own warnings on opening), in the backend's words where it has them.
 */
function refuseDtype(backend: Backend, variant: Variant, problem: Problem): void {
  const takes = backend.dtypes?.(variant);
  if (takes === undefined || takes.includes(problem.dtype)) return;
  throw new BackendError(backend.check(problem, variant) ?? `${backend.name} ${variant} takes ${takes.join(', ')}, not ${problem.dtype}`);
}

/** Limits first (one clear line about d or causal), then the backend's own check (memory, buffer sizes). */
export function refuseUnfit(backend: Backend, variant: Variant, problem: Problem): void {
  const limits = backend.limits(variant);
  const where = `${backend.name} ${variant}`;
  if (problem.d > limits.maxD) throw new BackendError(`d=${problem.d} is over the ${where} limit (d <= ${limits.maxD})`);
  if (problem.dv > limits.maxD) throw new BackendError(`dv=${problem.dv} is over the ${where} limit (dv <= ${limits.maxD})`);
  if (problem.causal && !limits.causal) throw new BackendError(`${where} has no causal mask`);
  const refusal = backend.check(problem, variant);
  if (refusal !== null) throw new BackendError(refusal);
}

function outputsOf(stages: readonly KernelStage[]): OutputName[] {
  return stages.flatMap((s) => STAGE_OUTPUTS[s]);
}

/** An output's shape with the inputs' leading dims ([BH] or [B, H]). */
function outputShape(problem: Problem, lead: readonly number[], name: OutputName): number[] {
  return [...lead, ...tensorShape(problem, name).slice(1)];
}

// ---------------------------------------------------------------------------------------------------------------

export async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const { files } = options;
  const inputs: Inputs = {
    q: await readTensorFile('Q', files.q),
    k: await readTensorFile('K', files.k),
    v: await readTensorFile('V', files.v),
    ...(files.dO === undefined ? {} : { dO: await readTensorFile('dO', files.dO) }),
  };
  const shapes = inputShapes(inputs);
  const problem = makeProblem({
    bh: shapes.bh,
    nq: shapes.nq,
    nk: shapes.nk,
    d: shapes.d,
    dv: shapes.dv,
    causal: options.causal,
    ...(options.scale === undefined ? {} : { scale: options.scale }),
    dtype: options.dtype,
  });

  const present = (['q', 'k', 'v', 'dO'] as const).filter((name) => inputs[name] !== undefined);
  const labels = { q: 'Q', k: 'K', v: 'V', dO: 'dO' } as const;
  let inputsFinite = true;
  for (const name of present) {
    inputsFinite = checkFinite(labels[name], inputs[name]!.data, inputs[name]!.shape, null, options.allowNonfinite) && inputsFinite;
  }

  const backend = await load(options.backend);
  const variant = pickVariant(backend, options.variant);
  refuseDtype(backend, variant, problem);
  await refuseUnavailable(backend);
  const info = await backend.info();
  const tensors: Partial<Record<'q' | 'k' | 'v' | 'dO', FloatArray>> = {};
  for (const name of present) {
    const t = inputs[name]!;
    // the problem's storage dtype (values beyond its range become Inf here), then what the backend takes
    const stored = problem.dtype === 'float32' ? t.data : roundArray(problem.dtype, Float32Array.from(t.data));
    const data = asDtype(stored, info.dtype);
    if (data !== t.data) inputsFinite = checkFinite(labels[name], data, t.shape, problem.dtype === 'float32' ? 'float32' : problem.dtype, options.allowNonfinite) && inputsFinite;
    tensors[name] = data;
  }
  // what the backend refuses outright (a dtype, d, memory) first, then what float32 arithmetic cannot represent
  refuseUnfit(backend, variant, problem);
  if (inputsFinite && info.dtype === 'float32') {
    refuseUnrepresentable(problem, tensors.q!, tensors.k!, `${backend.name} ${variant}`, outputShape(problem, shapes.lead, 'lse'));
  }

  const stages = PIPELINE_STAGES[options.stage];
  const names = outputsOf(stages);
  const session = await backend.open(problem, variant);
  let outputs: Record<OutputName, FloatArray>;
  let ms: number;
  try {
    await session.write(tensors);
    await session.poison();
    const start = performance.now();
    await session.run(stages);
    ms = performance.now() - start;
    outputs = await session.read(names);
  } finally {
    await session.dispose();
  }

  const arithmetic =
    problem.dtype === 'float32' || info.dtype === 'float64'
      ? `computes in ${info.dtype}`
      : `stores ${problem.dtype}, largest finite ${MAX_FINITE[problem.dtype]}; computes in float32`;
  const lines = [
    `backend  ${backend.name} ${variant} (${arithmetic}) on ${info.device}`,
    `problem  BH=${problem.bh} Nq=${problem.nq} Nk=${problem.nk} d=${problem.d} dv=${problem.dv} ` +
      `scale=${problem.scale.toPrecision(6)}${problem.causal ? ' causal' : ''}${problem.dtype !== 'float32' ? ` ${problem.dtype}` : ''}`,
    `stages   ${stages.join(' -> ')} in ${ms.toFixed(2)} ms (wall clock, one cold run; use attn sweep for timings)`,
  ];
  const unwritten: string[] = [];
  const nonFinite: string[] = [];
  for (const name of names) {
    const data = outputs[name];
    const shape = outputShape(problem, shapes.lead, name);
    const path = await writeTensorFile(options.out, name, data, shape);
    lines.push(`wrote    ${path} ${formatShape(shape)} ${data instanceof Float64Array ? 'float64' : 'float32'}`);
    const left = countPoisoned(data);
    if (left > 0) unwritten.push(`${name}: ${left} of ${data.length}`);
    const bad = inputsFinite ? unexpectedNonFinite(problem, name, data, shape) : null;
    if (bad) nonFinite.push(describeNonFinite(OUTPUT_LABELS[name], bad));
  }
  console.log(lines.join('\n'));
  // one line for every fault of the outputs
  const faults: string[] = [];
  if (unwritten.length > 0) faults.push(`${backend.name} ${variant} left output elements unwritten (${unwritten.join('; ')})`);
  if (nonFinite.length > 0) faults.push(`${nonFinite.join('; ')}; the inputs were finite (${backend.name} ${variant} ${arithmetic})`);
  if (faults.length > 0) {
    console.error(`attn: ${faults.join('; ')}`);
    return 1;
  }
  return 0;
}
