// The WGSL variants in the shared vocabulary: 'naive', 'tiled', 'tiled@<choice>' with a version per stage (lse1…lse5,
// fwd1…fwd5, bwd1…bwd5), v<N> for every stage, and knobs; an invalid choice is one line from check(); the backend
// lists its version table and knobs (Backend.kernelVersions / knobs, the --help lines). No adapter needed.
import { describeVersions, makeProblem } from '@attn/reference';
import { describe, expect, it } from 'vitest';
import { createWgslBackend, parseWgslVariant, WGSL_KNOBS, WGSL_VERSIONS } from '../src/index.js';

const backend = createWgslBackend();
const p = makeProblem({ bh: 1, nq: 5, nk: 7, d: 8 });

describe('parseWgslVariant', () => {
  it('tiled runs version 5 in every stage (each stage its dtype\'s default), clamps on, the adapter default knobs', () => {
    expect(parseWgslVariant('tiled')).toEqual({
      base: 'tiled', versions: { lse: 5, forward: 5, backward: 5 }, defaulted: ['lse', 'forward', 'backward'], knobs: {}, robustness: 'on',
    });
    expect(parseWgslVariant('tiled@fwd3+rows=4').defaulted).toEqual(['lse', 'backward']);
    expect(parseWgslVariant('tiled@v3').defaulted).toEqual([]);
    expect(parseWgslVariant('naive').base).toBe('naive');
  });

  it('a version per stage, v<N> for all, knobs', () => {
    expect(parseWgslVariant('tiled@fwd3').versions).toEqual({ lse: 5, forward: 3, backward: 5 });
    expect(parseWgslVariant('tiled@lse1+fwd2+bwd4').versions).toEqual({ lse: 1, forward: 2, backward: 4 });
    expect(parseWgslVariant('tiled@v3').versions).toEqual({ lse: 3, forward: 3, backward: 3 });
    expect(parseWgslVariant('tiled@v9').versions).toEqual({ lse: 6, forward: 6, backward: 6 });
    expect(parseWgslVariant('tiled@v2+bwd5').versions).toEqual({ lse: 2, forward: 2, backward: 5 });
    const c = parseWgslVariant('tiled@rows=8+cols=8+threads=128+regs=96+wgmem=16384+side=8+unroll=1+robust=off');
    expect(c.knobs).toEqual({ rows: 8, cols: 8, threads: 128, regs: 96, wgmem: 16384, side: 8, unroll: true });
    expect(c.robustness).toBe('off');
    expect(parseWgslVariant('tiled@unroll=0').knobs).toEqual({ unroll: false });
  });
});

describe('check() refuses an invalid choice in one line', () => {
  const cases: [string, RegExp][] = [
    ['exact', /^wgsl has no variant 'exact' \(variants: naive, tiled; tiled@… takes a choice\)$/],
    ['tiled@fwd7', /^wgsl: no kernel version 'fwd7' \(lse1…lse6, fwd1…fwd6, bwd1…bwd6, v<N>, rows=4\|8, cols=4\|8, threads=N, regs=N, wgmem=N, side=1\|2\|4\|8\|16, unroll=0\|1, robust=on\|off, majorness=template\|flag\)$/],
    ['tiled@v0', /^wgsl: 'v0' names no version/],
    ['tiled@', /^wgsl: 'tiled@' has nothing after '@'$/],
    ['tiled@fwd3+', /^wgsl: unknown variant choice ''/],
    ['naive@fwd3', /^wgsl naive takes no choice \(got 'naive@fwd3'; versions and knobs are tiled@…\)$/],
    ['tiled@unroll=2', /^wgsl: unroll takes 0 \| 1, got '2'$/],
    ['tiled@wgmem=-1', /^wgsl: wgmem takes a positive integer, got '-1'$/],
  ];
  it.each(cases)('%s', (variant, message) => {
    const why = backend.check(p, variant);
    expect(why).toMatch(message);
    expect(why).not.toContain('\n');
    expect(() => parseWgslVariant(variant)).toThrow(message);
  });

  it('every valid choice passes check()', () => {
    for (const v of ['tiled', 'naive', 'tiled@v1', 'tiled@lse2+fwd3+bwd4', 'tiled@rows=4+side=2', 'tiled@robust=off']) expect(backend.check(p, v), v).toBeNull();
  });
});

describe('the backend lists its versions and knobs', () => {
  it('Backend.kernelVersions is the table, Backend.knobs the knobs, variants the two bases', () => {
    expect(backend.variants).toEqual(['naive', 'tiled']);
    expect(backend.kernelVersions).toBe(WGSL_VERSIONS);
    expect(backend.knobs).toBe(WGSL_KNOBS);
  });

  it('--help lists every row, the defaults marked, then the knobs', () => {
    const lines = describeVersions('wgsl', backend.kernelVersions!, backend.knobs!);
    for (const token of ['lse', 'fwd', 'bwd']) {
      for (let n = 1; n <= 6; n++) expect(lines.some((l) => l.startsWith(`  ${token}${n} `)), `${token}${n}`).toBe(true);
      expect(lines.find((l) => l.startsWith(`  ${token}5 `))).toMatch(/\(default\)/);
    }
    expect(lines).toContain(`  ${'fwd4'.padEnd(6)} chunks loaded as vec4 one chunk ahead into registers (shaders/tiles4.wgsl); d, dv ≡ 0 mod 4, else version 3; dtypes float32`);
    expect(lines.find((l) => l.startsWith('  fwd5 '))).toMatch(/; dtypes float32, float16$/);
    expect(lines.find((l) => l.startsWith('  fwd6 '))).toMatch(/subgroup matrices.*; dtypes float16$/);
    expect(lines.at(-2)).toMatch(/^  robust=on\|off Dawn's bounds clamps/);
    expect(lines.at(-1)).toMatch(/^  majorness=template\|flag version 6: /);
  });

  it('limits() and check() read the base of a choice', () => {
    expect(backend.limits('tiled@v1').maxD).toBe(256);
    expect(backend.check(makeProblem({ bh: 1, nq: 2, nk: 2, d: 300 }), 'tiled@v2')).toMatch(/up to 256, got d = 300/);
  });
});
