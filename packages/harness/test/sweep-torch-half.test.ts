/**
 * The torch peer in a sweep of half dtypes (through the pure-Python fake): every SDPA backend runs float16 and
 * bfloat16, records carry the dtype, and each is judged by the rule against the textbook of its dtype, not by
 * float32's fixed tolerances.
 */
import { closeReferencePool } from '@attn/reference';
import { afterAll, expect, test } from 'vitest';
import { pointKey } from '../src/results.js';
import { expandBlocks, judge, Sweep } from '../src/sweep.js';
import { fakeTorchBackend } from './_helpers.js';

afterAll(() => closeReferencePool());

const metadata = { name: 't', createdAt: new Date().toISOString(), gitCommit: null, host: 'h', platform: 'p', node: process.version, preset: 'cpu', seed: 5, argv: [], backends: {} };

async function sweep(modes: string[] = []) {
  const torch = await fakeTorchBackend(modes);
  try {
    const problems = expandBlocks([{ sizes: [[17, 17], [5, 9]], ds: [8], causal: [false, true], bh: [2], dtypes: ['float32', 'float16', 'bfloat16'] }]);
    const config = { backends: [], variants: [], pipelines: ['fwd', 'bwd'] as const, problems, seed: 13, timing: null, sampleRows: 8, outPath: null };
    return await new Sweep({ ...config, pipelines: [...config.pipelines] }, metadata, [{ name: 'torch', backend: torch }]).run();
  } finally {
    await torch.close();
  }
}

const results = await sweep();
const torch = results.records;

test('every SDPA backend runs both half dtypes; flash and cudnn are skipped in float32 only', () => {
  for (const variant of ['efficient', 'math', 'flash', 'cudnn']) {
    for (const dtype of ['float16', 'bfloat16']) {
      const rs = torch.filter((r) => r.variant === variant && r.dtype === dtype);
      expect(rs).toHaveLength(8);
      expect(rs.every((r) => r.status === 'passed')).toBe(true);
    }
  }
  const f32 = torch.filter((r) => r.dtype === 'float32');
  expect(f32.filter((r) => r.variant === 'flash' || r.variant === 'cudnn').every((r) => r.status === 'skipped' && /float16\/bfloat16 only, not float32$/.test(r.reason!))).toBe(true);
  expect(f32.filter((r) => r.variant === 'efficient' || r.variant === 'math').every((r) => r.status === 'passed')).toBe(true);
  expect(new Set(torch.map(pointKey)).size).toBe(torch.length);
});

test('a half record is judged by the rule against its dtype’s textbook, with errors of its dtype’s size', () => {
  const at = (dtype: string, stage: string) => torch.find((r) => r.variant === 'efficient' && r.dtype === dtype && r.stage === stage && r.nq === 17 && !r.causal)!;
  for (const stage of ['fwd', 'backward']) {
    const half = at('float16', stage);
    const bf16 = at('bfloat16', stage);
    const f32 = at('float32', stage);
    expect(half.flashRule).toMatchObject({ yardstick: 'textbook-float16', passed: true });
    expect(bf16.flashRule).toMatchObject({ yardstick: 'textbook-bfloat16', passed: true });
    expect(f32.flashRule).toMatchObject({ yardstick: 'textbook-float32', passed: true });
    const worst = (r: typeof half, name: string) => r.error![name]!.relL2!;
    const output = stage === 'fwd' ? 'o' : 'dq';
    // outputs rounded to the dtype: far above float32's fixed tolerance, yet passed
    expect(worst(half, output)).toBeGreaterThan(1e-4);
    expect(worst(bf16, output)).toBeGreaterThan(4 * worst(half, output));
    expect(worst(f32, output)).toBeLessThan(1e-6);
  }
  // the lse stays float32 in every dtype
  expect(at('bfloat16', 'fwd').error!.lse!.relL2!).toBeLessThan(1e-6);
});

test('float32’s fixed relative-L2 tolerances do not apply in a half dtype; unwritten and non-finite still fail', () => {
  const e = { o: { maxAbs: 1e-3, relL2: 5e-4, nonFinite: 0, unwritten: 0 } };
  expect(judge(e, 1, 'float32')).toBe('o: relL2 5.00e-4 > 0.00001');
  expect(judge(e, 1, 'float16')).toBeNull();
  expect(judge({ o: { ...e.o, unwritten: 3 } }, 1, 'bfloat16')).toBe('o: 3 elements never written');
  expect(judge({ o: { ...e.o, nonFinite: 2 } }, 1, 'float16')).toBe('o: 2 non-finite where the reference is finite');
});

test('a half peer less exact than its dtype fails the rule against its textbook', async () => {
  const math = async (off: string) => (await sweep([`sloppy-math=${off}`])).records.filter((r) => r.variant === 'math' && r.stage === 'fwd' && r.nq === 17 && !r.causal);
  // 1e-3 relative on O: about two float16 roundings, within 2 × its textbook's error; far beyond float32's
  const near = await math('1e-3');
  expect(near.find((r) => r.dtype === 'float16')!.status).toBe('passed');
  expect(near.find((r) => r.dtype === 'float32')).toMatchObject({ status: 'failed', reason: expect.stringMatching(/^o: relL2 1\.0\de-3 > /) });
  // 5e-2 relative: over ten roundings of bfloat16 (2^-9), more of float16
  for (const r of (await math('5e-2')).filter((x) => x.dtype !== 'float32')) {
    expect(r).toMatchObject({ status: 'failed', reason: expect.stringMatching(new RegExp(`^FlashAttention rule: o: .* > 2 × textbook ${r.dtype} `)) });
  }
});
