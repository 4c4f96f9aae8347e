/** One problem size on the device: its buffers, bind groups and the stages of one variant. */
import type {
  FloatArray, InputName, KernelStage, OutputName, Problem, Session, StageTimings, TimeOptions, Variant,
} from '@attn/reference';
import { BackendError, POISON_F16_BITS, POISON_F32_BITS, describeProblem, tensorSize } from '@attn/reference';
import type { GpuContext } from './dawn.js';
import { scoped, unlessLost } from './errors.js';
import { pipeline } from './pipelines.js';
import { describeStageKernels, deviceSuffix } from './describe.js';
import { fromHalfBits, toHalfBits } from './half.js';
import type { BufferName, Dispatch, TiledPlan, WgslVariant } from './plan.js';
import { BINDING, anyTileConstants, anyTileKey, bufferBytes, gridFor, hostLseBuffer, isHalfBuffer, isMatrixTile, stagePlan } from './plan.js';
import { submitAndWait, timeStages } from './timing.js';

const INPUTS: readonly InputName[] = ['q', 'k', 'v', 'dO', 'lse', 'o'];
const OUTPUTS: readonly OutputName[] = ['lse', 'o', 'dq', 'dk', 'dv'];
const STAGES: readonly KernelStage[] = ['lse', 'forward', 'backward'];

interface Prepared {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  grid: [number, number];
}

export interface SessionParts {
  ctx: GpuContext;
  problem: Problem;
  /** as asked for, e.g. 'tiled@fwd3' */
  variant: Variant;
  base: WgslVariant;
  /** tiled: each stage's version, fallback and tiles */
  plan: TiledPlan | null;
  buffers: Map<BufferName, GPUBuffer>;
  /** time with timestamp queries (else the wall clock) */
  timestamps: boolean;
  /** called by dispose with the buffers to pool */
  release(buffers: GPUBuffer[]): void;
}

/** `h` with one zero appended when its length is odd (so its bytes are a multiple of 4). */
function padded(h: Uint16Array): Uint16Array {
  if (h.length % 2 === 0) return h;
  const out = new Uint16Array(h.length + 1);
  out.set(h);
  return out;
}

export class WgslSession implements Session {
  readonly problem: Problem;
  readonly variant: Variant;
  /**
   * tiled: what each stage runs for this problem (version, fallback, tiles) and the device's suffix (clamps off,
   * float16 with its feature and toggles); naive: 'naive' and the suffix where there is one, else absent
   */
  readonly kernels?: Partial<Record<KernelStage, string>>;
  readonly deviceBytes: number;
  private readonly ctx: GpuContext;
  private readonly buffers: Map<BufferName, GPUBuffer>;
  private readonly base: WgslVariant;
  private readonly plan: TiledPlan | null;
  private readonly release: (buffers: GPUBuffer[]) => void;
  private readonly timestamps: boolean;
  private readonly prepared = new Map<KernelStage, Promise<Prepared[]>>();
  private readonly where: string;
  private disposed = false;

  constructor(parts: SessionParts) {
    this.ctx = parts.ctx;
    this.problem = parts.problem;
    this.variant = parts.variant;
    this.base = parts.base;
    this.plan = parts.plan;
    const suffix = deviceSuffix(parts.ctx);
    if (parts.plan) {
      const plan = parts.plan;
      this.kernels = Object.fromEntries(STAGES.map((s) => [s, describeStageKernels(plan[s], suffix)]));
    } else if (suffix) {
      this.kernels = Object.fromEntries(STAGES.map((s) => [s, `naive${suffix}`]));
    }
    this.buffers = parts.buffers;
    this.release = parts.release;
    this.timestamps = parts.timestamps;
    this.deviceBytes = [...parts.buffers.values()].reduce((sum, b) => sum + b.size, 0);
    this.where = `wgsl ${parts.variant} (${describeProblem(parts.problem)})`;
  }

  private live(what: string): void {
    if (this.disposed) throw new Error(`${this.where}: ${what} after dispose()`);
  }

  private buffer(name: BufferName): GPUBuffer {
    const b = this.buffers.get(name);
    if (!b) throw new Error(`${this.where}: no buffer '${name}'`);
    return b;
  }

  /**
   * Tensors of a float16 problem go to the device as float16, rounded to nearest even from their float32 value (the
   * reference's inputs are already float16 values: exact); lse stays float32.
   */
  async write(tensors: Partial<Record<InputName, FloatArray>>): Promise<void> {
    this.live('write');
    const data: [InputName, Float32Array | Uint16Array][] = [];
    for (const [name, array] of Object.entries(tensors) as [string, FloatArray | undefined][]) {
      if (array === undefined) continue;
      if (!(INPUTS as readonly string[]).includes(name)) throw new BackendError(`write: '${name}' is not an input (inputs: ${INPUTS.join(', ')})`);
      const input = name as InputName;
      if (!(array instanceof Float32Array || array instanceof Float64Array)) throw new BackendError(`write: ${input} must be a Float32Array or Float64Array`);
      const size = tensorSize(this.problem, input);
      if (array.length !== size) throw new BackendError(`write: ${input} has ${array.length} elements, ${describeProblem(this.problem)} needs ${size}`);
      // any float32 value is taken, NaN and ±inf included, as a kernel takes it: the caller decides what it accepts
      const f32 = array instanceof Float32Array ? array : Float32Array.from(array);
      if (input === 'lse') data.push([input, hostLseBuffer(f32)]);
      // a copy is a whole number of 4-byte words: an odd count of float16 values gets a zero pad (the buffer has room)
      else if (isHalfBuffer(this.problem, input)) data.push([input, padded(toHalfBits(f32))]);
      else data.push([input, f32]);
    }
    await scoped(this.ctx, `${this.where}: write`, () => {
      for (const [name, a] of data) this.ctx.device.queue.writeBuffer(this.buffer(name), 0, a.buffer, a.byteOffset, a.byteLength);
    });
  }

