/**
 * torch scaled_dot_product_attention as a Backend: name 'torch', one variant per SDPA backend (efficient, math,
 * flash, cudnn), in the problem's dtype: float32 with TF32 off (efficient, math), float16 and bfloat16 (all four).
 * The sweep gives it the same inputs, the same timing loop and the same float64 check as our kernels. The work
 * happens in torch_server.py, one long-lived python3 process started on first use (availability) and ended by close().
 *
 * Dtypes: tensors travel as float32 files in every dtype. Inputs of a half dtype are already rounded to it (the
 * contract's inputs are), so the server's conversion on the device is exact, and it refuses a value the dtype does
 * not represent; outputs come back widened to float32 (exact), an unwritten element as the float32 poison.
 *
 * Stages (FusedForward): SDPA is one fused forward, so run(['lse','forward']) is one SDPA call (O, and lse where the
 * kernel keeps one: efficient does, math does not — for math a stand-in lse rebuilt from the same scores comes back
 * so a row-sampled backward check can run, and is not judged); run(['lse']) or run(['forward']) alone is refused;
 * ['backward'] runs on the graph of the session's last forward. time(['lse','forward']) times the fused forward,
 * time(['backward']) the backward alone, each with CUDA events in the server.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  Backend, BackendInfo, FloatArray, FusedForward, InputName, KernelStage, Limits, OutputName, Problem, Session, StageTimings, TimeOptions, Variant,
} from '@attn/reference';
import { BackendError, describeProblem, tensorSize } from '@attn/reference';
import type { Ceilings } from '../results.js';
import type { ServerReply } from './torch-server.js';
import { firstLine, TorchServer } from './torch-server.js';

export const TORCH_VARIANTS = ['efficient', 'math', 'flash', 'cudnn'] as const;
export type TorchVariant = (typeof TORCH_VARIANTS)[number];

/** SDPA backends with no float32 kernel */
const HALF_ONLY: readonly string[] = ['flash', 'cudnn'];

/** The server script beside this module (src/peers from source; the bundle's folder), or ATTN_TORCH_SERVER. */
export function torchServerScript(): string | null {
  const candidates = [
    process.env.ATTN_TORCH_SERVER,
    fileURLToPath(new URL('./torch_server.py', import.meta.url)),
    fileURLToPath(new URL('../../src/peers/torch_server.py', import.meta.url)),
  ];
  return candidates.find((p): p is string => p !== undefined && p !== '' && existsSync(p)) ?? null;
}

export interface TorchBackendOptions {
  /** the server script (default: torchServerScript()) */
  script?: string;
  /** the interpreter (default: ATTN_PYTHON, else python3) */
  python?: string;
  /** where the server's stderr lines go (default: stderr, prefixed) */
  log?: (line: string) => void;
  /** accept a server that says it is a test fake (tests only) */
  allowFake?: boolean;
  /** extra environment for the server process */
  env?: Record<string, string>;
}

interface Hello {
  torch: string;
  device: string;
  driver: string;
  l2CacheBytes?: number;
  multiprocessors?: number;
  python?: string;
  fake?: boolean;
}

export class TorchBackend implements Backend {
  readonly name = 'torch';
  readonly variants: readonly Variant[] = TORCH_VARIANTS;
  readonly fusedForward: FusedForward = { ownOutputs: (variant) => (variant === 'math' ? ['o'] : ['lse', 'o']) };
  private server: TorchServer | null = null;
  private hello: Promise<Hello | string> | null = null;
  private nextId = 1;
  private readonly sessions = new Set<TorchSession>();

  constructor(private readonly options: TorchBackendOptions = {}) {}

  /** The running server, once availability() found it usable. */
  get process(): TorchServer | null {
    return this.server;
  }

  private greet(): Promise<Hello | string> {
    this.hello ??= (async () => {
      const script = this.options.script ?? torchServerScript();
      if (!script) return 'torch_server.py not found (set ATTN_TORCH_SERVER)';
      const log = this.options.log ?? ((line: string) => process.stderr.write(`torch: ${line}\n`));
      const server = new TorchServer(this.options.python ?? process.env.ATTN_PYTHON ?? 'python3', script, log, this.options.env);
      let reply: ServerReply;
      try {
        reply = await server.request('hello');
      } catch (e) {
        await server.close();
        return (e as Error).message;
      }
      const why = !reply.ok
        ? firstLine(reply.error ?? 'the torch server refused hello')
        : reply.fake === true && !this.options.allowFake
          ? `${script} is a test fake (pure Python, no torch), not a peer`
          : null;
      if (why) {
        await server.close();
        return why;
      }
      this.server = server;
      return reply as unknown as Hello;
    })();
    return this.hello;
  }

