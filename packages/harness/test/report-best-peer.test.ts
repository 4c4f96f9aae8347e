/** Ratio columns compare with the fastest peer that passed its accuracy check, per dtype, pass and shape. */
import { expect, test } from 'vitest';
import { bestPeer } from '../src/best-peer.js';
import { chartSpecs, renderMarkdown } from '../src/report.js';
import type { PointRecord, Results } from '../src/results.js';
import { record, syntheticResults } from './_results.js';

const t = (ms: number) => ({ medianMs: ms, p10Ms: ms * 0.99, p90Ms: ms * 1.01, rme: 0.3, samples: 40, source: 'gpu-timer' as const });
const err = (relL2: number) => ({ o: { maxAbs: relL2, relL2, nonFinite: 0, unwritten: 0, refMaxAbs: 1 } });

function results(): Results {
  const r = syntheticResults();
  const shape = { bh: 16, nq: 4096, nk: 4096, d: 128, causal: false } as const;
  const peers: PointRecord[] = [
    // forward: efficient fastest; a faster peer failed its check and must not count
    record({ ...shape, backend: 'torch', variant: 'efficient', stage: 'fwd', pipeline: 'fwd', timing: t(3.1), error: err(7e-7) }),
    record({ ...shape, backend: 'torch', variant: 'math', stage: 'fwd', pipeline: 'fwd', timing: t(5.2), error: err(1e-6) }),
    record({ ...shape, backend: 'torch', variant: 'sloppy', stage: 'fwd', pipeline: 'fwd', timing: t(1.0), error: err(3e-3), status: 'failed', reason: 'o: relL2 3.00e-3 > 1e-5' }),
    // backward: math fastest; a bf16 peer is faster still but of another dtype
    record({ ...shape, backend: 'torch', variant: 'efficient', stage: 'backward', pipeline: 'bwd', timing: t(9.6), error: err(1e-6) }),
    record({ ...shape, backend: 'torch', variant: 'math', stage: 'backward', pipeline: 'bwd', timing: t(7.5), error: err(1.3e-6) }),
    record({ ...shape, backend: 'torch', variant: 'flash', stage: 'backward', pipeline: 'bwd', dtype: 'bfloat16', timing: t(1.2), error: err(4e-3) }),
  ];
  r.records = r.records.filter((x) => !(x.backend === 'torch' && x.d === 128 && x.nq === 4096 && !x.causal)).concat(peers);
  return r;
}

test('the fastest passing peer of the same dtype, stage and shape: failed and other-dtype peers do not count', () => {
  const r = results();
  const ours = (stage: 'fwd' | 'backward') => r.records.find((x) => x.backend === 'cuda' && x.variant === 'tiled' && x.stage === stage && x.d === 128 && x.nq === 4096 && !x.causal)!;
  expect(bestPeer(r.records, ours('fwd'))).toMatchObject({ variant: 'efficient', stage: 'fwd' });
  expect(bestPeer(r.records, ours('backward'))).toMatchObject({ variant: 'math', stage: 'backward' });
  expect(bestPeer(r.records, { ...ours('backward'), dtype: 'bfloat16' })).toMatchObject({ variant: 'flash' });
  expect(bestPeer(r.records, { ...ours('fwd'), nq: 333 })).toBeNull();
});

test('the timings table names the peer per pass, and its time ÷ ours', () => {
  const r = results();
  const md = renderMarkdown(r, []);
  const tiled = (stage: string) => r.records.find((x) => x.backend === 'cuda' && x.variant === 'tiled' && x.stage === stage && x.d === 128 && x.nq === 4096 && !x.causal)!.timing!.medianMs;
  const lines = md.split('\n');
  const row = (stage: string): string => {
    const table = lines.findIndex((l) => l === `### cuda — ${stage}`);
    expect(table).toBeGreaterThan(-1);
    return lines.slice(table).find((l) => l.startsWith('| 16 | 4096 | 128 | no |'))!;
  };
  expect(row('forward (lse + forward)')).toContain(`| torch/efficient 3.1 ms | ${Number((3.1 / tiled('fwd')).toPrecision(3))}× |`);
  expect(row('stage 3 (backward)')).toContain(`| torch/math 7.5 ms | ${Number((7.5 / tiled('backward')).toPrecision(3))}× |`);
});