  async poison(): Promise<void> {
    this.live('poison');
    await scoped(this.ctx, `${this.where}: poison`, () => {
      for (const name of OUTPUTS) {
        const b = this.buffer(name);
        const fill = isHalfBuffer(this.problem, name) ? new Uint16Array(b.size / 2).fill(POISON_F16_BITS) : new Uint32Array(b.size / 4).fill(POISON_F32_BITS);
        this.ctx.device.queue.writeBuffer(b, 0, fill);
      }
    });
  }

  private checkStages(stages: readonly KernelStage[]): void {
    for (const s of stages) if (!STAGES.includes(s)) throw new BackendError(`unknown stage '${String(s)}' (stages: ${STAGES.join(', ')})`);
  }

  private prepare(stage: KernelStage): Promise<Prepared[]> {
    let p = this.prepared.get(stage);
    if (!p) {
      p = Promise.all(stagePlan(this.problem, this.base, stage, this.plan).map((d) => this.prepareDispatch(stage, d)));
      p.catch(() => this.prepared.delete(stage));
      this.prepared.set(stage, p);
    }
    return p;
  }

  private async prepareDispatch(stage: KernelStage, d: Dispatch): Promise<Prepared> {
    const constants = d.tiles ? anyTileConstants(d.tiles) : '';
    const matrix = d.tiles && isMatrixTile(d.tiles) ? d.tiles : undefined;
    const pipe = await pipeline(this.ctx, d.file, d.entry, constants, d.tiles ? anyTileKey(d.tiles) : '', d.unroll, d.half, matrix);
    const grid = gridFor(d.items, this.ctx.device.limits.maxComputeWorkgroupsPerDimension);
    if (!grid) throw new BackendError(`${this.where}: ${d.file} needs ${d.items} workgroups, more than the adapter can dispatch`);
    const bindGroup = await scoped(this.ctx, `${this.where}: bind group for ${d.file} ${d.entry} (stage ${stage})`, () =>
      this.ctx.device.createBindGroup({
        layout: pipe.getBindGroupLayout(0),
        entries: d.bindings.map((name) => ({ binding: BINDING[name], resource: { buffer: this.buffer(name) } })),
      }),
    );
    return { pipeline: pipe, bindGroup, grid };
  }

  private async encoderFor(stages: readonly KernelStage[]): Promise<(enc: GPUCommandEncoder, stage: KernelStage, ts?: GPUComputePassTimestampWrites) => void> {
    this.checkStages(stages);
    const ready = new Map<KernelStage, Prepared[]>();
    for (const s of stages) ready.set(s, await this.prepare(s));
    return (enc, stage, ts) => {
      const pass = enc.beginComputePass(ts ? { timestampWrites: ts } : {});
      for (const p of ready.get(stage)!) {
        pass.setPipeline(p.pipeline);
        pass.setBindGroup(0, p.bindGroup);
        pass.dispatchWorkgroups(p.grid[0], p.grid[1]);
      }
      pass.end();
    };
  }

  async run(stages: readonly KernelStage[]): Promise<void> {
    this.live('run');
    const encode = await this.encoderFor(stages);
    await submitAndWait(this.ctx, `${this.where}: run ${stages.join('+')}`, (enc) => {
      for (const s of stages) encode(enc, s);
    });
  }

  async read<N extends OutputName>(names: readonly N[]): Promise<Record<N, FloatArray>> {
    this.live('read');
    for (const n of names) if (!OUTPUTS.includes(n)) throw new BackendError(`read: '${String(n)}' is not an output (outputs: ${OUTPUTS.join(', ')})`);
    const out = {} as Record<N, FloatArray>;
    // one staging buffer per tensor: a single one for all could pass the adapter's maxBufferSize on large problems
    for (const n of names) out[n] = await this.readOne(n);
    return out;
  }

  /** An output as float32: a float16 one widened exactly (its poison to the pattern countPoisoned recognises). */
  private async readOne(name: OutputName): Promise<Float32Array> {
    const what = `${this.where}: read ${name}`;
    const b = this.buffer(name);
    // the tensor is the buffer's first block (lse: the public lse, before a_ref and c)
    const size = tensorSize(this.problem, name);
    const half = isHalfBuffer(this.problem, name);
    const bytes = bufferBytes(this.problem, name, size);
    const staging = await scoped(this.ctx, what, () =>
      this.ctx.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: what }),
    );
    try {
      await submitAndWait(this.ctx, what, (enc) => enc.copyBufferToBuffer(b, 0, staging, 0, bytes));
      await unlessLost(this.ctx, what, staging.mapAsync(GPUMapMode.READ));
      const mapped = staging.getMappedRange().slice(0);
      staging.unmap();
      return half ? fromHalfBits(new Uint16Array(mapped, 0, size)) : new Float32Array(mapped);
    } finally {
      staging.destroy();
    }
  }

  async time(stages: readonly KernelStage[], options: TimeOptions): Promise<StageTimings> {
    this.live('time');
    const encode = await this.encoderFor(stages);
    return timeStages(this.ctx, `${this.where}: time ${stages.join('+')}`, stages, options, encode, this.timestamps);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.release([...this.buffers.values()]);
    this.buffers.clear();
  }
}
