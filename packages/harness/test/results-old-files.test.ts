/**
 * results.json files written before the torch peer was a backend (reports/h100/*) stay readable: their peers
 * ('torch-sdpa:<kernel>' / 'sdpa', never checked) are read as torch/<kernel>, and report and compare work on them.
 */
import { readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { bestPeer } from '../src/best-peer.js';
import { compareResults } from '../src/compare.js';
import { chartSpecs, renderMarkdown } from '../src/report.js';
import { readResults, validateResults } from '../src/results.js';
import { record, syntheticResults } from './_results.js';

const h100 = resolve(dirname(fileURLToPath(import.meta.url)), '../../../reports/h100');
const files = readdirSync(h100, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(h100, e.name, 'results.json'));

test('old peer records are read as backend torch, variant <kernel>, unchecked, with a note saying so', () => {
  const r = syntheticResults();
  r.records.push(record({ backend: 'torch-sdpa:math', variant: 'sdpa', error: null, checked: undefined }));
  r.metadata.backends['torch-sdpa:math'] = { availability: null, info: { backend: 'torch-sdpa:math', version: 'torch 2.11', device: 'NVIDIA H100 80GB HBM3', dtype: 'float32', timer: 'gpu-timer' } };
  r.metadata.backends['torch-sdpa'] = { availability: 'never mind' };
  const read = validateResults(JSON.parse(JSON.stringify(r)));
  const math = read.records.filter((x) => x.variant === 'math');
  expect(math).toHaveLength(1);
  expect(math[0]).toMatchObject({ backend: 'torch', error: null, status: 'passed' });
  expect(Object.keys(read.metadata.backends)).not.toContain('torch-sdpa:math');
  expect(read.metadata.backends.torch!.info!.backend).toBe('torch');
  expect(read.metadata.notes!.at(-1)).toMatch(/were not checked for accuracy/);
});

test.each(files)('%s: readable, reported with its peers marked unchecked, compared with itself', (file) => {
  const results = readResults(file);
  expect(results.records.some((r) => r.backend.startsWith('torch-sdpa'))).toBe(false);
  const md = renderMarkdown(results, chartSpecs(results));
  expect(md).toContain('# Attention sweep — NVIDIA H100 80GB HBM3');
  const peers = results.records.filter((r) => r.backend === 'torch');
  if (peers.length) {
    expect(md).toMatch(/\| torch\/efficient( \*\*best\*\*)? \| float32 \| (fwd|backward) \|.*\| passed \(unchecked\) \|/);
    const tiled = results.records.find((r) => r.backend === 'cuda' && r.variant === 'tiled' && r.stage === 'backward' && r.timing && bestPeer(peers, r));
    expect(tiled && md).toContain('(unchecked) |');
    expect(md).toContain('Timing: L2 warm (this file predates the --l2 option');
  }
  const self = compareResults(results, readResults(file));
  expect(self.regressions).toBe(0);
  expect(self.counts.SAME).toBe(results.records.length);
});