  async availability(): Promise<string | null> {
    const h = await this.greet();
    return typeof h === 'string' ? h : null;
  }

  private async ready(): Promise<{ server: TorchServer; hello: Hello }> {
    const h = await this.greet();
    if (typeof h === 'string') throw new BackendError(`torch is not available: ${h}`);
    if (!this.server?.alive) throw new BackendError('torch server is no longer running (closed, or it exited)');
    return { server: this.server, hello: h };
  }

  async info(): Promise<BackendInfo> {
    const { hello } = await this.ready();
    return {
      backend: 'torch',
      version: `torch ${hello.torch}`,
      device: hello.device,
      driver: hello.driver,
      dtype: 'float32',
      timer: hello.fake ? 'wall' : 'gpu-timer',
      details: {
        api: "torch.nn.functional.scaled_dot_product_attention under sdpa_kernel([variant]) in the problem's dtype (float32 with TF32 off, float16, bfloat16)",
        transfer: 'float32 files both ways: half inputs converted on the device (exact: they are rounded to the dtype), outputs widened to float32',
        l2CacheBytes: hello.l2CacheBytes ?? null,
        multiprocessors: hello.multiprocessors ?? null,
        python: hello.python ?? null,
        ...(hello.fake ? { fake: true } : {}),
      },
    };
  }

  limits(): Limits {
    // SDPA takes any head dim its kernels accept; a kernel's own refusal comes back at open
    return { maxD: Number.MAX_SAFE_INTEGER, causal: true, maxBufferBytes: Number.MAX_SAFE_INTEGER };
  }

  check(problem: Problem, variant: Variant): string | null {
    if (!(TORCH_VARIANTS as readonly string[]).includes(variant)) return `torch has no SDPA backend '${variant}' (it has: ${TORCH_VARIANTS.join(', ')})`;
    if (HALF_ONLY.includes(variant) && problem.dtype === 'float32') return `torch SDPA ${variant} takes float16/bfloat16 only, not float32`;
    if (problem.causal && problem.nq > problem.nk) {
      return `torch SDPA's bottom-right causal mask gives NaN on the ${problem.nq - problem.nk} query rows that see no key (Nq > Nk), where the contract wants lse = −inf, O = 0`;
    }
    return null;
  }

  async open(problem: Problem, variant: Variant): Promise<Session> {
    const refused = this.check(problem, variant);
    if (refused) throw new BackendError(refused);
    const { server } = await this.ready();
    const id = this.nextId++;
    const where = `torch ${variant} (${describeProblem(problem)})`;
    const { bh, nq, nk, d, dv, scale, causal, dtype } = problem;
    const reply = await server.request('open', { id, variant, problem: { bh, nq, nk, d, dv, scale, causal, dtype } });
    // a refusal says 'refuses' (or 'out of memory'), which the sweep records as a skip
    if (reply.refused) throw new BackendError(`${where}: SDPA refuses it: ${firstLine(reply.refused)}`);
    if (!reply.ok) throw new BackendError(`${where}: open: ${firstLine(reply.error ?? 'failed')}`);
    if (reply.dtype !== dtype) {
      // a server that predates the dtype axis ignores it and runs float32: its numbers would be another problem's
      if (server.alive) await server.request('dispose', { id }).catch(() => undefined);
      throw new BackendError(`${where}: open: the torch server ran ${typeof reply.dtype === 'string' ? reply.dtype : 'no stated dtype'}, not ${dtype} (an older torch_server.py?)`);
    }
    const session = new TorchSession(server, id, problem, variant, Number(reply.deviceBytes ?? 0), where, (s) => this.sessions.delete(s));
    this.sessions.add(session);
    return session;
  }

  /**
   * The card's reachable rates, measured by the server once: a 1 GiB device copy and 8192³ matmuls in fp32, tf32,
   * fp16 and bf16 (TF/s, GB/s counting bytes read and written).
   */
  async ceilings(): Promise<Ceilings> {
    const { server } = await this.ready();
    const reply = await server.request('ceilings');
    if (!reply.ok) throw new BackendError(`torch ceilings: ${firstLine(reply.error ?? 'failed')}`);
    return reply.ceilings as Ceilings;
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) await s.dispose().catch(() => undefined);
    const server = this.server;
    this.server = null;
    this.hello = Promise.resolve('torch backend closed');
    await server?.close();
  }
}

