import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test, vi } from 'vitest';
import { main } from '../src/commands/compare.js';
import { compareResults } from '../src/compare.js';
import type { Results } from '../src/results.js';
import { writeResults } from '../src/results.js';
import { syntheticResults } from './_results.js';

afterEach(() => vi.restoreAllMocks());

function files(base: Results, next: Results): [string, string] {
  const dir = mkdtempSync(join(tmpdir(), 'attn-compare-'));
  writeResults(join(dir, 'base.json'), base);
  writeResults(join(dir, 'new.json'), next);
  return [join(dir, 'base.json'), join(dir, 'new.json')];
}

async function run(base: Results, next: Results, ...flags: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void lines.push(a.join(' ')));
  const code = await main([...files(base, next), ...flags]);
  return { code, out: lines.join('\n') };
}

test('a run compared with itself exits 0, every point SAME', async () => {
  const r = syntheticResults();
  const { code, out } = await run(r, r);
  expect(code).toBe(0);
  expect(out).toContain(`${r.records.length} points: ${r.records.length} SAME; 0 regressions`);
});

test('a point made slower beyond both spreads exits 1 and names the point', async () => {
  const base = syntheticResults();
  const next = structuredClone(base);
  const i = next.records.findIndex((x) => x.variant === 'tiled' && x.stage === 'fwd' && x.nq === 4096 && x.d === 64 && !x.causal);
  const t = next.records[i]!.timing!;
  next.records[i]!.timing = { ...t, medianMs: t.medianMs * 1.5, p10Ms: t.p10Ms * 1.5, p90Ms: t.p90Ms * 1.5 };
  const { code, out } = await run(base, next);
  expect(code).toBe(1);
  expect(out).toMatch(/^SLOWER +cuda\/tiled fwd N=4096 d=64 bh=16 /m);
  expect(out).toContain('1 SLOWER');
});

test('a change inside the noise is SAME; a wider noise factor absorbs a real change', () => {
  const base = syntheticResults();
  const next = structuredClone(base);
  const r = next.records[0]!;
  r.timing = { ...r.timing!, medianMs: r.timing!.medianMs * 1.01 };
  expect(compareResults(base, next).regressions).toBe(0);
  r.timing = { ...r.timing, medianMs: base.records[0]!.timing!.medianMs * 1.2, p10Ms: base.records[0]!.timing!.p10Ms * 1.2, p90Ms: base.records[0]!.timing!.p90Ms * 1.2 };
  expect(compareResults(base, next).counts.SLOWER).toBe(1);
  expect(compareResults(base, next, { noiseFactor: 20 }).counts.SLOWER).toBe(0);
});

test('a wrong result (error grown, or status worse) exits 1 as FAILED', async () => {
  const base = syntheticResults();
  const grown = structuredClone(base);
  grown.records[0]!.error!.o!.maxAbs = 1e-3;
  const a = await run(base, grown);
  expect(a.code).toBe(1);
  expect(a.out).toMatch(/^FAILED +cuda\/tiled fwd N=256 d=64 bh=16 .*error grew: o: maxAbs 1\.00e-3/m);

  const failed = structuredClone(base);
  Object.assign(failed.records[1]!, { status: 'failed', reason: 'o: 12 elements never written' });
  const b = await run(base, failed);
  expect(b.code).toBe(1);
  expect(b.out).toContain('status passed → failed: o: 12 elements never written');
});

test('timings from a different device are not compared unless allowed; correctness still is', async () => {
  const base = syntheticResults();
  const next = structuredClone(base);
  for (const m of Object.values(next.metadata.backends)) if (m.info) m.info.device = 'NVIDIA A100';
  for (const r of next.records) if (r.timing) r.timing = { ...r.timing, medianMs: r.timing.medianMs * 3, p10Ms: r.timing.p10Ms * 3, p90Ms: r.timing.p90Ms * 3 };
  const refused = await run(base, next);
  expect(refused.code).toBe(0);
  expect(refused.out).toContain("timings not compared, device differs — cuda: 'NVIDIA H100 80GB HBM3' vs 'NVIDIA A100'");
  next.records[0]!.error!.lse!.nonFinite = 3;
  expect((await run(base, next)).code).toBe(1);
  next.records[0]!.error!.lse!.nonFinite = 0;
  expect((await run(base, next, '--allow-device-mismatch')).code).toBe(1);
});

test('a point missing from the new run is a regression unless --allow-missing; a new one is not', async () => {
  const base = syntheticResults();
  const next = structuredClone(base);
  next.records.pop();
  expect((await run(base, next)).code).toBe(1);
  expect((await run(base, next, '--allow-missing')).code).toBe(0);
  expect((await run(next, base)).out).toContain('1 NEW');
});
