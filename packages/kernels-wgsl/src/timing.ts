/**
 * Timing of stages on the device: timestamp queries at the start and end of each stage's compute pass, several
 * runs per submit, warm-up runs discarded; wall clock (flagged 'wall') around each stage's own submit when the
 * adapter has no timestamp-query. Cold L2 (options.l2 'cold'): a clearBuffer of L2_SCRUB_BYTES before each timed
 * run, outside its timestamps (or its wall-clock interval).
 */
import type { KernelStage, StageTimings, TimeOptions } from '@attn/reference';
import type { GpuContext } from './dawn.js';
import { scoped, unlessLost } from './errors.js';

/** Encodes one stage as one compute pass; timestamp writes when given. */
export type EncodeStage = (encoder: GPUCommandEncoder, stage: KernelStage, timestamps?: GPUComputePassTimestampWrites) => void;

export const RUNS_PER_SUBMIT = 8;

/**
 * Bytes overwritten before each timed run in cold-L2 mode. WebGPU does not tell the cache size, so this is over twice
 * any current GPU's L2 (H100 50 MiB, H200 60 MiB); capped by the adapter's maxBufferSize.
 */
export const L2_SCRUB_BYTES = 256 * 2 ** 20;

/** One scrub buffer per device, made on first use and kept while the device lives. */
const scrubBuffers = new WeakMap<GPUDevice, GPUBuffer>();

async function scrubBuffer(ctx: GpuContext, what: string): Promise<GPUBuffer> {
  let buffer = scrubBuffers.get(ctx.device);
  if (!buffer) {
    const size = Math.min(L2_SCRUB_BYTES, ctx.device.limits.maxBufferSize) & ~3;
    buffer = await scoped(ctx, `${what}: L2 scrub buffer`, () => ctx.device.createBuffer({ size, usage: GPUBufferUsage.COPY_DST, label: 'L2 scrub' }));
    scrubBuffers.set(ctx.device, buffer);
  }
  return buffer;
}

export async function submitAndWait(ctx: GpuContext, what: string, build: (encoder: GPUCommandEncoder) => void): Promise<void> {
  await scoped(ctx, what, () => {
    const encoder = ctx.device.createCommandEncoder();
    build(encoder);
    ctx.device.queue.submit([encoder.finish()]);
  });
  await unlessLost(ctx, what, ctx.device.queue.onSubmittedWorkDone());
}

export async function timeStages(
  ctx: GpuContext,
  what: string,
  stages: readonly KernelStage[],
  options: TimeOptions,
  encode: EncodeStage,
  timestamps: boolean,
): Promise<StageTimings> {
  const warmup = Math.max(0, Math.floor(options.warmup));
  const samples = Math.max(1, Math.floor(options.samples));
  for (let w = 0; w < warmup; w += RUNS_PER_SUBMIT) {
    const n = Math.min(RUNS_PER_SUBMIT, warmup - w);
    await submitAndWait(ctx, `${what} (warm-up)`, (enc) => {
      for (let r = 0; r < n; r++) for (const s of stages) encode(enc, s);
    });
  }
  const scrub = options.l2 === 'cold' ? await scrubBuffer(ctx, what) : null;
  const t = timestamps ? await timestamped(ctx, what, stages, samples, encode, scrub) : await wall(ctx, what, stages, samples, encode, scrub);
  return { ...t, l2: scrub ? 'cold' : 'warm' };
}

async function timestamped(
  ctx: GpuContext,
  what: string,
  stages: readonly KernelStage[],
  samples: number,
  encode: EncodeStage,
  scrub: GPUBuffer | null,
): Promise<StageTimings> {
  const device = ctx.device;
  const count = 2 * stages.length * RUNS_PER_SUBMIT;
  const [querySet, resolve, readback] = await scoped(ctx, `${what}: timestamp buffers`, () => [
    device.createQuerySet({ type: 'timestamp', count }),
    device.createBuffer({ size: 8 * count, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC }),
    device.createBuffer({ size: 8 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST }),
  ] as const);
  const totalMs: number[] = [];
  const perStageMs: Partial<Record<KernelStage, number[]>> = {};
  for (const s of stages) perStageMs[s] = [];
  try {
    for (let done = 0; done < samples; done += RUNS_PER_SUBMIT) {
      const runs = Math.min(RUNS_PER_SUBMIT, samples - done);
      const used = 2 * stages.length * runs;
      await submitAndWait(ctx, what, (enc) => {
        let q = 0;
        for (let r = 0; r < runs; r++) {
          if (scrub) enc.clearBuffer(scrub);
          for (const s of stages) {
            encode(enc, s, { querySet, beginningOfPassWriteIndex: q, endOfPassWriteIndex: q + 1 });
            q += 2;
          }
        }
        enc.resolveQuerySet(querySet, 0, used, resolve, 0);
        enc.copyBufferToBuffer(resolve, 0, readback, 0, 8 * used);
      });
      await unlessLost(ctx, `${what}: reading timestamps`, readback.mapAsync(GPUMapMode.READ, 0, 8 * used));
      const ns = new BigInt64Array(readback.getMappedRange(0, 8 * used).slice(0));
      readback.unmap();
      let q = 0;
      for (let r = 0; r < runs; r++) {
        const first = ns[q]!;
        let last = first;
        for (const s of stages) {
          perStageMs[s]!.push(Number(ns[q + 1]! - ns[q]!) / 1e6);
          last = ns[q + 1]!;
          q += 2;
        }
        totalMs.push(Number(last - first) / 1e6);
      }
    }
  } finally {
    querySet.destroy();
    resolve.destroy();
    readback.destroy();
  }
  return { source: 'gpu-timer', totalMs, perStageMs };
}

async function wall(
  ctx: GpuContext,
  what: string,
  stages: readonly KernelStage[],
  samples: number,
  encode: EncodeStage,
  scrub: GPUBuffer | null,
): Promise<StageTimings> {
  const totalMs: number[] = [];
  const perStageMs: Partial<Record<KernelStage, number[]>> = {};
  for (const s of stages) perStageMs[s] = [];
  for (let i = 0; i < samples; i++) {
    if (scrub) await submitAndWait(ctx, `${what} (L2 scrub)`, (enc) => enc.clearBuffer(scrub));
    let total = 0;
    for (const s of stages) {
      const t0 = performance.now();
      await submitAndWait(ctx, what, (enc) => encode(enc, s));
      const ms = performance.now() - t0;
      perStageMs[s]!.push(ms);
      total += ms;
    }
    totalMs.push(total);
  }
  return { source: 'wall', totalMs, perStageMs };
}
