/** A report of several dtypes: charts and tables per dtype, each error chart beside the textbook of its own dtype. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { chartSpecs, renderMarkdown, writeReport } from '../src/report.js';
import { halfResults, syntheticResults } from './_results.js';

test('speed-up, TF/s and error charts come once per dtype; float32 keeps the names reports always had', () => {
  const files = chartSpecs(halfResults()).map((c) => c.file);
  for (const base of ['speedup-cuda-fwd', 'speedup-cuda-backward', 'tflops-fwd-d64', 'tflops-backward-d128', 'error-fwd-d64', 'error-backward-d128']) {
    expect(files).toEqual(expect.arrayContaining([`${base}.png`, `${base}-float16.png`, `${base}-bfloat16.png`]));
  }
  expect(files.filter((f) => f.startsWith('memory'))).toEqual(['memory.png']);
  expect(files[0]).toBe('speedup-cuda-fwd.png');
  // a float32-only sweep: the same charts as before the dtype axis
  expect(chartSpecs(syntheticResults()).map((c) => c.file).some((f) => /float16|bfloat16/.test(f))).toBe(false);
});

test('a chart of one dtype draws that dtype’s records only, and says its dtype', () => {
  const r = halfResults();
  const spec = (file: string) => chartSpecs(r).find((c) => c.file === file)!.spec;
  const tf16 = spec('tflops-fwd-d64-float16.png');
  expect(tf16.title).toBe('forward (lse + forward) throughput, d=64, float16 (bh=16)');
  expect(tf16.series.map((s) => s.label)).toEqual(['cuda/tiled float16', 'cuda/tiled float16 causal', 'cuda/naive float16', 'cuda/naive float16 causal', 'torch/efficient float16', 'torch/flash float16']);
  const speedup = spec('speedup-cuda-fwd-bfloat16.png');
  const naive = r.records.find((x) => x.variant === 'naive' && x.dtype === 'bfloat16' && x.stage === 'fwd' && x.d === 64 && !x.causal && x.nq === 1024)!;
  const tiled = r.records.find((x) => x.variant === 'tiled' && x.dtype === 'bfloat16' && x.stage === 'fwd' && x.d === 64 && !x.causal && x.nq === 1024)!;
  expect(speedup.series[0]!.points.find((p) => p.x === 1024)!.y).toBeCloseTo(naive.timing!.medianMs / tiled.timing!.medianMs, 12);
  expect(spec('tflops-fwd-d64.png').series.every((s) => !/float16|bfloat16/.test(s.label))).toBe(true);
});

test('each error chart’s yardstick is the textbook in its dtype, from that dtype’s records', () => {
  const r = halfResults();
  const yardstick = (file: string) => chartSpecs(r).find((c) => c.file === file)!.spec.series.find((s) => s.label.startsWith('textbook'))!;
  const f16 = yardstick('error-fwd-d64-float16.png');
  expect(f16.label).toBe('textbook float16 (yardstick)');
  expect(f16.points.every((p) => Math.abs(p.y - 1.5 * 4.9e-4) < 1e-12)).toBe(true);
  expect(yardstick('error-backward-d64-bfloat16.png').label).toBe('textbook bfloat16 (yardstick)');
  expect(yardstick('error-backward-d64-bfloat16.png').points[0]!.y).toBeCloseTo(1.5 * 3.9e-3, 12);
});

test('an error chart draws the causal records’ yardstick from them, dashed like the causal kernels, and the full one solid', () => {
  const r = halfResults();
  // make the causal textbook differ from the full one, so a chart that mixed them up shows
  for (const x of r.records) if (x.causal && x.dtype === 'float16') for (const e of Object.values(x.error ?? {})) e.textbookRelL2 = 7e-4;
  const series = chartSpecs(r).find((c) => c.file === 'error-fwd-d64-float16.png')!.spec.series.filter((s) => s.label.startsWith('textbook'));
  expect(series.map((s) => [s.label, s.dashed])).toEqual([['textbook float16 (yardstick)', false], ['textbook float16 causal (yardstick)', true]]);
  expect(series[0]!.points.every((p) => Math.abs(p.y - 1.5 * 4.9e-4) < 1e-12)).toBe(true);
  expect(series[1]!.points.every((p) => Math.abs(p.y - 7e-4) < 1e-12)).toBe(true);
});

test('timings and correctness tables are split by dtype; a half table compares its tiled time with float32’s', async () => {
  const r = halfResults();
  const md = renderMarkdown(r, []);
  const lines = md.split('\n');
  const headings = lines.filter((l) => l.startsWith('### cuda — forward (lse + forward)'));
  expect(headings).toEqual(['### cuda — forward (lse + forward)', '### cuda — forward (lse + forward) (float16)', '### cuda — forward (lse + forward) (bfloat16)']);
  const at = lines.indexOf('### cuda — forward (lse + forward) (float16)');
  expect(lines[at + 2]).toContain('| vs float32 |');
  // the synthetic float16 runs take half float32's time
  expect(lines.slice(at).find((l) => l.startsWith('| 16 | 4096 | 64 | no |'))).toMatch(/\| 2× \| [\d.]+% \|/);
  const correctness = lines.slice(lines.indexOf('## Correctness'));
  expect(correctness.filter((l) => l.startsWith('### '))).toEqual(['### float32', '### float16', '### bfloat16']);
  const f16 = correctness.slice(correctness.indexOf('### float16'), correctness.indexOf('### bfloat16'));
  expect(f16.filter((l) => l.startsWith('| cuda/')).every((l) => l.includes(' float16 |'))).toBe(true);
  // the backends table says which dtypes each backend ran
  expect(lines.find((l) => l.startsWith('| torch | ran |'))).toContain('| float32, float16, bfloat16 |');
  const dir = mkdtempSync(join(tmpdir(), 'attn-report-dtypes-'));
  const files = await writeReport(r, dir);
  expect(readFileSync(files.markdown, 'utf8')).toContain('![fwd TFLOP/s, d=64, float16](tflops-fwd-d64-float16.png)');
});
