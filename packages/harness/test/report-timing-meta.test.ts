/** report.md states how points were timed (L2 mode) and the GPU clocks, flagging a run whose clocks fell. */
import { expect, test } from 'vitest';
import { renderMarkdown } from '../src/report.js';
import type { ClockReading, Results } from '../src/results.js';
import { syntheticResults } from './_results.js';

const reading = (smMHz: number, throttleNames: string[] = []): ClockReading => ({ at: '2026-11-29T12:00:00Z', smMHz, memMHz: 3201, powerW: 520.5, temperatureC: 44, throttleReasons: '0x0', throttleNames });

function withMeta(over: Partial<Results['metadata']>): Results {
  const r = syntheticResults();
  r.metadata = { ...r.metadata, ...over };
  return r;
}

test('the L2 mode is stated, and timed records whose backend did not scrub are named', () => {
  const cold = withMeta({ timing: { l2: 'cold', warmup: 3, minSamples: 10, budgetMs: 250 } });
  for (const r of cold.records) if (r.timing) r.timing.l2 = r.backend === 'torch' ? 'warm' : 'cold';
  const md = renderMarkdown(cold, []);
  expect(md).toContain('Timing: L2 **cold** (a buffer of twice the L2 is overwritten before every sample, outside its timed region); 3 warm-up runs, at least 10 samples and 250 ms per point.');
  expect(md).toMatch(/\d+ timed records ran warm: their backend does not scrub \(torch\/efficient\)\./);
  const warm = withMeta({ timing: { l2: 'warm', warmup: 1, minSamples: 3, budgetMs: 150 } });
  for (const r of warm.records) if (r.timing) r.timing.l2 = 'warm';
  expect(renderMarkdown(warm, [])).toContain('Timing: L2 **warm** (samples follow each other');
});

test('clocks at start and end and while busy are shown; steady clocks are not flagged', () => {
  const busy = { intervalMs: 5000, samples: 12, first: reading(1980), last: reading(1980), lowestSm: reading(1965), highestSm: reading(1980) };
  const md = renderMarkdown(withMeta({ clocks: { gpu: 'NVIDIA H200', maxSmMHz: 1980, maxMemMHz: 3201, start: reading(345, ['GpuIdle']), end: reading(1980), busy } }), []);
  expect(md).toContain('GPU clocks (nvidia-smi, NVIDIA H200; max SM 1980 MHz, mem 3201 MHz): start SM 345 MHz, mem 3201 MHz, 520.5 W, 44 °C [GpuIdle]; end SM 1980 MHz');
  expect(md).toContain('12 busy readings (every 5 s), SM 1965–1980 MHz');
  expect(md).toMatch(/^Clocks not flagged \(flag: a busy SM clock under 90% /m);
});

test('a run whose SM clock fell, or that hit a power cap, is flagged; no nvidia-smi is said plainly', () => {
  const busy = { intervalMs: 5000, samples: 12, first: reading(1980), last: reading(1500, ['SwPowerCap']), lowestSm: reading(1500, ['SwPowerCap']), highestSm: reading(1980) };
  const md = renderMarkdown(withMeta({ clocks: { gpu: 'NVIDIA H200', start: reading(1980), end: reading(1500), busy } }), []);
  expect(md).toContain('> **Clocks flagged:** slowdown SwPowerCap at a busy reading; SM clock fell to 1500 MHz while busy (highest busy reading 1980 MHz); SM clock fell from 1980 MHz at start to 1500 MHz at end — timings of this run may be low.');
  expect(renderMarkdown(withMeta({ clocks: { unavailable: 'nvidia-smi not found', start: null, end: null } }), [])).toContain('GPU clocks: not recorded (nvidia-smi not found).');
});
