/** Device buffers of one problem size: allocated in error scopes, returned to a pool on dispose and reused by the next session of the same sizes. */
import type { GpuContext } from './dawn.js';
import { scoped } from './errors.js';

export const STORAGE_USAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();

  /** Buffers of these byte sizes, reusing free ones; free ones no request matches are destroyed first. */
  async take(ctx: GpuContext, sizes: readonly number[], usage: number, what: string): Promise<GPUBuffer[]> {
    const wanted = new Map<string, number>();
    for (const s of sizes) wanted.set(`${s}:${usage}`, (wanted.get(`${s}:${usage}`) ?? 0) + 1);
    for (const [key, list] of this.free) {
      const keep = wanted.get(key) ?? 0;
      if (key.endsWith(`:${usage}`)) while (list.length > keep) list.pop()!.destroy();
    }
    const out: GPUBuffer[] = [];
    await scoped(ctx, what, () => {
      for (const size of sizes) {
        const reused = this.free.get(`${size}:${usage}`)?.pop();
        out.push(reused ?? ctx.device.createBuffer({ size, usage, label: what }));
      }
    });
    return out;
  }

  give(buffers: readonly GPUBuffer[]): void {
    for (const b of buffers) {
      const key = `${b.size}:${b.usage}`;
      const list = this.free.get(key) ?? [];
      list.push(b);
      this.free.set(key, list);
    }
  }

  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
  }
}
