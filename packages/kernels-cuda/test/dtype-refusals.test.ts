/**
 * Half dtypes through the backend (a stand-in addon: no GPU here) and the native plan (the CPU emulator): a version
 * that does not take the problem's dtype is refused in one line naming the versions that do, never run as another
 * version; a variant's dtypes are what those rules allow; naive and plain tiled take every dtype.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BackendError, makeProblem } from '@attn/reference';
import { CudaBackend } from '../src/index.js';
import type { Opened } from './_helpers.js';
import { fakeAddon, GXX_HERE, KERNELS_DIR } from './_helpers.js';

const p16 = makeProblem({ bh: 2, nq: 17, nk: 33, d: 64, dtype: 'float16' });
const pbf = makeProblem({ bh: 2, nq: 17, nk: 33, d: 64, dtype: 'bfloat16' });
const FWD4_F16 = 'cuda tiled@fwd4 takes float32, not float16 (fwd1: float32, float16, bfloat16)';

describe.skipIf(!GXX_HERE)('dtypes through the CUDA backend (stand-in addon)', () => {
  it('refuses a float32-only version asked for in a half dtype, in check() and open(), before any session', async () => {
    const opened: Opened[] = [];
    const backend = new CudaBackend({ addon: fakeAddon(opened), path: 'fake.node' });
    expect(backend.check(p16, 'tiled@fwd4')).toBe(FWD4_F16);
    expect(backend.check(pbf, 'tiled@lse2+fwd1+bwd1')).toBe('cuda tiled@lse2 takes float32, not bfloat16 (lse1: float32, float16, bfloat16)');
    expect(backend.check(p16, 'tiled@bwd3+scores=long')).toMatch(/^cuda tiled@bwd3 takes float32, not float16 \(bwd1: /);
    await expect(backend.open(p16, 'tiled@fwd4')).rejects.toThrow(BackendError);
    await expect(backend.open(p16, 'tiled@fwd4')).rejects.toThrow(FWD4_F16);
    expect(opened).toEqual([]);
    for (const variant of ['tiled@fwd4', 'tiled@lse2+fwd1+bwd1']) {
      const line = backend.check(p16, variant)!;
      expect(line).not.toContain('\n');
    }
  });

  it('runs naive, plain tiled and tiled@v<N> in a half dtype with versions that take it, and says which in the choice', async () => {
    const opened: Opened[] = [];
    const backend = new CudaBackend({ addon: fakeAddon(opened), path: 'fake.node' });
    for (const variant of ['naive', 'tiled', 'tiled@v1', 'tiled@v3', 'tiled@lse1+fwd1+bwd1']) expect(backend.check(p16, variant), variant).toBeNull();
    await backend.open(p16, 'tiled');
    expect(opened.at(-1)).toEqual({ variant: 'tiled', choice: { lse: 1, forward: 1, backward: 1, shape: -1, longScores: false }, dtype: 'float16' });
    // v3: each stage's newest version up to 3 that takes the dtype
    await backend.open(pbf, 'tiled@v3');
    expect(opened.at(-1)!.choice).toMatchObject({ lse: 1, forward: 1, backward: 1 });
    await backend.open(p16, 'naive');
    expect(opened.at(-1)).toEqual({ variant: 'naive', choice: undefined, dtype: 'float16' });
    // float32 keeps its defaults
    await backend.open(makeProblem({ bh: 2, nq: 17, d: 64 }), 'tiled');
    expect(opened.at(-1)!.choice).toMatchObject({ lse: 3, forward: 4, backward: 3 });
    await backend.close();
  });

  it("declares each variant's dtypes: backend.dtypes(variant) and info()", async () => {
    const backend = new CudaBackend({ addon: fakeAddon([]), path: 'fake.node' });
    expect(backend.dtypes('naive')).toEqual(['float32', 'float16', 'bfloat16']);
    expect(backend.dtypes('tiled')).toEqual(['float32', 'float16', 'bfloat16']);
    expect(backend.dtypes('tiled@v1')).toEqual(['float32', 'float16', 'bfloat16']);
    expect(backend.dtypes('tiled@fwd3')).toEqual(['float32']);
    expect(backend.dtypes('tiled@fwd1+bwd3')).toEqual(['float32']);
    expect(backend.dtypes('tiled@fwd9')).toEqual([]);
    expect(backend.dtypes('flash')).toEqual([]);
    const info = await backend.info();
    expect(info.details?.dtypes).toEqual({ naive: ['float32', 'float16', 'bfloat16'], tiled: ['float32', 'float16', 'bfloat16'] });
    expect(backend.kernelVersions!.find((v) => v.stage === 'forward' && v.version === 4)!.dtypes).toEqual(['float32']);
  });
});

describe.skipIf(!GXX_HERE)('dtypes in the native plan (versions.h, g++)', () => {
  it('plan_refusal names the dtype and the versions that take it; a plan in a dtype the version takes is not refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'attn-refusal-'));
    writeFileSync(
      join(dir, 'main.cpp'),
      [
        '#include <cstdio>',
        '#include "tiled/versions.h"',
        'using namespace attn_tiled;',
        'int main() {',
        '  AttnTiledPlan refused{Stage::kForward, 4, 0, 64, -1, false, AttnDtype::kFloat16};',
        '  AttnTiledPlan missing{Stage::kLse, 9, 0, 64, -1, false, AttnDtype::kFloat32};',
        '  AttnTiledPlan runs{Stage::kBackward, 1, 1, 256, -1, false, AttnDtype::kBFloat16};',
        '  std::printf("%s\\n%s\\n%s\\n", plan_refusal(refused).c_str(), plan_refusal(missing).c_str(), describe_plan(runs).c_str());',
        '  std::printf("%d %d %d\\n", default_version(Stage::kForward, AttnDtype::kFloat32), default_version(Stage::kForward, AttnDtype::kFloat16), default_version(Stage::kLse, AttnDtype::kBFloat16));',
        '}',
      ].join('\n'),
    );
    const built = spawnSync('g++', ['-std=c++17', `-I${KERNELS_DIR}`, '-o', join(dir, 'main'), join(dir, 'main.cpp')], { encoding: 'utf8' });
    expect(built.status, built.stderr).toBe(0);
    const lines = spawnSync(join(dir, 'main'), [], { encoding: 'utf8' }).stdout.split('\n');
    expect(lines[0]).toBe('fwd4 takes float32, not float16 (fwd1: float32, float16, bfloat16)');
    expect(lines[1]).toBe('no tiled kernel version lse9');
    expect(lines[2]).toBe('bwd1');
    expect(lines[3]).toBe('4 1 1');
  });
});
