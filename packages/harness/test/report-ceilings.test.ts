/** A record's TFLOP/s is a fraction of its own dtype's ceilings, and tables and charts name the ceiling they divide by. */
import { expect, test } from 'vitest';
import { ceilingsOf } from '../src/ceilings.js';
import { chartSpecs, compulsoryBytes, renderMarkdown } from '../src/report.js';
import { halfResults, record, syntheticResults } from './_results.js';

test('a known card: float32 keeps fp32 SIMT and TF32, each half dtype gets the dense tensor-core peak beside its measured GEMM', () => {
  const c = ceilingsOf(halfResults(), 'NVIDIA H100 80GB HBM3')!;
  expect(c.compute.float32!.map((x) => [x.name, x.tfs])).toEqual([['fp32 SIMT', 67], ['tf32', 495]]);
  expect(c.compute.float16!.map((x) => [x.name, x.tfs])).toEqual([['fp16 tensor-core peak', 989], ['fp16 GEMM (measured)', 654]]);
  expect(c.compute.bfloat16!.map((x) => [x.name, x.tfs])).toEqual([['bf16 tensor-core peak', 989], ['bf16 GEMM (measured)', 672]]);
  expect(c.bandwidth).toBe(3.0);
  expect(c.source).toContain('float16: fp16 tensor-core peak 989 TF/s, fp16 GEMM (measured) 654 TF/s (peak: H100 SXM datasheet, dense)');
  // the H200 SXM has the same half peak; its float32 ceilings are the measured SGEMM and TF32 GEMM
  const h200 = ceilingsOf(halfResults(), 'NVIDIA H200')!;
  expect(h200.compute.float16![0]).toMatchObject({ name: 'fp16 tensor-core peak', tfs: 989 });
  expect(h200.compute.float32!.map((x) => [x.name, x.tfs])).toEqual([['fp32 SGEMM (measured)', 50.7], ['tf32 GEMM (measured)', 360]]);
  expect(h200.bandwidth).toBeCloseTo(4.2, 12);
});

test('an unknown card has only what was measured, and a dtype no record has gets no ceilings', () => {
  const c = ceilingsOf(halfResults(), 'Some GPU')!;
  expect(c.compute.float16!.map((x) => x.name)).toEqual(['fp16 GEMM (measured)']);
  const f32only = syntheticResults();
  f32only.metadata.ceilings = { fp16MatmulTFs: 654, fp32MatmulTFs: 50, source: 'x' };
  expect(Object.keys(ceilingsOf(f32only, 'Some GPU')!.compute)).toEqual(['float32']);
  expect(ceilingsOf({ ...f32only, metadata: { ...f32only.metadata, ceilings: undefined } }, 'Some GPU')).toBeNull();
});

test('the float16 timings table divides by the float16 ceilings and says which, in its header', () => {
  const r = halfResults();
  const lines = renderMarkdown(r, []).split('\n');
  const table = lines.findIndex((l) => l === '### cuda — forward (lse + forward) (float16)');
  expect(table).toBeGreaterThan(-1);
  const header = lines[table + 2]!;
  expect(header).toContain('| of fp16 tensor-core peak 989 TF/s | of fp16 GEMM (measured) 654 TF/s | of 3 TB/s |');
  const tiled = r.records.find((x) => x.backend === 'cuda' && x.variant === 'tiled' && x.dtype === 'float16' && x.stage === 'fwd' && x.d === 64 && x.nq === 4096 && !x.causal)!;
  const row = lines.slice(table).find((l) => l.startsWith('| 16 | 4096 | 64 | no |'))!;
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  expect(row).toContain(`| ${pct(tiled.tflops! / 989)} | ${pct(tiled.tflops! / 654)} |`);
  // float32 keeps its own
  const f32 = lines.findIndex((l) => l === '### cuda — forward (lse + forward)');
  expect(lines[f32 + 2]).toContain('| of fp32 SIMT 67 TF/s | of tf32 495 TF/s | of 3 TB/s |');
});

test('the TF/s charts of a half dtype draw its peak and its measured GEMM; float32’s draws fp32 SIMT only', () => {
  const specs = chartSpecs(halfResults());
  const lines = (file: string) => specs.find((c) => c.file === file)!.spec.hLines;
  expect(lines('tflops-fwd-d64-float16.png')).toEqual([
    { value: 989, label: 'fp16 tensor-core peak ceiling 989 TF/s' },
    { value: 654, label: 'fp16 GEMM (measured) ceiling 654 TF/s' },
  ]);
  expect(lines('tflops-backward-d128-bfloat16.png')!.map((m) => m.value)).toEqual([989, 672]);
  expect(lines('tflops-fwd-d64.png')).toEqual([{ value: 67, label: 'fp32 SIMT ceiling 67 TF/s' }]);
});

test('compulsory traffic counts Q, K, V, O and the gradients in the record’s dtype, the lse in float32', () => {
  const shape = { bh: 2, nq: 8, nk: 8, d: 4 };
  const f32 = compulsoryBytes(record({ ...shape, stage: 'fwd' }));
  const f16 = compulsoryBytes(record({ ...shape, stage: 'fwd', dtype: 'float16' }));
  const lse = 4 * 2 * 8;
  expect(f32).toBe(4 * 4 * (2 * 8 * 4) + lse);
  expect(f16).toBe(2 * 4 * (2 * 8 * 4) + lse);
  expect(compulsoryBytes(record({ ...shape, stage: 'backward', dtype: 'bfloat16' }))).toBe(2 * 8 * (2 * 8 * 4) + lse);
});
