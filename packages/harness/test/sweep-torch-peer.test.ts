/**
 * The torch peer inside a sweep (through the pure-Python fake): the same inputs, the same timing path and the same
 * float64 check as our backends; a fused forward yields one fwd record and no lse-only one; refusals are skips.
 */
import type { Variant } from '@attn/reference';
import { closeReferencePool, createReferenceBackend } from '@attn/reference';
import { afterAll, expect, test } from 'vitest';
import type { PointRecord } from '../src/results.js';
import { expandBlocks, Sweep } from '../src/sweep.js';
import type { SweepConfig } from '../src/sweep.js';
import { fakeTorchBackend } from './_helpers.js';

afterAll(() => closeReferencePool());

const metadata = { name: 't', createdAt: new Date().toISOString(), gitCommit: null, host: 'h', platform: 'p', node: process.version, preset: 'cpu', seed: 5, argv: [], backends: {} };

function config(over: Partial<SweepConfig> = {}): SweepConfig {
  return {
    backends: [],
    variants: ['exact'],
    pipelines: ['lse', 'fwd', 'bwd'],
    problems: expandBlocks([{ sizes: [[17, 17], [5, 9], [9, 5]], ds: [8], causal: [false, true], bh: [2] }, { sizes: [[7, 7]], ds: [6], causal: [false], bh: [1] }]),
    seed: 11,
    timing: { warmup: 1, minSamples: 2, budgetMs: 1, l2: 'cold' },
    sampleRows: 8,
    outPath: null,
    ...over,
  };
}

async function sweep(modes: string[] = [], over: Partial<SweepConfig> = {}) {
  const torch = await fakeTorchBackend(modes);
  try {
    const loaded = [
      { name: 'reference', backend: createReferenceBackend({ threads: 1 }) },
      { name: 'torch', backend: torch },
    ];
    return await new Sweep(config(over), metadata, loaded).run();
  } finally {
    await torch.close();
  }
}

const results = await sweep();
const torch = results.records.filter((r) => r.backend === 'torch');
const at = (variant: Variant, stage: string, nq: number, nk: number, causal: boolean, d = 8): PointRecord[] =>
  torch.filter((r) => r.variant === variant && r.stage === stage && r.nq === nq && r.nk === nk && r.causal === causal && r.d === d);

test('every SDPA backend is a variant; a fused forward gives one fwd record and the backward one, no lse-only record', () => {
  expect(new Set(torch.map((r) => r.variant))).toEqual(new Set(['efficient', 'math', 'flash', 'cudnn']));
  expect(torch.some((r) => r.pipeline === 'lse' || r.stage === 'lse' || r.stage === 'forward')).toBe(false);
  for (const v of ['efficient', 'math']) {
    expect(at(v, 'fwd', 17, 17, true)).toHaveLength(1);
    expect(at(v, 'backward', 17, 17, true)).toHaveLength(1);
  }
});

test('the peer is checked on the sweep’s own inputs against the float64 reference: lse only where it is its own', () => {
  const eff = at('efficient', 'fwd', 5, 9, true)[0]!;
  const math = at('math', 'fwd', 5, 9, true)[0]!;
  expect(eff.status).toBe('passed');
  expect(Object.keys(eff.error!)).toEqual(['lse', 'o']);
  expect(Object.keys(math.error!)).toEqual(['o']);
  for (const r of torch.filter((x) => x.status === 'passed')) {
    expect(r.checked).toBe('full');
    for (const e of Object.values(r.error!)) {
      // float64 arithmetic rounded to float32: errors of rounding size, which only the same inputs give
      expect(e.relL2!).toBeLessThan(1e-6);
      expect(e.nonFinite + e.unwritten).toBe(0);
    }
  }
  const bwd = at('math', 'backward', 17, 17, false)[0]!;
  expect(Object.keys(bwd.error!)).toEqual(['dq', 'dk', 'dv']);
});

test('timed through the same tinybench path, with the backend’s own clock and L2 mode; ours beside it', () => {
  const eff = at('efficient', 'fwd', 17, 17, false)[0]!;
  expect(eff.timing).toMatchObject({ source: 'wall', l2: 'cold' });
  expect(eff.timing!.samples).toBeGreaterThanOrEqual(2);
  expect(eff.tflops).toBeGreaterThan(0);
  expect(at('efficient', 'backward', 17, 17, false)[0]!.timing!.medianMs).toBeGreaterThan(0);
  // the reference backend cannot scrub a cache: its records say warm although cold was asked
  const ref = results.records.find((r) => r.backend === 'reference' && r.stage === 'fwd')!;
  expect(ref.timing!.l2).toBe('warm');
});

test('refusals are skips with the reason: float32 for flash/cudnn, causal Nq > Nk, a kernel refusing d', () => {
  for (const v of ['flash', 'cudnn']) {
    const rs = torch.filter((r) => r.variant === v);
    expect(rs.every((r) => r.status === 'skipped' && r.reason === `torch SDPA ${v} takes float16/bfloat16 only, not float32`)).toBe(true);
  }
  expect(at('math', 'fwd', 9, 5, true)[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/Nq > Nk/) });
  expect(at('math', 'fwd', 9, 5, false)[0]!.status).toBe('passed');
  const refused = at('efficient', 'backward', 7, 7, false, 6)[0]!;
  expect(refused.status).toBe('skipped');
  expect(refused.reason).toMatch(/^open: torch efficient .*SDPA refuses it: fake efficient takes d divisible by 4, got 6$/);
  expect(at('math', 'backward', 7, 7, false, 6)[0]!.status).toBe('passed');
});

test('a peer far less exact than float32 fails its accuracy check like one of ours would', async () => {
  const sloppy = await sweep(['sloppy-math'], { pipelines: ['fwd'], timing: null, problems: expandBlocks([{ sizes: [[17, 17]], ds: [8], causal: [false], bh: [2] }]) });
  const math = sloppy.records.find((r) => r.variant === 'math')!;
  expect(math.status).toBe('failed');
  expect(math.reason).toMatch(/^o: relL2 1\.0\de-3 > /);
  expect(sloppy.records.find((r) => r.variant === 'efficient')!.status).toBe('passed');
});
