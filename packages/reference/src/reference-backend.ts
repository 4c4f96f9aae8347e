/**
 * The float64 reference as a Backend, so the harness runs it exactly like a GPU backend. "Device" memory is
 * float64 tensors on SharedArrayBuffers (the worker pool reads them without copies); times are wall clock.
 */
import { readFileSync } from 'node:fs';
import { constants as bufferConstants } from 'node:buffer';
import { cpus } from 'node:os';
import type { Backend, BackendInfo, FloatArray, InputName, KernelStage, Limits, OutputName, Session, StageTimings, TimeOptions, Variant } from './backend.js';
import { BackendError } from './backend.js';
import { describeProblem } from './describe.js';
import { DTYPES } from './dtype.js';
import type { ParallelOptions } from './parallel.js';
import { closeReferencePool, defaultThreads, sharedFloat64 } from './parallel.js';
import { poisonArray } from './poison.js';
import type { Problem, TensorName } from './problem.js';
import { tensorSize } from './problem.js';
import { backwardStage, forwardStage, lseStage } from './stages.js';

const TENSORS: readonly TensorName[] = ['q', 'k', 'v', 'dO', 'lse', 'o', 'dq', 'dk', 'dv'];
const OUTPUTS: readonly OutputName[] = ['lse', 'o', 'dq', 'dk', 'dv'];
/** what each stage reads */
const STAGE_INPUTS: Readonly<Record<KernelStage, readonly TensorName[]>> = {
  lse: ['q', 'k'],
  forward: ['q', 'k', 'v', 'lse'],
  backward: ['q', 'k', 'v', 'dO', 'lse', 'o'],
};

const LIMITS: Limits = {
  // no head-dim limit of its own: memory is the only bound
  maxD: 1 << 24,
  causal: true,
  maxBufferBytes: bufferConstants.MAX_LENGTH,
};

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@attn/reference' && pkg.version) return pkg.version;
  } catch {
    // bundled: no package.json beside us
  }
  return 'unknown';
}

class ReferenceSession implements Session {
  readonly variant: Variant = 'exact';
  readonly deviceBytes: number;
  private readonly tensors: Record<TensorName, Float64Array>;
  /** tensors holding meaningful values: written, or computed by a stage since the last poison */
  private readonly valid = new Set<TensorName>();
  private disposed = false;

  constructor(
    readonly problem: Problem,
    private readonly parallel: ParallelOptions,
  ) {
    const tensors = {} as Record<TensorName, Float64Array>;
    for (const name of TENSORS) tensors[name] = sharedFloat64(tensorSize(problem, name));
    this.tensors = tensors;
    this.deviceBytes = TENSORS.reduce((sum, name) => sum + tensors[name].byteLength, 0);
    for (const name of OUTPUTS) poisonArray(tensors[name]);
  }

  private alive(what: string): void {
    if (this.disposed) throw new Error(`reference ${what}: the session was disposed`);
  }

  async write(tensors: Partial<Record<InputName, FloatArray>>): Promise<void> {
    this.alive('write');
    for (const [name, a] of Object.entries(tensors) as [InputName, FloatArray | undefined][]) {
      if (!a) continue;
      const target = this.tensors[name];
      if (a.length !== target.length) {
        throw new BackendError(`reference write: ${name} has ${a.length} elements, the problem (${describeProblem(this.problem)}) needs ${target.length}`);
      }
      target.set(a);
      this.valid.add(name);
    }
  }

  async poison(): Promise<void> {
    this.alive('poison');
    for (const name of OUTPUTS) {
      poisonArray(this.tensors[name]);
      this.valid.delete(name);
    }
  }

