/**
 * The sweep: for every problem, draw inputs once, compute the float64 reference once, then for every backend ×
 * variant × pipeline check the outputs against it and (unless correctness-only) time the stages. Every finished
 * unit is written to results.json at once, so a crash or Ctrl-C loses nothing already measured.
 */
import type { Backend, Dtype, FloatArray, KernelStage, OutputName, Pipeline, Problem, ProblemInit, RuleInput, Session, Variant } from '@attn/reference';
import { applyRule, describeRule, flops, PIPELINE_STAGES, randomInputs, splitVariant, STAGE_OUTPUTS, TOLERANCE } from '@attn/reference';
import type { BackendName } from './backends.js';
import type { ShapeBlock, TimingDefaults } from './presets.js';
import type { Progress } from './progress.js';
import type { ReferenceCheck } from './reference-check.js';
import { referenceCheck } from './reference-check.js';
import type { ErrorStats, FlashRule, Metadata, PointRecord, RecordStage, Results, TimingStats } from './results.js';
import { SCHEMA_VERSION, writeResults } from './results.js';
import { makeProblem } from '@attn/reference';
import { TimingAborted, timeStages } from './timing.js';

/** One problem of a sweep and the score magnitude its inputs are drawn for (@attn/reference InputOptions). */
export interface SweepProblem {
  problem: Problem;
  scoreStd: number;
}

export interface SweepConfig {
  backends: readonly BackendName[];
  variants: readonly Variant[];
  pipelines: readonly Pipeline[];
  problems: readonly SweepProblem[];
  seed: number;
  timing: TimingDefaults | null;
  sampleRows: number;
  /** where results.json is (re)written after every unit; null: only in memory */
  outPath: string | null;
  signal?: AbortSignal;
  progress?: Progress;
}

export interface LoadedBackend {
  name: string;
  /** null when the backend could not be loaded or is not available */
  backend: Backend | null;
}

