/** A CUDA Session: the contract's methods over the native one (src/binding/session_wrap.cpp). */
import type { FloatArray, InputName, KernelStage, OutputName, Problem, Session, StageTimings, TimeOptions, Variant } from '@attn/reference';
import { roundTo, tensorSize } from '@attn/reference';
import type { AddonSession } from './addon.js';

export class CudaSession implements Session {
  readonly deviceBytes: number;
  /** tiled: what each stage runs for this problem, as the native session planned it (versions, fallbacks, shapes) */
  readonly kernels?: Partial<Record<KernelStage, string>>;
  private disposed = false;

  constructor(
    readonly problem: Problem,
    readonly variant: Variant,
    private readonly native: AddonSession,
    /** the addon scrubs the L2 when asked (Addon.l2Scrub) */
    private readonly l2Scrub: boolean,
    private readonly onDispose: (s: CudaSession) => void,
  ) {
    this.deviceBytes = native.deviceBytes;
    const kernels = native.kernels;
    if (kernels) this.kernels = { lse: kernels.lse, forward: kernels.forward, backward: kernels.backward };
  }

  /**
   * Float32Array goes to the native session straight from its own memory, which rounds a half tensor to the dtype
   * (to nearest even: exact for inputs the reference already rounded). Float64Array needs one conversion: in a half
   * dtype each value is rounded from float64 to the dtype at once (roundTo: rounding through float32 first could round
   * twice), the lse to float32.
   */
  async write(tensors: Partial<Record<InputName, FloatArray>>): Promise<void> {
    const dtype = this.problem.dtype;
    for (const [name, data] of Object.entries(tensors) as [InputName, FloatArray | undefined][]) {
      if (data === undefined) continue;
      if (data instanceof Float32Array) this.native.write(name, data);
      else if (dtype === 'float32' || name === 'lse') this.native.write(name, Float32Array.from(data));
      else this.native.write(name, Float32Array.from(data, (x) => roundTo(dtype, x)));
    }
  }

  async poison(): Promise<void> {
    this.native.poison();
  }

  run(stages: readonly KernelStage[]): Promise<void> {
    return this.native.run(stages);
  }

  /** Float32Array in every dtype: a half output widened exactly (an unwritten element reads as poison.ts's pattern). */
  async read<N extends OutputName>(names: readonly N[]): Promise<Record<N, FloatArray>> {
    const out = {} as Record<N, FloatArray>;
    for (const name of names) {
      const a = new Float32Array(tensorSize(this.problem, name));
      this.native.read(name, a);
      out[name] = a;
    }
    return out;
  }

  async time(stages: readonly KernelStage[], options: TimeOptions): Promise<StageTimings> {
    const cold = options.l2 === 'cold' && this.l2Scrub;
    const t = await this.native.time(stages, options.warmup, options.samples, cold);
    return { source: 'gpu-timer', totalMs: t.totalMs, perStageMs: t.perStageMs, l2: cold ? 'cold' : 'warm' };
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.native.dispose();
    this.onDispose(this);
  }
}
