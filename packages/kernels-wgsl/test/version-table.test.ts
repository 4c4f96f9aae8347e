// The version table (src/versions.ts) is whole: every stage has versions 1 to 6 and one default, every row names an
// embedded shader for each of its stage's kernels, a fallback is a version of the same stage that takes every dtype
// its version takes (a chain ends at a version that needs nothing), the plan compiles what the row says (in the
// problem's dtype), and the README's table lists every row with its dtypes. No adapter needed.
import { readFileSync } from 'node:fs';
import { makeProblem } from '@attn/reference';
import { describe, expect, it } from 'vitest';
import type { TiledLimits } from '../src/plan.js';
import { stagePlan, tiledPlan } from '../src/plan.js';
import { SHADER_FILES } from '../src/shaders.generated.js';
import { STAGE_KERNELS, stageToken, versionRow, WGSL_VERSIONS } from '../src/versions.js';

const STAGES = ['lse', 'forward', 'backward'] as const;
const LIMITS: TiledLimits = { rows: 4, workgroupBytes: 32768, invocations: 256, maxSide: 16, unroll: true };

describe('the version table', () => {
  it.each(STAGES)('%s: versions 1 to 6, one default, shaders for every kernel, fallbacks that end in a version that needs nothing', (stage) => {
    const rows = WGSL_VERSIONS.filter((v) => v.stage === stage);
    expect(rows.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(rows.filter((v) => v.isDefault).map((v) => v.version)).toEqual([5]);
    expect(rows.filter((v) => v.dtypes.includes('float16')).map((v) => v.version)).toEqual([1, 3, 5, 6]);
    // subgroup matrices take f16 operands: version 6 alone is float16 only; every version has been measured on a GPU
    expect(rows.filter((v) => !v.dtypes.includes('float32')).map((v) => v.version)).toEqual([6]);
    expect(rows.filter((v) => v.measured.length === 0).map((v) => v.version)).toEqual([]);
    for (const row of rows) {
      expect(Object.keys(row.files).sort()).toEqual([...STAGE_KERNELS[stage]].sort());
      for (const file of Object.values(row.files)) expect(SHADER_FILES[file!], file).toBeDefined();
      let chain = row;
      for (let hops = 0; chain.needs; hops++) {
        expect(hops).toBeLessThan(3);
        const next = versionRow(stage, chain.needs.fallback);
        for (const dtype of chain.dtypes) expect(next.dtypes).toContain(dtype);
        chain = next;
      }
    }
  });

  it("the plan compiles each row's files the row's way, and falls back where it says", () => {
    for (const row of WGSL_VERSIONS.filter((v) => v.dtypes.includes('float32'))) {
      const asked = { lse: 5, forward: 5, backward: 5, [row.stage]: row.version };
      const plan = tiledPlan(makeProblem({ bh: 1, nq: 40, nk: 30, d: 16 }), asked, LIMITS);
      if (typeof plan === 'string') throw new Error(`no ${plan} tile`);
      const dispatches = stagePlan(makeProblem({ bh: 1, nq: 40, nk: 30, d: 16 }), 'tiled', row.stage, plan).filter((d) => d.tiles);
      expect(dispatches.map((d) => d.file)).toEqual(STAGE_KERNELS[row.stage].map((k) => row.files[k]));
      for (const d of dispatches) expect(d.unroll).toEqual({ unroll: row.unrollRegisters, gpu: row.unrollChunks });
      expect(dispatches.every((d) => !d.half)).toBe(true);
      if (row.dtypes.includes('float16')) {
        const p16 = makeProblem({ bh: 1, nq: 40, nk: 30, d: 16, dtype: 'float16' });
        const plan16 = tiledPlan(p16, asked, LIMITS);
        if (typeof plan16 === 'string') throw new Error(`no ${plan16} tile`);
        expect(stagePlan(p16, 'tiled', row.stage, plan16).every((d) => d.half)).toBe(true);
      }
      const odd = tiledPlan(makeProblem({ bh: 1, nq: 40, nk: 30, d: 6 }), asked, LIMITS);
      if (typeof odd === 'string') throw new Error(`no ${odd} tile`);
      expect(odd[row.stage].row.version).toBe(row.needs ? row.needs.fallback : row.version);
      expect(odd[row.stage].fallback).toBe(row.needs ? `${stageToken(row.stage, row.version)} needs d, dv ≡ 0 mod 4` : undefined);
    }
  });

  it('version 6 (float16): its float16 shaders as written (no generated f16 form), version 5 past d = 128', () => {
    for (const row of WGSL_VERSIONS.filter((v) => v.version === 6)) {
      const asked = { lse: 5, forward: 5, backward: 5, [row.stage]: 6 };
      const p = makeProblem({ bh: 1, nq: 40, nk: 30, d: 16, dtype: 'float16' });
      const plan = tiledPlan(p, asked, { ...LIMITS, workgroupBytes: 49152 });
      if (typeof plan === 'string') throw new Error(`no ${plan} tile`);
      const dispatches = stagePlan(p, 'tiled', row.stage, plan).filter((d) => d.tiles);
      expect(dispatches.map((d) => d.file)).toEqual(STAGE_KERNELS[row.stage].map((k) => row.files[k]));
      expect(dispatches.every((d) => !d.half)).toBe(true);
      const wide = tiledPlan(makeProblem({ bh: 1, nq: 40, nk: 30, d: 160, dtype: 'float16' }), asked, { ...LIMITS, workgroupBytes: 49152 });
      if (typeof wide === 'string') throw new Error(`no ${wide} tile`);
      expect(wide[row.stage].row.version).toBe(5);
      expect(wide[row.stage].fallback).toBe(`${stageToken(row.stage, 6)} needs d, dv ≤ 128`);
    }
  });

  it("lse5 takes 8 keys per invocation unless cols= says otherwise; only version 5 skips interior masks", () => {
    const p = makeProblem({ bh: 1, nq: 100, nk: 70, d: 64 });
    const v5 = tiledPlan(p, { lse: 5, forward: 5, backward: 5 }, LIMITS);
    const v4 = tiledPlan(p, { lse: 4, forward: 4, backward: 4 }, LIMITS);
    const cols4 = tiledPlan(p, { lse: 5, forward: 5, backward: 5 }, { ...LIMITS, cols: 4 });
    if (typeof v5 === 'string' || typeof v4 === 'string' || typeof cols4 === 'string') throw new Error('no tile');
    const rn = (t: typeof v5, s: 'lse' | 'forward') => (t[s].tiles[s] as { rn: number }).rn;
    expect([rn(v5, 'lse'), rn(v5, 'forward'), rn(v4, 'lse'), rn(cols4, 'lse')]).toEqual([8, 4, 4, 4]);
    expect((v5.forward.tiles.forward as { fastInterior: boolean }).fastInterior).toBe(true);
    expect((v4.forward.tiles.forward as { fastInterior: boolean }).fastInterior).toBe(false);
  });

  it('README.md has a row for every version, with its dtypes and where it was measured', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const section = readme.split('\n## Versions of the tiled kernels\n')[1]?.split('\n#')[0] ?? '';
    for (const row of WGSL_VERSIONS) {
      const token = new RegExp(`\\b${stageToken(row.stage, row.version)}\\b`);
      const line = section.split('\n').find((l) => l.startsWith('|') && token.test(l));
      expect(line, stageToken(row.stage, row.version)).toBeDefined();
      for (const report of row.measured) expect(line).toContain(report);
      expect(line!.split('|').map((c) => c.trim())).toContain(row.dtypes.join(', '));
    }
  });
});
