/** Compiled pipelines, one per (shader file, entry point, tile config, storage) per device; compile errors name the file. */
import type { GpuContext } from './dawn.js';
import { firstLine, scoped } from './errors.js';
import type { MatrixTileConfig } from './sgmat.js';
import type { UnrollChoice } from './shader-source.js';
import { composeShader } from './shader-source.js';

const cache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

async function compile(
  ctx: GpuContext,
  file: string,
  entry: string,
  constants: string,
  label: string,
  unroll: UnrollChoice,
  half: boolean,
  matrix: MatrixTileConfig | undefined,
): Promise<GPUComputePipeline> {
  const { code, prefixLines } = composeShader(file, constants, unroll, half, matrix);
  const module = ctx.device.createShaderModule({ code, label });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length > 0) {
    const lines = errors.map((m) => {
      const where = m.lineNum > prefixLines ? `${file}:${m.lineNum - prefixLines}:${m.linePos}` : `generated prefix line ${m.lineNum}`;
      return `${where}: ${firstLine(m.message)}`;
    });
    throw new Error(`WGSL compile error in ${label}: ${lines.join('; ')}`);
  }
  try {
    return await scoped(ctx, `creating pipeline ${label}`, () =>
      ctx.device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: entry }, label }),
    );
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    throw new Error(message.includes(label) ? message : `creating pipeline ${label}: ${firstLine(message)}`);
  }
}

export function pipeline(
  ctx: GpuContext,
  file: string,
  entry: string,
  constants: string,
  tileKey: string,
  unroll: UnrollChoice = { unroll: false, gpu: false },
  half = false,
  matrix?: MatrixTileConfig,
): Promise<GPUComputePipeline> {
  let perDevice = cache.get(ctx.device);
  if (!perDevice) {
    perDevice = new Map();
    cache.set(ctx.device, perDevice);
  }
  const key = `${file}#${entry}#${tileKey}${half ? '#f16' : ''}`;
  let p = perDevice.get(key);
  if (!p) {
    const label = `${file} (entry ${entry}${tileKey ? `, ${tileKey}` : ''}${half ? ', float16' : ''})`;
    p = compile(ctx, file, entry, constants, label, unroll, half, matrix);
    // a failed compile is not cached, so a fixed shader or a retry compiles again
    p.catch(() => perDevice!.delete(key));
    perDevice.set(key, p);
  }
  return p;
}