const FUSED_FORWARD = 'lse+forward';
const STAGE_SETS = new Set([FUSED_FORWARD, 'lse+forward+backward', 'backward']);

class TorchSession implements Session {
  private disposed = false;

  constructor(
    private readonly server: TorchServer,
    private readonly id: number,
    readonly problem: Problem,
    readonly variant: Variant,
    /** peak torch allocation over one forward + backward of this problem (inputs, outputs, working memory) */
    readonly deviceBytes: number,
    private readonly where: string,
    private readonly onDispose: (s: TorchSession) => void,
  ) {}

  private async call(op: string, fields: Record<string, unknown> = {}): Promise<ServerReply> {
    if (this.disposed) throw new BackendError(`${this.where}: ${op} after dispose()`);
    let reply: ServerReply;
    try {
      reply = await this.server.request(op, { id: this.id, ...fields });
    } catch (e) {
      throw new BackendError(`${this.where}: ${op}: ${firstLine((e as Error).message)}`);
    }
    if (!reply.ok) throw new BackendError(`${this.where}: ${op}: ${firstLine(reply.refused ?? reply.error ?? 'failed')}`);
    return reply;
  }

  private stageSet(stages: readonly KernelStage[]): void {
    const key = stages.join('+');
    if (!STAGE_SETS.has(key)) throw new BackendError(`${this.where}: SDPA runs lse+forward as one pass, or backward after it; not ${key}`);
  }

  private file(name: string): string {
    return join(this.server.dir, `${this.id}-${name}.f32`);
  }

  async write(tensors: Partial<Record<InputName, FloatArray>>): Promise<void> {
    const files: Record<string, string> = {};
    try {
      for (const [name, data] of Object.entries(tensors) as [InputName, FloatArray | undefined][]) {
        if (data === undefined) continue;
        if (name === 'lse' || name === 'o') throw new BackendError(`${this.where}: write: SDPA computes its own ${name} (inputs: q, k, v, dO)`);
        const size = tensorSize(this.problem, name);
        if (data.length !== size) throw new BackendError(`${this.where}: write: ${name} has ${data.length} elements, the problem needs ${size}`);
        const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
        files[name] = this.file(name);
        writeFileSync(files[name], new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength));
      }
      await this.call('write', { files });
    } finally {
      for (const path of Object.values(files)) rmSync(path, { force: true });
    }
  }

  async poison(): Promise<void> {
    await this.call('poison');
  }

  async run(stages: readonly KernelStage[]): Promise<void> {
    this.stageSet(stages);
    await this.call('run', { stages });
  }

  async read<N extends OutputName>(names: readonly N[]): Promise<Record<N, FloatArray>> {
    const files = Object.fromEntries(names.map((n) => [n, this.file(`out-${n}`)])) as Record<N, string>;
    try {
      await this.call('read', { files });
      const out = {} as Record<N, FloatArray>;
      for (const n of names) {
        const bytes = readFileSync(files[n]);
        const size = tensorSize(this.problem, n);
        if (bytes.length !== 4 * size) throw new BackendError(`${this.where}: read: ${n} came back with ${bytes.length} bytes, not ${4 * size}`);
        const a = new Float32Array(size);
        new Uint8Array(a.buffer).set(bytes);
        out[n] = a;
      }
      return out;
    } finally {
      for (const path of Object.values<string>(files)) rmSync(path, { force: true });
    }
  }

  async time(stages: readonly KernelStage[], options: TimeOptions): Promise<StageTimings> {
    this.stageSet(stages);
    const reply = await this.call('time', { stages, warmup: options.warmup, samples: options.samples, l2: options.l2 ?? 'warm' });
    const totalMs = reply.totalMs as number[];
    if (!Array.isArray(totalMs) || totalMs.length !== options.samples) throw new BackendError(`${this.where}: time: expected ${options.samples} durations`);
    // one stage timed alone is its own split; the fused forward has none
    const perStageMs: StageTimings['perStageMs'] = stages.length === 1 ? { [stages[0]!]: totalMs } : {};
    return { source: reply.source === 'wall' ? 'wall' : 'gpu-timer', totalMs, perStageMs, l2: reply.l2 === 'cold' ? 'cold' : 'warm' };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    try {
      if (this.server.alive) await this.call('dispose');
    } finally {
      this.disposed = true;
      this.onDispose(this);
    }
  }
}

export function createTorchBackend(options: TorchBackendOptions = {}): TorchBackend {
  return new TorchBackend(options);
}
