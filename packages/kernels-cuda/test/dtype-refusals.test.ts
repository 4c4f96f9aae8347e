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
import type { Dtype, KernelStage } from '@attn/reference';
import { BackendError, makeProblem } from '@attn/reference';
import { CudaBackend } from '../src/index.js';
import type { Opened } from './_helpers.js';
import { fakeAddon, GXX_HERE, KERNELS_DIR, STAGES, stageToken, tableDefaults, takersOf, versionTableFromHeader } from './_helpers.js';

const p16 = makeProblem({ bh: 2, nq: 17, nk: 33, d: 64, dtype: 'float16' });
const pbf = makeProblem({ bh: 2, nq: 17, nk: 33, d: 64, dtype: 'bfloat16' });
const p32 = makeProblem({ bh: 2, nq: 17, nk: 33, d: 64 });
const table = GXX_HERE ? versionTableFromHeader() : undefined;
/** The versions of a stage that take a dtype, the table's way round: each row whose dtypes name it. */
const takers = (stage: KernelStage, dtype: Dtype): number[] => table!.versions.filter((v) => v.stage === stage && v.dtypes.includes(dtype)).map((v) => v.version);

describe.skipIf(!GXX_HERE)('dtypes through the CUDA backend (stand-in addon)', () => {
  it('refuses a version asked for in a dtype it does not take, in check() and open(), before any session', async () => {
    const opened: Opened[] = [];
    const backend = new CudaBackend({ addon: fakeAddon(opened), path: 'fake.node' });
    const fwd4In16 = `cuda tiled@fwd4 takes float32, not float16 (${takersOf(table!, 'forward', 'float16')})`;
    // the line names every forward version that takes float16: version 1 and at least one half version
    expect(takers('forward', 'float16').length).toBeGreaterThan(1);
    expect(fwd4In16).toMatch(/^cuda tiled@fwd4 takes float32, not float16 \(fwd1: float32, float16, bfloat16; fwd\d+: /);
    expect(backend.check(p16, 'tiled@fwd4')).toBe(fwd4In16);
    expect(backend.check(pbf, 'tiled@lse2+fwd1+bwd1')).toBe(`cuda tiled@lse2 takes float32, not bfloat16 (${takersOf(table!, 'lse', 'bfloat16')})`);
    expect(backend.check(p16, 'tiled@bwd3+scores=long')).toBe(`cuda tiled@bwd3 takes float32, not float16 (${takersOf(table!, 'backward', 'float16')})`);
    // a half-only version in float32, the other way round
    for (const v of table!.versions.filter((r) => !r.dtypes.includes('float32'))) {
      const name = `${stageToken(v.stage)}${v.version}`;
      expect(backend.check(p32, `tiled@${name}`), name).toBe(`cuda tiled@${name} takes ${v.dtypes.join(', ')}, not float32 (${takersOf(table!, v.stage, 'float32')})`);
    }
    await expect(backend.open(p16, 'tiled@fwd4')).rejects.toThrow(BackendError);
    await expect(backend.open(p16, 'tiled@fwd4')).rejects.toThrow(fwd4In16);
    expect(opened).toEqual([]);
    for (const variant of ['tiled@fwd4', 'tiled@lse2+fwd1+bwd1']) {
      const line = backend.check(p16, variant)!;
      expect(line).not.toContain('\n');
    }
  });

  it('runs naive, plain tiled and tiled@v<N> in a half dtype with versions that take it, and says which in the choice', async () => {
    const opened: Opened[] = [];
    const backend = new CudaBackend({ addon: fakeAddon(opened), path: 'fake.node' });
    const newest = Math.max(...table!.versions.map((v) => v.version));
    const vN = Array.from({ length: newest }, (_, i) => `tiled@v${i + 1}`);
    for (const variant of ['naive', 'tiled', ...vN, 'tiled@lse1+fwd1+bwd1', 'tiled@shape=1']) expect(backend.check(p16, variant), variant).toBeNull();
    // plain tiled: each stage's default for the dtype (the half versions at D = 64, 128; the native plan runs version 1
    // at other buckets, test/tiled-emulator.test.ts)
    for (const problem of [p16, pbf]) {
      await backend.open(problem, 'tiled');
      const defaults = tableDefaults(table!, problem.dtype);
      expect(opened.at(-1)).toEqual({ variant: 'tiled', choice: { ...defaults, shape: -1, longScores: false }, dtype: problem.dtype });
      for (const stage of STAGES) expect(table!.versions.find((v) => v.stage === stage && v.version === defaults[stage])!.dtypes, stage).toContain(problem.dtype);
    }
    // v<N>: each stage's newest version up to N that takes the dtype
    for (const [n, variant] of vN.entries()) {
      await backend.open(pbf, variant);
      const newestUpTo = (stage: KernelStage) => Math.max(...takers(stage, 'bfloat16').filter((v) => v <= n + 1));
      expect(opened.at(-1)!.choice, variant).toMatchObject({ lse: newestUpTo('lse'), forward: newestUpTo('forward'), backward: newestUpTo('backward') });
    }
    await backend.open(p16, 'naive');
    expect(opened.at(-1)).toEqual({ variant: 'naive', choice: undefined, dtype: 'float16' });
    // float32 keeps its defaults
    await backend.open(p32, 'tiled');
    expect(opened.at(-1)!.choice).toMatchObject(tableDefaults(table!, 'float32'));
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
    // a variant naming a version takes what that version's row says; naming two with no dtype in common, nothing
    for (const v of table!.versions) expect(backend.dtypes(`tiled@${stageToken(v.stage)}${v.version}`), `${v.stage}${v.version}`).toEqual(v.dtypes);
    const halfOnly = table!.versions.find((v) => v.stage === 'forward' && !v.dtypes.includes('float32'))!;
    expect(backend.dtypes(`tiled@fwd${halfOnly.version}+bwd3`)).toEqual([]);
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
    expect(lines[0]).toBe(`fwd4 takes float32, not float16 (${takersOf(table!, 'forward', 'float16')})`);
    expect(lines[1]).toBe('no tiled kernel version lse9');
    expect(lines[2]).toBe('bwd1');
    // default_version agrees with the defaultFor the table exports
    expect(lines[3]).toBe(`${tableDefaults(table!, 'float32').forward} ${tableDefaults(table!, 'float16').forward} ${tableDefaults(table!, 'bfloat16').lse}`);
  });
});
