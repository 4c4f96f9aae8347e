import { expect, test } from 'vitest';
import { renderMarkdown } from '../src/report.js';
import { mergeResults, pointKey } from '../src/results.js';
import { record, syntheticResults } from './_results.js';

test('merging two sweeps keeps every point once, the later record winning, and every usable backend', () => {
  const cuda = syntheticResults();
  const wgsl = syntheticResults();
  wgsl.metadata.backends = { wgsl: { availability: null } };
  cuda.metadata.backends = { ...cuda.metadata.backends, wgsl: { availability: 'not asked for' } };
  const again = record({ timing: { medianMs: 123, p10Ms: 120, p90Ms: 125, rme: 1, samples: 5, source: 'gpu-timer' } });
  wgsl.records = [record({ backend: 'wgsl' }), again];

  const merged = mergeResults([
    { source: 'cuda.json', results: cuda },
    { source: 'wgsl.json', results: wgsl },
  ]);

  const keys = merged.records.map(pointKey);
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys.length).toBe(new Set([...cuda.records, ...wgsl.records].map(pointKey)).size);
  expect(merged.records.find((r) => pointKey(r) === pointKey(again))?.timing?.medianMs).toBe(123);
  expect(merged.metadata.backends.wgsl?.availability).toBeNull();
  expect(merged.metadata.merged?.map((x) => x.source)).toEqual(['cuda.json', 'wgsl.json']);
});

test('a merged report names every sweep with its command and says which were interrupted', () => {
  const a = syntheticResults();
  const b = syntheticResults();
  b.metadata.argv = ['--preset', 'gpu', '--n', '16384'];
  b.metadata.interrupted = true;
  const md = renderMarkdown(mergeResults([{ source: 'a.json', results: a }, { source: 'b.json', results: b }]), []);
  expect(md).toContain('— 1 of the 2 merged sweeps was interrupted; this is what finished');
  expect(md).toMatch(/^- `b\.json` \(commit `[^`]+`, [^)]*, interrupted\): `attn sweep --preset gpu --n 16384`$/m);
  expect(md).toMatch(/^- `a\.json` \(commit `[^`]+`, [^)]*\): `attn sweep /m);
  expect(md).not.toContain('Command: ');
});
