import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { readResults, validateResults, writeResults } from '../src/results.js';
import { syntheticResults } from './_results.js';

test('results.json round-trips through write and validated read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-results-'));
  const r = syntheticResults();
  writeResults(join(dir, 'results.json'), r);
  expect(readResults(join(dir, 'results.json'))).toEqual(r);
});

test('non-finite numbers are written as null (JSON has no Infinity) and read back as valid', () => {
  const r = syntheticResults();
  r.records[0]!.error!.o!.maxAbs = Infinity;
  const dir = mkdtempSync(join(tmpdir(), 'attn-results-'));
  writeResults(join(dir, 'r.json'), r);
  expect(readResults(join(dir, 'r.json')).records[0]!.error!.o!.maxAbs).toBeNull();
});

test('validation names the first wrong field', () => {
  const r = structuredClone(syntheticResults()) as unknown as Record<string, unknown>;
  expect(() => validateResults({ ...r, schemaVersion: 99 })).toThrow('schemaVersion 99 is not supported');
  const bad = structuredClone(syntheticResults());
  (bad.records[3] as unknown as Record<string, unknown>).nq = 0;
  expect(() => validateResults(bad)).toThrow("records[3]: 'nq' must be a positive integer, got 0");
  const noReason = structuredClone(syntheticResults());
  noReason.records[2]!.status = 'failed';
  expect(() => validateResults(noReason)).toThrow("records[2]: a failed record needs a 'reason'");
});

test('a file that is not JSON is one clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-results-'));
  writeFileSync(join(dir, 'x.json'), '{"schemaVersion": 1,');
  expect(() => readResults(join(dir, 'x.json'))).toThrow(/x\.json is not JSON/);
  expect(readFileSync(join(dir, 'x.json'), 'utf8')).toContain('schemaVersion');
});
