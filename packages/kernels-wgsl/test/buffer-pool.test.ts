// Buffers are reused across sessions of the same problem size (the pool), and freed ones of other sizes destroyed.
import { afterAll, describe, expect, it } from 'vitest';
import { BufferPool, STORAGE_USAGE } from '../src/buffers.js';
import { gpuContext, releaseGpu } from '../src/dawn.js';
import { skipGpu } from './_helpers.js';

afterAll(() => releaseGpu());

describe.skipIf(skipGpu)('BufferPool', () => {
  it('hands back the same buffers for the same sizes', async () => {
    const ctx = await gpuContext();
    if (typeof ctx === 'string') throw new Error(ctx);
    const pool = new BufferPool();
    const first = await pool.take(ctx, [64, 128, 64], STORAGE_USAGE, 'test');
    pool.give(first);
    const second = await pool.take(ctx, [128, 64, 64], STORAGE_USAGE, 'test');
    expect(new Set(second)).toEqual(new Set(first));
    pool.give(second);
    const other = await pool.take(ctx, [256], STORAGE_USAGE, 'test');
    expect(other[0]!.size).toBe(256);
    expect(first.some((b) => b === other[0])).toBe(false);
    pool.destroyAll();
  });
});