test('peers’ accuracy sits beside ours: in the peers table, the correctness table and the error charts', () => {
  const r = results();
  const md = renderMarkdown(r, []);
  expect(md).toMatch(/\| torch\/sloppy \| float32 \| fwd \| 16 \| 4096 \| 128 \| no \| 1 \| [\d.]+ \| full \| 0\.003 \| 0\.003 \| failed: o: relL2 3\.00e-3 > 1e-5 \|/);
  expect(md).toMatch(/\| torch\/math \*\*best\*\* \| float32 \| backward \| 16 \| 4096 \| 128 \| no \|/);
  expect(md).toMatch(/\| torch\/efficient \| fwd \| 16 \| 4096 \| 128 \| no \| 1 \| full \|/);
  const fwdErrors = chartSpecs(r).find((c) => c.file === 'error-fwd-d128.png')!.spec;
  const sloppy = fwdErrors.series.find((s) => s.label === 'torch/sloppy')!;
  expect(sloppy.points).toEqual([{ x: 4096, y: 3e-3 }]);
  expect(fwdErrors.series.map((s) => s.label)).toEqual(expect.arrayContaining(['cuda/tiled', 'torch/efficient']));
});

test('a float16 record’s best peer is the fastest passing float16 peer: never a float32 one, never a failed one', () => {
  const shape = { bh: 16, nq: 4096, nk: 4096, d: 64, causal: false, stage: 'fwd', pipeline: 'fwd' } as const;
  const ours = record({ ...shape, dtype: 'float16' });
  const records: PointRecord[] = [
    // float32 peers, all faster than every float16 one: another problem
    record({ ...shape, backend: 'torch', variant: 'efficient', timing: t(0.1), error: err(7e-7) }),
    record({ ...shape, backend: 'torch', variant: 'math', timing: t(0.2), error: err(1e-6) }),
    // float16: cudnn fastest but failed its check; flash passed; efficient slower; a bfloat16 flash faster still
    record({ ...shape, backend: 'torch', variant: 'cudnn', dtype: 'float16', timing: t(0.5), error: err(4e-2), status: 'failed', reason: 'FlashAttention rule: o: …' }),
    record({ ...shape, backend: 'torch', variant: 'flash', dtype: 'float16', timing: t(0.9), error: err(3e-4) }),
    record({ ...shape, backend: 'torch', variant: 'efficient', dtype: 'float16', timing: t(1.4), error: err(3e-4) }),
    record({ ...shape, backend: 'torch', variant: 'flash', dtype: 'bfloat16', timing: t(0.8), error: err(2e-3) }),
    // skipped: no timing
    record({ ...shape, backend: 'torch', variant: 'math', dtype: 'float16', status: 'skipped', reason: 'x', timing: null, error: null }),
  ];
  expect(bestPeer(records, ours)).toMatchObject({ variant: 'flash', dtype: 'float16' });
  expect(bestPeer(records, { ...ours, dtype: 'bfloat16' })).toMatchObject({ variant: 'flash', dtype: 'bfloat16' });
  expect(bestPeer(records, { ...ours, dtype: 'float32' })).toMatchObject({ variant: 'efficient', dtype: 'float32' });
  // with only float32 peers and failed float16 ones, a float16 record has none
  expect(bestPeer(records.filter((r) => r.dtype !== 'float16' || r.status === 'failed'), ours)).toBeNull();
});

test('the float16 timings table and the peers table name the float16 best peer', () => {
  const r = syntheticResults();
  const shape = { bh: 16, nq: 4096, nk: 4096, d: 64, causal: false, stage: 'fwd', pipeline: 'fwd' } as const;
  r.records.push(
    record({ ...shape, variant: 'tiled', dtype: 'float16', timing: t(1.2) }),
    record({ ...shape, backend: 'torch', variant: 'flash', dtype: 'float16', timing: t(0.9), error: err(3e-4) }),
    record({ ...shape, backend: 'torch', variant: 'cudnn', dtype: 'float16', timing: t(0.5), error: err(4e-2), status: 'failed', reason: 'FlashAttention rule' }),
  );
  const lines = renderMarkdown(r, []).split('\n');
  const table = lines.findIndex((l) => l === '### cuda — forward (lse + forward) (float16)');
  expect(lines.slice(table).find((l) => l.startsWith('| 16 | 4096 | 64 | no |'))).toContain('| torch/flash float16 0.9 ms | 0.75× |');
  expect(lines).toContain('| torch/flash float16 **best** | float16 | fwd | 16 | 4096 | 64 | no | 0.9 | 10 | full | 3.00e-4 | 3.00e-4 | passed |');
  expect(lines.find((l) => l.startsWith('| torch/cudnn float16'))).not.toContain('**best**');
});
