/** WebGPU errors (error scopes, device loss) as JS errors that name the kernel and the problem. */
import { BackendError } from '@attn/reference';
import type { GpuContext } from './dawn.js';

/** Runs fn inside out-of-memory, validation and internal error scopes; the first error caught becomes a JS error. */
export async function scoped<T>(ctx: GpuContext, what: string, fn: () => T | Promise<T>): Promise<T> {
  const device = ctx.device;
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  device.pushErrorScope('internal');
  let value: T | undefined;
  let thrown: unknown;
  try {
    value = await fn();
  } catch (e) {
    thrown = e;
  }
  const internal = await device.popErrorScope();
  const validation = await device.popErrorScope();
  const oom = await device.popErrorScope();
  if (thrown !== undefined) throw thrown;
  if (oom) throw new BackendError(`${what}: out of device memory: ${firstLine(oom.message)}`);
  if (validation) throw new Error(`${what}: WebGPU validation error: ${firstLine(validation.message)}`);
  if (internal) throw new Error(`${what}: WebGPU internal error: ${firstLine(internal.message)}`);
  return value as T;
}

/** Awaits p, or rejects with the device-lost message if the device goes first. */
export async function unlessLost<T>(ctx: GpuContext, what: string, p: Promise<T>): Promise<T> {
  if (ctx.lostReason) throw new Error(`${what}: ${ctx.lostReason}`);
  try {
    return await Promise.race([p, ctx.lost]);
  } catch (e) {
    if (ctx.lostReason) throw new Error(`${what}: ${ctx.lostReason}`);
    throw e;
  }
}

export function firstLine(message: string): string {
  return message.split('\n').find((l) => l.trim() !== '')?.trim() ?? message;
}
