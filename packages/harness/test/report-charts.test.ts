import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { chartSpecs, writeReport } from '../src/report.js';
import { syntheticResults } from './_results.js';

test('report writes report.md and one PNG per chart, the speed-up chart first', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-report-'));
  const results = syntheticResults();
  const files = await writeReport(results, dir);
  const specs = chartSpecs(results);
  expect(specs.map((c) => c.file)).toEqual(expect.arrayContaining(['speedup-cuda-fwd.png', 'speedup-cuda-backward.png', 'tflops-fwd-d64.png', 'error-fwd-d64.png', 'memory.png']));
  expect(specs[0]!.file.startsWith('speedup-')).toBe(true);
  expect(files.charts).toHaveLength(specs.length);
  for (const f of files.charts) {
    const png = readFileSync(f);
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
    expect(png.length).toBeGreaterThan(10_000);
  }
  const md = readFileSync(files.markdown, 'utf8');
  expect(md).toContain('# Attention sweep — NVIDIA H100 80GB HBM3 — 2026-11-25');
  expect(md).toContain('![cuda fwd: tiled vs naive speed-up](speedup-cuda-fwd.png)');
  expect(md).toContain('wgsl | not available: no WebGPU adapter');
});

test('speed-up is naive ÷ tiled per N, one line per d and causal; naive OOM is a marker on the memory chart', () => {
  const results = syntheticResults();
  const spec = chartSpecs(results).find((c) => c.file === 'speedup-cuda-fwd.png')!.spec;
  expect(spec.series.map((s) => s.label)).toEqual(['d=64', 'd=64 causal', 'd=128', 'd=128 causal']);
  const naive = results.records.find((r) => r.variant === 'naive' && r.stage === 'fwd' && r.d === 64 && !r.causal && r.nq === 1024)!;
  const tiled = results.records.find((r) => r.variant === 'tiled' && r.stage === 'fwd' && r.d === 64 && !r.causal && r.nq === 1024)!;
  expect(spec.series[0]!.points.find((p) => p.x === 1024)!.y).toBeCloseTo(naive.timing!.medianMs / tiled.timing!.medianMs, 12);
  // no naive time at 16384 (out of memory): no speed-up point there
  expect(spec.series[0]!.points.some((p) => p.x === 16384)).toBe(false);
  const memory = chartSpecs(results).find((c) => c.file === 'memory.png')!.spec;
  expect(memory.vLines).toEqual([{ value: 16384, label: 'cuda/naive out of memory at N=16384' }]);
  expect(memory.xLog && memory.yLog).toBe(true);
});

test('throughput charts carry the peer line and the H100 fp32 ceiling; tables give ratios and fractions', async () => {
  const results = syntheticResults();
  const spec = chartSpecs(results).find((c) => c.file === 'tflops-fwd-d64.png')!.spec;
  expect(spec.series.map((s) => s.label)).toContain('torch/efficient');
  expect(spec.hLines).toEqual([{ value: 67, label: 'fp32 SIMT ceiling 67 TF/s' }]);
  const dir = mkdtempSync(join(tmpdir(), 'attn-report-'));
  const md = readFileSync((await writeReport(results, dir)).markdown, 'utf8');
  // tiled 20 TF/s-ish vs peer 30 TF/s: the peer's time ÷ ours about 0.67; fraction of 67 TF/s shown as a percentage
  expect(md).toMatch(/\| 16 \| 4096 \| 64 \| no \| [\d.]+ \| [\d.]+ \| 8× \| (19\.9|20) \| torch\/efficient [\d.]+ ms \| 0\.66\d× \| 29\.\d% \| 4\.0% \|/);
});