/** Problems of a list of shape blocks, in order, without duplicates. */
export function expandBlocks(blocks: readonly ShapeBlock[]): SweepProblem[] {
  const seen = new Set<string>();
  const out: SweepProblem[] = [];
  const add = (init: ProblemInit, scoreStd: number): void => {
    const problem = makeProblem(init);
    const key = `${problem.bh} ${problem.nq} ${problem.nk} ${problem.d} ${problem.dv} ${problem.causal} ${problem.dtype} ${scoreStd}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ problem, scoreStd });
  };
  for (const b of blocks) {
    const dtypes = b.dtypes ?? ['float32'];
    if (b.list) {
      for (const dtype of dtypes) for (const scoreStd of b.scoreStd ?? [1]) for (const causal of b.causal) for (const init of b.list) add({ ...init, causal, dtype }, scoreStd);
      continue;
    }
    for (const dtype of dtypes) for (const scoreStd of b.scoreStd ?? [1]) {
      for (const bh of b.bh) {
        for (const d of b.ds) {
          for (const causal of b.causal) {
            for (const [nq, nk] of b.sizes) add({ bh, nq, nk, d, causal, dtype }, scoreStd);
          }
        }
      }
    }
  }
  return out;
}

/** A per-problem seed: the run's seed mixed with the problem's index, so each problem has its own inputs. */
export function problemSeed(seed: number, index: number): number {
  let z = (seed + Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 0;
}

export function problemLabel(p: Problem, scoreStd = 1): string {
  const n = p.nq === p.nk ? `N=${p.nq}` : `Nq=${p.nq} Nk=${p.nk}`;
  return `${n} d=${p.d} bh=${p.bh}${p.causal ? ' causal' : ''}${p.dtype !== 'float32' ? ` ${p.dtype}` : ''}${scoreStd !== 1 ? ` scores σ=${scoreStd}` : ''}`;
}

/** Records one pipeline produces, and the outputs each is judged on. */
const PIPELINE_RECORDS: Readonly<Record<Pipeline, readonly { stage: RecordStage; outputs: readonly OutputName[] }[]>> = {
  lse: [{ stage: 'lse', outputs: ['lse'] }],
  fwd: [
    { stage: 'fwd', outputs: ['lse', 'o'] },
    { stage: 'lse', outputs: ['lse'] },
    { stage: 'forward', outputs: ['o'] },
  ],
  bwd: [{ stage: 'backward', outputs: ['dq', 'dk', 'dv'] }],
};

type RecordPlan = readonly { stage: RecordStage; outputs: readonly OutputName[] }[];

/**
 * The records a pipeline yields on one backend variant. A fused forward (a peer: FusedForward) has no lse-only pass
 * and no lse/forward split, and its fwd record is judged on the outputs it computes itself.
 */
export function recordPlan(backend: Backend, variant: Variant, pipeline: Pipeline): RecordPlan {
  const fused = backend.fusedForward;
  if (!fused || pipeline === 'bwd') return PIPELINE_RECORDS[pipeline];
  return pipeline === 'lse' ? [] : [{ stage: 'fwd', outputs: fused.ownOutputs(variant) }];
}

/** The stages timed for a pipeline. bwd times the backward alone: lse and O are on the device from the check. */
const TIMED_STAGES: Readonly<Record<Pipeline, readonly KernelStage[]>> = {
  lse: ['lse'],
  fwd: ['lse', 'forward'],
  bwd: ['backward'],
};

/** The accuracy rule (@attn/reference accuracy.ts) over a record's outputs: each against the float32 textbook. */
export function textbookRule(errors: Record<string, ErrorStats>, dtype: Dtype = 'float32'): FlashRule | null {
  const inputs: Partial<Record<OutputName, RuleInput>> = {};
  for (const [name, e] of Object.entries(errors)) {
    if (e.textbookMaxAbs === undefined) continue;
    inputs[name as OutputName] = {
      maxAbs: e.maxAbs, textbookMaxAbs: e.textbookMaxAbs, l2: e.l2 ?? null, textbookL2: e.textbookL2 ?? null, n: e.finite ?? 0, termScale: e.termScale ?? 0,
    };
  }
  const r = applyRule(inputs, dtype);
  return r && {
    ratio: r.ratio, passed: r.passed, output: r.output, floor: r.floor, yardstick: 'textbook-float32', metric: r.metric,
    maxAbs: r.maxAbs, textbookMaxAbs: r.textbookMaxAbs, l2: r.l2, textbookL2: r.textbookL2,
  };
}

/**
 * Why these errors fail (non-finite, unwritten, over the fixed tolerance), or null. The fixed relative-L2 tolerances
 * hold for float32 on N(0,1) inputs (scoreStd 1); at larger score magnitudes and in a half dtype the rule against the
 * textbook is the gate.
 */
export function judge(errors: Record<string, ErrorStats>, scoreStd = 1, dtype: Dtype = 'float32'): string | null {
  const problems: string[] = [];
  for (const [name, e] of Object.entries(errors)) {
    if (e.unwritten > 0) problems.push(`${name}: ${e.unwritten} elements never written`);
    if (e.nonFinite > 0) problems.push(`${name}: ${e.nonFinite} non-finite where the reference is finite`);
    const tol = TOLERANCE[name as OutputName];
    if (scoreStd === 1 && dtype === 'float32' && e.relL2 !== null && tol !== undefined && e.relL2 > tol) problems.push(`${name}: relL2 ${e.relL2.toExponential(2)} > ${tol}`);
  }
  return problems.length > 0 ? problems.join('; ') : null;
}

function pick(errors: Partial<Record<OutputName, ErrorStats>>, names: readonly OutputName[]): Record<string, ErrorStats> {
  const out: Record<string, ErrorStats> = {};
  for (const n of names) if (errors[n]) out[n] = errors[n];
  return out;
}

const isOutOfMemory = (message: string): boolean => /out of memory|\boom\b|cannot allocate|allocation|too large|exceeds/i.test(message);
/** A peer's kernel that does not take the problem says so at open (torch: 'SDPA refuses it: …'): a skip. */
const isRefusal = (message: string): boolean => isOutOfMemory(message) || /\brefuses\b/.test(message);

/** The variants our kernel packages name (a backend listing none of them is a peer with its own). */
const OUR_VARIANTS: readonly string[] = ['naive', 'tiled', 'exact'];

export class Sweep {
  readonly records: PointRecord[] = [];
  interrupted = false;

  constructor(
    private readonly config: SweepConfig,
    readonly metadata: Metadata,
    private readonly backends: readonly LoadedBackend[],
  ) {}

  results(): Results {
    return { schemaVersion: SCHEMA_VERSION, metadata: { ...this.metadata, ...(this.interrupted ? { interrupted: true } : {}) }, records: this.records };
  }

  /** Units of work the progress bar counts: one per problem × usable backend × variant × pipeline. */
  unitCount(): number {
    let n = 0;
    for (const b of this.backends) if (b.backend) n += this.variantsOf(b.backend).length;
    return n * this.config.problems.length * this.config.pipelines.length;
  }

  private variantsOf(backend: Backend): Variant[] {
    const asked = this.config.variants.filter((v) => backend.variants.includes(splitVariant(v).base));
    // a peer's own variants (torch's SDPA backends, none of ours): those asked for, else all of them
    const peerOnly = backend.variants.every((v) => !OUR_VARIANTS.includes(v));
    return asked.length === 0 && peerOnly ? [...backend.variants] : asked;
  }

  private aborted(): boolean {
    return this.config.signal?.aborted ?? false;
  }

  private save(): void {
    if (this.config.outPath) writeResults(this.config.outPath, this.results());
  }

  add(records: PointRecord[]): void {
    this.records.push(...records);
    this.save();
  }

  async run(): Promise<Results> {
    const { problems, pipelines } = this.config;
    this.save();
    for (let i = 0; i < problems.length && !this.aborted(); i++) {
      const { problem, scoreStd } = problems[i]!;
      const seed = problemSeed(this.config.seed, i);
      const inputs = randomInputs(problem, seed, { scoreStd });
      const need: Pipeline = pipelines.includes('bwd') ? 'bwd' : pipelines.includes('fwd') ? 'fwd' : 'lse';
      let reference: ReferenceCheck | Error;
      try {
        reference = await referenceCheck(problem, inputs, need, this.config.sampleRows, seed);
      } catch (e) {
        reference = e instanceof Error ? e : new Error(String(e));
      }
      for (const { name, backend } of this.backends) {
        if (!backend || this.aborted()) continue;
        for (const variant of this.variantsOf(backend)) {
          if (this.aborted()) break;
          await this.runVariant(name, backend, variant, problems[i]!, seed, inputs, reference);
        }
      }
    }
    if (this.aborted()) this.interrupted = true;
    this.save();
    return this.results();
  }

  private base(backend: string, variant: Variant, dtype: string, { problem, scoreStd }: SweepProblem, seed: number) {
    return {
      backend, variant, nq: problem.nq, nk: problem.nk, d: problem.d, bh: problem.bh, causal: problem.causal, dtype, seed,
      ...(scoreStd !== 1 ? { scoreStd } : {}),
    };
  }

  private skipAll(plan: (p: Pipeline) => RecordPlan, base: ReturnType<Sweep['base']>, status: 'skipped' | 'failed', reason: string, bytes: number | null = null): PointRecord[] {
    const out: PointRecord[] = [];
    for (const pipeline of this.config.pipelines) {
      for (const { stage } of plan(pipeline)) {
        out.push({ ...base, pipeline, stage, status, reason, error: null, timing: null, tflops: null, bytes, flashRule: null });
      }
    }
    return out;
  }

  private async runVariant(
    name: string,
    backend: Backend,
    variant: Variant,
    point: SweepProblem,
    seed: number,
    inputs: ReturnType<typeof randomInputs>,
    reference: ReferenceCheck | Error,
  ): Promise<void> {
    const { problem, scoreStd } = point;
    // the problem's storage dtype, for every variant (the exact reference computes in float64 from inputs rounded to it)
    const dtype = problem.dtype;
    const base = this.base(name, variant, dtype, point, seed);
    const label = `${name}/${variant} ${problemLabel(problem, scoreStd)}`;
    const progress = this.config.progress;
    const units = this.config.pipelines.length;
    const finishAll = (outcome: string): void => {
      for (let u = 0; u < units; u++) progress?.step(label, outcome);
    };
    const plan = (pipeline: Pipeline): RecordPlan => recordPlan(backend, variant, pipeline);

    const refused = backend.check(problem, variant);
    if (refused) {
      this.add(this.skipAll(plan, base, 'skipped', refused));
      finishAll(`skipped: ${refused}`);
      return;
    }
    progress?.start(`${label} opening`);
    let session: Session;
    try {
      session = await backend.open(problem, variant);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const status = isRefusal(message) ? 'skipped' : 'failed';
      this.add(this.skipAll(plan, base, status, `open: ${message}`));
      finishAll(`${status}: ${message}`);
      return;
    }
    try {
      await session.write({ q: inputs.q, k: inputs.k, v: inputs.v, dO: inputs.dO });
      for (const pipeline of this.config.pipelines) {
        if (this.aborted()) break;
        const unitLabel = `${name}/${variant} ${pipeline} ${problemLabel(problem, scoreStd)}`;
        if (plan(pipeline).length === 0) {
          progress?.step(unitLabel, `no ${pipeline} pass: nothing to record`);
          continue;
        }
        progress?.start(unitLabel);
        const records = await this.runPipeline(session, base, pipeline, plan(pipeline), reference);
        this.add(records);
        const failed = records.find((r) => r.status !== 'passed');
        const main = records[0]!;
        progress?.step(
          unitLabel,
          failed ? `${failed.status}: ${failed.reason ?? ''}` : `passed${main.timing ? ` ${main.timing.medianMs.toPrecision(3)} ms` : ''}`,
        );
      }
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.add(this.skipAll(plan, base, 'failed', `${label}: ${message}`, session.deviceBytes));
    } finally {
      await session.dispose().catch(() => undefined);
    }
  }

  private async runPipeline(
    session: Session,
    base: ReturnType<Sweep['base']>,
    pipeline: Pipeline,
    plan: RecordPlan,
    reference: ReferenceCheck | Error,
  ): Promise<PointRecord[]> {
    const problem = session.problem;
    const stages = PIPELINE_STAGES[pipeline];
    const bytes = session.deviceBytes;
    const outputs = stages.flatMap((s) => STAGE_OUTPUTS[s]);

    // correctness: poison, run, read back, compare
    let errors: Partial<Record<OutputName, ErrorStats>> | null = null;
    let runError: string | null = null;
    try {
      await session.poison();
      await session.run(stages);
      const read = (await session.read(outputs)) as Record<OutputName, FloatArray>;
      if (!(reference instanceof Error)) errors = await reference.compare(read);
    } catch (e) {
      runError = e instanceof Error ? e.message : String(e);
    }

    // timing, unless the run itself failed
    let timed: Awaited<ReturnType<typeof timeStages>> | null = null;
    let timingError: string | null = null;
    if (this.config.timing && !runError) {
      try {
        timed = await timeStages(session, TIMED_STAGES[pipeline], { ...this.config.timing, ...(this.config.signal ? { signal: this.config.signal } : {}) });
      } catch (e) {
        if (!(e instanceof TimingAborted)) timingError = e instanceof Error ? e.message : String(e);
      }
    }

    return plan.map(({ stage, outputs: judged }) => {
      const error = errors ? pick(errors, judged) : null;
      // the exact (float64) reference backend is the yardstick's own truth: no rule
      const rule = error && base.variant !== 'exact' ? textbookRule(error, problem.dtype) : null;
      let timing: TimingStats | null = null;
      if (timed) timing = stage === 'fwd' || pipeline !== 'fwd' ? timed.total : (timed.perStage[stage as KernelStage] ?? null);
      const reasons: string[] = [];
      if (runError) reasons.push(`run failed: ${runError}`);
      if (reference instanceof Error) reasons.push(`not checked: ${reference.message}`);
      const bad = error ? judge(error, base.scoreStd ?? 1, problem.dtype) : null;
      if (bad) reasons.push(bad);
      if (rule && !rule.passed) reasons.push(`FlashAttention rule: ${describeRule({ ...rule, output: rule.output as OutputName, metric: rule.metric!, maxAbs: rule.maxAbs!, textbookMaxAbs: rule.textbookMaxAbs!, l2: rule.l2!, textbookL2: rule.textbookL2! })}`);
      if (timingError) reasons.push(`timing failed: ${timingError}`);
      const failed = reasons.length > 0;
      const record: PointRecord = {
        ...base,
        pipeline,
        stage,
        status: failed ? 'failed' : 'passed',
        ...(failed ? { reason: `${reasons.join('; ')} (seed ${base.seed})` } : {}),
        ...(reference instanceof Error ? {} : { checked: reference.checked }),
        ...(session.kernels ? { kernels: session.kernels } : {}),
        error,
        timing,
        tflops: timing ? flops(problem, stage) / (timing.medianMs * 1e-3) / 1e12 : null,
        bytes,
        flashRule: rule,
      };
      return record;
    });
  }
}
