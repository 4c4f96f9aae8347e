// Pipelines are compiled once per (shader, entry point, tile config) per device; compile errors name the file.
import { afterAll, describe, expect, it } from 'vitest';
import { gpuContext, releaseGpu } from '../src/dawn.js';
import { pipeline } from '../src/pipelines.js';
import { pickTiles, tileConstants, tileKey } from '../src/tiling.js';
import { skipGpu } from './_helpers.js';

afterAll(() => releaseGpu());

describe.skipIf(skipGpu)('pipeline cache', () => {
  it('returns the cached pipeline for the same key and compiles a new one for another tile config', async () => {
    const ctx = await gpuContext();
    if (typeof ctx === 'string') throw new Error(ctx);
    const a = pickTiles('lse', 8, 8, { workgroupBytes: 8192, invocations: 256, unroll: false })!;
    const b = pickTiles('lse', 8, 8, { workgroupBytes: 4096, invocations: 256, unroll: false })!;
    expect(tileKey(a)).not.toBe(tileKey(b));
    const p1 = await pipeline(ctx, 'lse_tiled.wgsl', 'main', tileConstants(a), tileKey(a));
    const p2 = await pipeline(ctx, 'lse_tiled.wgsl', 'main', tileConstants(a), tileKey(a));
    const p3 = await pipeline(ctx, 'lse_tiled.wgsl', 'main', tileConstants(b), tileKey(b));
    expect(p2).toBe(p1);
    expect(p3).not.toBe(p1);
  });

  it('a shader that does not compile gives a JS error naming the file and line', async () => {
    const ctx = await gpuContext();
    if (typeof ctx === 'string') throw new Error(ctx);
    // the tiled shader without its generated constants cannot compile: D, BR, … are undeclared
    await expect(pipeline(ctx, 'forward_tiled.wgsl', 'main', '', 'no-constants')).rejects.toThrow(
      /WGSL compile error in forward_tiled\.wgsl \(entry main, no-constants\): forward_tiled\.wgsl:\d+:\d+: /,
    );
  });
});