  private async runStage(stage: KernelStage): Promise<void> {
    const missing = STAGE_INPUTS[stage].filter((name) => !this.valid.has(name));
    if (missing.length > 0) {
      throw new Error(`reference ${stage} on ${describeProblem(this.problem)}: ${missing.join(', ')} not written or computed yet`);
    }
    const p = this.problem;
    const t = this.tensors;
    const x = { q: t.q, k: t.k, v: t.v };
    switch (stage) {
      case 'lse':
        t.lse.set(await lseStage(p, x, null, this.parallel));
        this.valid.add('lse');
        return;
      case 'forward':
        t.o.set(await forwardStage(p, x, null, t.lse, this.parallel));
        this.valid.add('o');
        return;
      case 'backward': {
        const g = await backwardStage(p, x, t.dO, t.lse, t.o, this.parallel);
        t.dq.set(g.dq);
        t.dk.set(g.dk);
        t.dv.set(g.dv);
        for (const name of ['dq', 'dk', 'dv'] as const) this.valid.add(name);
        return;
      }
    }
  }

  async run(stages: readonly KernelStage[]): Promise<void> {
    this.alive('run');
    for (const stage of stages) await this.runStage(stage);
  }

  async read<N extends OutputName>(names: readonly N[]): Promise<Record<N, FloatArray>> {
    this.alive('read');
    const out = {} as Record<N, FloatArray>;
    // new Float64Array(typedArray) of the same type copies bytes, so the poison pattern survives the copy
    for (const name of names) out[name] = new Float64Array(this.tensors[name]);
    return out;
  }

  async time(stages: readonly KernelStage[], options: TimeOptions): Promise<StageTimings> {
    this.alive('time');
    const totalMs: number[] = [];
    const perStageMs: Partial<Record<KernelStage, number[]>> = {};
    for (const stage of stages) perStageMs[stage] = [];
    for (let i = 0; i < options.warmup + options.samples; i++) {
      const start = performance.now();
      const split: number[] = [];
      for (const stage of stages) {
        const t0 = performance.now();
        await this.runStage(stage);
        split.push(performance.now() - t0);
      }
      if (i < options.warmup) continue;
      totalMs.push(performance.now() - start);
      stages.forEach((stage, s) => perStageMs[stage]!.push(split[s]!));
    }
    return { source: 'wall', totalMs, perStageMs };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
  }
}

/** The float64 reference backend. `parallel` overrides the thread count (default: every core) for all sessions. */
export function createReferenceBackend(parallel: ParallelOptions = {}): Backend {
  const check = (problem: Problem, variant: Variant): string | null => {
    if (variant !== 'exact') return `reference: variant '${variant}' is not offered (only 'exact')`;
    if (Math.max(problem.d, problem.dv) > LIMITS.maxD) return `reference: d=${Math.max(problem.d, problem.dv)} is over the limit ${LIMITS.maxD}`;
    for (const name of TENSORS) {
      const bytes = 8 * tensorSize(problem, name);
      if (bytes > LIMITS.maxBufferBytes) {
        return `reference: ${name} of ${describeProblem(problem)} needs ${bytes} bytes as float64, over the ${LIMITS.maxBufferBytes} a typed array may hold`;
      }
    }
    return null;
  };
  return {
    name: 'reference',
    variants: ['exact'],
    async availability() {
      return null;
    },
    async info(): Promise<BackendInfo> {
      const threads = parallel.threads ?? defaultThreads();
      return {
        backend: 'reference',
        version: packageVersion(),
        device: `${cpus()[0]?.model ?? 'CPU'} (${threads} threads)`,
        dtype: 'float64',
        timer: 'wall',
        details: { threads, limits: LIMITS },
      };
    },
    limits(variant: Variant): Limits {
      if (variant !== 'exact') throw new BackendError(`reference: variant '${variant}' is not offered (only 'exact')`);
      return { ...LIMITS };
    },
    check,
    dtypes: (variant: Variant) => (variant === 'exact' ? DTYPES : []),
    async open(problem: Problem, variant: Variant): Promise<Session> {
      const why = check(problem, variant);
      if (why) throw new BackendError(why);
      return new ReferenceSession(problem, parallel);
    },
    async close() {
      await closeReferencePool();
    },
  };
}
