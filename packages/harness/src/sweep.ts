/**
 * The sweep: for every problem, draw inputs once, compute the float64 reference once, then for every backend ×
 * variant × pipeline check the outputs against it and (unless correctness-only) time the stages. Every finished
 * unit is written to results.json at once, so a crash or Ctrl-C loses nothing already measured.
 */
import type { Backend, FloatArray, KernelStage, OutputName, Pipeline, Problem, Session, Variant } from '@attn/reference';
import { flops, PIPELINE_STAGES, randomInputs, STAGE_OUTPUTS, TOLERANCE } from '@attn/reference';
import type { BackendName } from './backends.js';
import type { ShapeBlock, TimingDefaults } from './presets.js';
import type { Progress } from './progress.js';
import type { ReferenceCheck } from './reference-check.js';
import { referenceCheck } from './reference-check.js';
import type { ErrorStats, FlashRule, Metadata, PointRecord, RecordStage, Results, TimingStats } from './results.js';
import { SCHEMA_VERSION, writeResults } from './results.js';
import { makeProblem } from '@attn/reference';
import { TimingAborted, timeStages } from './timing.js';

export interface SweepConfig {
  backends: readonly BackendName[];
  variants: readonly Variant[];
  pipelines: readonly Pipeline[];
  problems: readonly Problem[];
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
export function expandBlocks(blocks: readonly ShapeBlock[]): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const b of blocks) {
    for (const bh of b.bh) {
      for (const d of b.ds) {
        for (const causal of b.causal) {
          for (const [nq, nk] of b.sizes) {
            const key = `${bh} ${nq} ${nk} ${d} ${causal}`;
            if (seen.has(key)) continue;
            seen.add(key);
            out.push(makeProblem({ bh, nq, nk, d, causal }));
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

export function problemLabel(p: Problem): string {
  const n = p.nq === p.nk ? `N=${p.nq}` : `Nq=${p.nq} Nk=${p.nk}`;
  return `${n} d=${p.d} bh=${p.bh}${p.causal ? ' causal' : ''}`;
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

/**
 * Absolute floor of the FlashAttention rule: a few float32 ulps of the problem's output scale. The scale is the
 * largest reference magnitude among the stage's outputs, not the output's own: a gradient that cancels to exactly
 * zero (dK when one query sees one key: dS = P·(dP − D) with D = dP) still carries rounding of its terms' size.
 */
export function flashFloor(refMaxAbs: number | undefined): number {
  return 4 * 2 ** -23 * Math.max(refMaxAbs ?? 1, 1e-3);
}

export function flashRule(tiled: Record<string, ErrorStats>, naive: Record<string, ErrorStats>): FlashRule | null {
  const scale = Math.max(...Object.values(tiled).map((t) => t.refMaxAbs ?? 0));
  const floor = flashFloor(scale);
  let worst: FlashRule | null = null;
  for (const [output, t] of Object.entries(tiled)) {
    const n = naive[output];
    if (!n || t.maxAbs === null || n.maxAbs === null) continue;
    const ratio = t.maxAbs / (2 * n.maxAbs + floor);
    if (!worst || ratio > worst.ratio) worst = { ratio, passed: ratio <= 1, output, tiledMaxAbs: t.maxAbs, naiveMaxAbs: n.maxAbs, floor };
  }
  return worst;
}

/** Why these errors fail (non-finite, unwritten, over tolerance), or null. */
export function judge(errors: Record<string, ErrorStats>): string | null {
  const problems: string[] = [];
  for (const [name, e] of Object.entries(errors)) {
    if (e.unwritten > 0) problems.push(`${name}: ${e.unwritten} elements never written`);
    if (e.nonFinite > 0) problems.push(`${name}: ${e.nonFinite} non-finite where the reference is finite`);
    const tol = TOLERANCE[name as OutputName];
    if (e.relL2 !== null && tol !== undefined && e.relL2 > tol) problems.push(`${name}: relL2 ${e.relL2.toExponential(2)} > ${tol}`);
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

export class Sweep {
  readonly records: PointRecord[] = [];
  interrupted = false;
  /** naive errors per backend|pipeline of the current problem, for the FlashAttention rule */
  private naiveErrors = new Map<string, Partial<Record<OutputName, ErrorStats>>>();

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
    // naive first: the tiled variant's FlashAttention rule needs its errors on the same inputs
    const order: Variant[] = ['naive', 'exact', 'tiled'];
    const ours = order.filter((v) => this.config.variants.includes(v) && backend.variants.includes(v));
    // a peer's own variants (torch's SDPA backends): those asked for, else all of them
    const own = backend.variants.filter((v) => !order.includes(v));
    const asked = own.filter((v) => this.config.variants.includes(v));
    return [...ours, ...(asked.length ? asked : own)];
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
      const problem = problems[i]!;
      const seed = problemSeed(this.config.seed, i);
      const inputs = randomInputs(problem, seed);
      const need: Pipeline = pipelines.includes('bwd') ? 'bwd' : pipelines.includes('fwd') ? 'fwd' : 'lse';
      let reference: ReferenceCheck | Error;
      try {
        reference = await referenceCheck(problem, inputs, need, this.config.sampleRows, seed);
      } catch (e) {
        reference = e instanceof Error ? e : new Error(String(e));
      }
      this.naiveErrors.clear();
      for (const { name, backend } of this.backends) {
        if (!backend || this.aborted()) continue;
        for (const variant of this.variantsOf(backend)) {
          if (this.aborted()) break;
          await this.runVariant(name, backend, variant, problem, seed, inputs, reference);
        }
      }
    }
    if (this.aborted()) this.interrupted = true;
    this.save();
    return this.results();
  }

  private base(backend: string, variant: Variant, dtype: string, problem: Problem, seed: number) {
    return { backend, variant, nq: problem.nq, nk: problem.nk, d: problem.d, bh: problem.bh, causal: problem.causal, dtype, seed };
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
    problem: Problem,
    seed: number,
    inputs: ReturnType<typeof randomInputs>,
    reference: ReferenceCheck | Error,
  ): Promise<void> {
    const dtype = variant === 'exact' ? 'float64' : 'float32';
    const base = this.base(name, variant, dtype, problem, seed);
    const label = `${name}/${variant} ${problemLabel(problem)}`;
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
        const unitLabel = `${name}/${variant} ${pipeline} ${problemLabel(problem)}`;
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
    const key = `${base.backend}|${pipeline}`;
    if (base.variant === 'naive' && errors) this.naiveErrors.set(key, errors);
    const naive = base.variant === 'tiled' ? this.naiveErrors.get(key) : undefined;

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
      const rule = error && naive ? flashRule(error, pick(naive, judged)) : null;
      let timing: TimingStats | null = null;
      if (timed) timing = stage === 'fwd' || pipeline !== 'fwd' ? timed.total : (timed.perStage[stage as KernelStage] ?? null);
      const reasons: string[] = [];
      if (runError) reasons.push(`run failed: ${runError}`);
      if (reference instanceof Error) reasons.push(`not checked: ${reference.message}`);
      const bad = error ? judge(error) : null;
      if (bad) reasons.push(bad);
      if (rule && !rule.passed) reasons.push(`FlashAttention rule: ${rule.output} maxAbs ${rule.tiledMaxAbs.toExponential(2)} > 2 × naive ${rule.naiveMaxAbs.toExponential(2)} + ${rule.floor.toExponential(1)}`);
      if (timingError) reasons.push(`timing failed: ${timingError}`);
      const failed = reasons.length > 0;
      const record: PointRecord = {
        ...base,
        pipeline,
        stage,
        status: failed ? 'failed' : 'passed',
        ...(failed ? { reason: `${reasons.join('; ')} (seed ${base.seed})` } : {}),
        ...(reference instanceof Error ? {} : { checked: reference.checked }),
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
