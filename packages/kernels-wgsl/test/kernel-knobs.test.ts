// The knobs of 'tiled@…' change what runs, and Session.kernels says what did: rows and cols per invocation, the
// invocation cap, the register budget, workgroup memory, the side, unrolled loops; robust=off runs on a second device
// created with Dawn's unsafe toggles, next to the default one. Nothing is read from the environment.
import { makeProblem, randomInputs } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { gpuContext } from '../src/dawn.js';
import { backend, checkShapes, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

const p = makeProblem({ bh: 1, nq: 70, nk: 70, d: 64 });

/** Session.kernels of a variant for p; opening compiles nothing (pipelines are made at the first run). */
async function kernelsOf(variant: string): Promise<Record<string, string>> {
  const s = await backend.open(p, variant);
  try {
    return s.kernels as Record<string, string>;
  } finally {
    await s.dispose();
  }
}

describe.skipIf(skipGpu)('variant knobs', () => {
  it('the defaults on a CPU adapter: version 5, 16 × 16 invocations of 4 rows, runtime loop bounds, clamps on', async () => {
    const k = await kernelsOf('tiled');
    expect(k.lse).toBe('lse5: 64x128 tile, 16x16 invocations of 4x8');
    expect(k.forward).toBe('fwd5: 64x64 tile, 16x16 invocations of 4x4');
    expect(k.backward).toBe('bwd5: dkdv 64x32 tile, 8x16 invocations of 4x4 + dq 64x64 tile, 16x16 invocations of 4x4');
    expect(await kernelsOf('tiled@v5')).toEqual(k);
  });

  it('each knob changes the tiles it names', async () => {
    // lavapipe's 32 KiB fit 8 rows in 16 × 16 invocations for lse only, in 8 × 8 for forward too
    expect((await kernelsOf('tiled@rows=8')).lse).toBe('lse5: 128x128 tile, 16x16 invocations of 8x8');
    expect((await kernelsOf('tiled@rows=8+side=8')).forward).toBe('fwd5: 64x32 tile, 8x8 invocations of 8x4');
    expect((await kernelsOf('tiled@cols=8')).forward).toBe('fwd5: 64x64 tile, 8x16 invocations of 4x8');
    expect((await kernelsOf('tiled@cols=4')).lse).toBe('lse5: 64x64 tile, 16x16 invocations of 4x4');
    expect((await kernelsOf('tiled@side=8')).forward).toBe('fwd5: 32x32 tile, 8x8 invocations of 4x4');
    expect((await kernelsOf('tiled@threads=64')).forward).toBe('fwd5: 32x32 tile, 8x8 invocations of 4x4');
    expect((await kernelsOf('tiled@wgmem=4096')).forward).toMatch(/^fwd5: (\d+)x\d+ tile/);
    expect((await kernelsOf('tiled@wgmem=4096')).forward).not.toBe((await kernelsOf('tiled')).forward);
    expect((await kernelsOf('tiled@unroll=1')).forward).toBe('fwd5: 64x64 tile, 16x16 invocations of 4x4; unrolled');
    expect((await kernelsOf('tiled@v1+side=8')).forward).toMatch(/^fwd1: \d+x\d+ tile, 8x8 invocations$/);
    // a register budget no tile meets leaves the largest tile that fits (tiling2.ts); one every tile meets changes nothing
    expect((await kernelsOf('tiled@regs=1')).backward).toBe((await kernelsOf('tiled')).backward);
    expect((await kernelsOf('tiled@rows=8+regs=40')).lse).toBe('lse5: 64x128 tile, 16x16 invocations of 4x8');
  });

  it('robust=off runs on a second device with the unsafe toggles, and is correct', async () => {
    expect(await checkShapes(backend, 'tiled@v1+robust=off', [{ bh: 2, nq: 17, nk: 9, d: 8 }], 'bwd')).toEqual([]);
    const s = await backend.open(p, 'tiled@robust=off');
    try {
      expect(s.kernels?.forward).toBe('fwd5: 64x64 tile, 16x16 invocations of 4x4; clamps off');
      await s.write(randomInputs(p, 1));
    } finally {
      await s.dispose();
    }
    const on = await gpuContext('on');
    const off = await gpuContext('off');
    if (typeof on === 'string' || typeof off === 'string') throw new Error('no device');
    expect(off.device).not.toBe(on.device);
    expect(off.options.join(' ')).toContain('disable_robustness');
    expect(on.options.join(' ')).not.toContain('disable_robustness');
    // allow_unsafe_apis shows: the adapter of the off device lists features Dawn hides from safe instances
    expect([...off.adapter.features].filter((f) => !on.adapter.features.has(f)).length).toBeGreaterThan(0);
    const devices = (await backend.info()).details?.devices as Record<string, { open: boolean; dawnOptions: string[] }>;
    expect(devices['robust=off']!.open).toBe(true);
    expect(devices['robust=off']!.dawnOptions.join(' ')).toContain('allow_unsafe_apis,disable_robustness');
    expect(devices['robust=on']!.dawnOptions.join(' ')).not.toContain('disable_robustness');
  });

  it('a bad knob or value is one line from check(), and open() refuses it', async () => {
    expect(backend.check(p, 'tiled@rows=6')).toBe("wgsl: rows takes 4 | 8, got '6'");
    expect(backend.check(p, 'tiled@side=3')).toBe("wgsl: side takes 1 | 2 | 4 | 8 | 16, got '3'");
    expect(backend.check(p, 'tiled@robust=maybe')).toBe("wgsl: robust takes on | off, got 'maybe'");
    expect(backend.check(p, 'tiled@threads=0')).toBe("wgsl: threads takes a positive integer, got '0'");
    expect(backend.check(p, 'tiled@kernel=5')).toMatch(/^wgsl: unknown variant choice 'kernel=5' \(lse1…lse6, fwd1…fwd6, bwd1…bwd6, v<N>, rows=4\|8, /);
    await expect(backend.open(p, 'tiled@rows=6')).rejects.toThrow("wgsl: rows takes 4 | 8, got '6'");
  });

  it('the environment chooses nothing', async () => {
    process.env.ATTN_WGSL_KERNEL = '1';
    process.env.ATTN_WGSL_ROWS = '8';
    try {
      expect((await kernelsOf('tiled')).forward).toBe('fwd5: 64x64 tile, 16x16 invocations of 4x4');
    } finally {
      delete process.env.ATTN_WGSL_KERNEL;
      delete process.env.ATTN_WGSL_ROWS;
    }
  });
});
