import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, FloatArray, OutputName, Problem, Session, Variant } from '@attn/reference';
import { closeReferencePool, createReferenceBackend, POISON_F32_BITS } from '@attn/reference';
import { afterAll, expect, test } from 'vitest';
import type { LoadedBackend, SweepConfig } from '../src/sweep.js';
import { expandBlocks, Sweep } from '../src/sweep.js';
import type { Metadata } from '../src/results.js';
import { pointKey, readResults } from '../src/results.js';

afterAll(() => closeReferencePool());

const metadata: Metadata = { name: 't', createdAt: new Date().toISOString(), gitCommit: null, host: 'h', platform: 'p', node: process.version, preset: 'cpu', seed: 5, argv: [], backends: {} };

type Tamper = (name: OutputName, a: Float32Array) => void;

/** The float64 reference behind a float32 face: 'naive' rounds to float32, 'tiled' also applies `tamper`. */
function float32Backend(tamper: Tamper, extra: Partial<Backend> = {}): Backend {
  const ref = createReferenceBackend({ threads: 1 });
  return {
    name: 'fake',
    variants: ['naive', 'tiled'],
    availability: async () => null,
    info: async () => ({ ...(await ref.info()), backend: 'fake', dtype: 'float32' }),
    limits: () => ref.limits('exact'),
    check: (p: Problem) => ref.check(p, 'exact'),
    async open(p: Problem, variant: Variant): Promise<Session> {
      const inner = await ref.open(p, 'exact');
      return {
        problem: p,
        variant,
        deviceBytes: inner.deviceBytes / 2,
        write: (t) => inner.write(t),
        poison: () => inner.poison(),
        run: (s) => inner.run(s),
        time: (s, o) => inner.time(s, o),
        dispose: () => inner.dispose(),
        async read<N extends OutputName>(names: readonly N[]) {
          const r = await inner.read(names);
          const out = {} as Record<N, FloatArray>;
          for (const n of names) {
            const a = Float32Array.from(r[n]);
            // keep the poison pattern (Float32Array.from turns it into a canonical NaN)
            const bits = new Uint32Array(a.buffer);
            r[n].forEach((x, i) => Number.isNaN(x) && (bits[i] = POISON_F32_BITS));
            if (variant === 'tiled') tamper(n, a);
            out[n] = a;
          }
          return out;
        },
      };
    },
    close: () => ref.close(),
    ...extra,
  };
}

function config(over: Partial<SweepConfig> = {}): SweepConfig {
  return {
    backends: [],
    variants: ['naive', 'tiled', 'exact'],
    pipelines: ['lse', 'fwd', 'bwd'],
    problems: expandBlocks([{ sizes: [[1, 1], [17, 17], [5, 9]], ds: [5], causal: [false, true], bh: [2] }]),
    seed: 5,
    timing: { warmup: 1, minSamples: 2, budgetMs: 1, l2: 'warm' },
    sampleRows: 8,
    outPath: null,
    ...over,
  };
}

test('the reference backend passes every point, timed by wall clock, and results.json is written as it goes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'attn-sweep-'));
  const outPath = join(dir, 'results.json');
  const loaded: LoadedBackend[] = [{ name: 'reference', backend: createReferenceBackend({ threads: 1 }) }];
  const results = await new Sweep(config({ outPath }), metadata, loaded).run();
  // 6 problems × (lse 1 + fwd 3 + bwd 1) records
  expect(results.records).toHaveLength(6 * 5);
  expect(results.records.every((r) => r.status === 'passed' && r.variant === 'exact' && r.dtype === 'float32')).toBe(true);
  const fwd = results.records.find((r) => r.stage === 'fwd' && r.nq === 17 && !r.causal)!;
  expect(Object.keys(fwd.error!)).toEqual(['lse', 'o']);
  expect(fwd.timing!.source).toBe('wall');
  expect(fwd.tflops).toBeGreaterThan(0);
  expect(fwd.checked).toBe('full');
  expect(readResults(outPath).records).toEqual(JSON.parse(JSON.stringify(results.records)));
});

test('an unwritten element fails the tiled point, naming the output and the seed; float32 rounding passes', async () => {
  const backend = float32Backend((n, a) => {
    if (n === 'o') new Uint32Array(a.buffer)[3] = POISON_F32_BITS;
  });
  const results = await new Sweep(config({ timing: null, pipelines: ['fwd'] }), metadata, [{ name: 'fake', backend }]).run();
  const naive = results.records.filter((r) => r.variant === 'naive');
  expect(naive.length).toBeGreaterThan(0);
  expect(naive.every((r) => r.status === 'passed')).toBe(true);
  const bad = results.records.find((r) => r.variant === 'tiled' && r.stage === 'fwd' && r.nq === 17)!;
  expect(bad.status).toBe('failed');
  expect(bad.error!.o!.unwritten).toBe(1);
  expect(bad.reason).toMatch(/o: 1 elements never written.*\(seed \d+\)/);
  // the lse record of the same run is judged on lse alone and passes
  expect(results.records.find((r) => r.variant === 'tiled' && r.stage === 'lse' && r.nq === 17)!.status).toBe('passed');
});

test('the FlashAttention rule fails a result far less accurate than the float32 textbook on the same inputs', async () => {
  const backend = float32Backend((n, a) => {
    if (n === 'dq') for (let i = 0; i < a.length; i++) a[i] = a[i]! * (1 + 3e-6);
  });
  const results = await new Sweep(config({ timing: null, pipelines: ['bwd'] }), metadata, [{ name: 'fake', backend }]).run();
  const tiled = results.records.find((r) => r.variant === 'tiled' && r.nq === 17 && !r.causal)!;
  expect(tiled.flashRule!.output).toBe('dq');
  expect(tiled.flashRule!.passed).toBe(false);
  expect(tiled.status).toBe('failed');
  expect(tiled.reason).toContain('FlashAttention rule: dq: max|error|');
  expect(tiled.flashRule!.yardstick).toBe('textbook-float32');
  expect(tiled.error!.dq!.textbookMaxAbs).toBeGreaterThan(0);
  // float32 rounding of the exact answer is within the rule: every naive record is judged by it and passes
  const naive = results.records.filter((r) => r.variant === 'naive');
  expect(naive.every((r) => r.flashRule !== null && r.flashRule.passed && r.status === 'passed')).toBe(true);
});

test('check() refusals and out-of-memory at open are skipped with the reason; other open errors fail', async () => {
  const refusing = float32Backend(() => undefined, { check: (p: Problem) => (p.nq > 8 ? 'N over the limit' : null) });
  const oom = float32Backend(() => undefined, {
    open: async (p: Problem, v: Variant) => {
      if (v === 'naive') throw new Error(`cudaMalloc: out of memory for ${p.nq}`);
      throw new Error('invalid device function');
    },
  });
  const problems = expandBlocks([{ sizes: [[1, 1], [17, 17]], ds: [4], causal: [false], bh: [1] }]);
  const results = await new Sweep(config({ timing: null, pipelines: ['lse'], problems }), metadata, [
    { name: 'refusing', backend: refusing },
    { name: 'oom', backend: oom },
  ]).run();
  const at = (b: string, v: string, n: number) => results.records.find((r) => r.backend === b && r.variant === v && r.nq === n)!;
  expect(at('refusing', 'tiled', 1).status).toBe('passed');
  expect(at('refusing', 'tiled', 17)).toMatchObject({ status: 'skipped', reason: 'N over the limit' });
  expect(at('oom', 'naive', 17)).toMatchObject({ status: 'skipped', reason: 'open: cudaMalloc: out of memory for 17' });
  expect(at('oom', 'tiled', 17)).toMatchObject({ status: 'failed', reason: 'open: invalid device function' });
});

test('an abort stops after the running point and marks the results interrupted', async () => {
  const controller = new AbortController();
  const loaded: LoadedBackend[] = [{ name: 'reference', backend: createReferenceBackend({ threads: 1 }) }];
  const sweep = new Sweep(config({ signal: controller.signal, timing: null }), metadata, loaded);
  const add = sweep.add.bind(sweep);
  sweep.add = (records) => {
    add(records);
    controller.abort();
  };
  const results = await sweep.run();
  expect(results.metadata.interrupted).toBe(true);
  expect(results.records).toHaveLength(1);
});

test('the score-magnitude axis: inputs drawn per σ, records carry scoreStd (absent at 1) and are keyed apart', async () => {
  const problems = expandBlocks([{ sizes: [[17, 17]], ds: [8], causal: [true], bh: [1], scoreStd: [1, 128] }]);
  expect(problems.map((p) => p.scoreStd)).toEqual([1, 128]);
  const backend = float32Backend(() => undefined);
  const results = await new Sweep(config({ timing: null, pipelines: ['bwd'], problems }), metadata, [{ name: 'fake', backend }]).run();
  const [plain, large] = [results.records.filter((r) => r.scoreStd === undefined), results.records.filter((r) => r.scoreStd === 128)];
  expect(plain).toHaveLength(2);
  expect(large).toHaveLength(2);
  expect(new Set(results.records.map(pointKey)).size).toBe(4);
  // larger scores, larger (textbook) errors — and float32 rounding of the exact answer still passes the rule
  expect(large[0]!.error!.dq!.textbookMaxAbs!).toBeGreaterThan(plain[0]!.error!.dq!.textbookMaxAbs!);
  expect(results.records.every((r) => r.status === 'passed')).toBe(true);
});

test('the dtype axis: inputs rounded per dtype, records carry it and are keyed apart; a float32-only backend refuses a half one', async () => {
  const problems = expandBlocks([{ sizes: [[17, 17]], ds: [8], causal: [false], bh: [1], dtypes: ['float32', 'float16'] }]);
  expect(problems.map((p) => p.problem.dtype)).toEqual(['float32', 'float16']);
  const refusing = float32Backend(() => undefined, { check: (p: Problem) => (p.dtype !== 'float32' ? `fake takes float32; ${p.dtype} is not implemented` : null) });
  const loaded: LoadedBackend[] = [{ name: 'reference', backend: createReferenceBackend({ threads: 1 }) }, { name: 'fake', backend: refusing }];
  const results = await new Sweep(config({ timing: null, pipelines: ['fwd'], problems }), metadata, loaded).run();
  const half = results.records.filter((r) => r.dtype === 'float16');
  expect(half.filter((r) => r.backend === 'reference').every((r) => r.status === 'passed')).toBe(true);
  expect(half.filter((r) => r.backend === 'fake').every((r) => r.status === 'skipped' && /float16 is not implemented/.test(r.reason ?? ''))).toBe(true);
  expect(new Set(results.records.map(pointKey)).size).toBe(results.records.length);
  // the textbook's float16 error (its yardstick) is a float16 error, far above float32's
  const tb = (dtype: string) => results.records.find((r) => r.backend === 'reference' && r.stage === 'fwd' && r.dtype === dtype)!.error!.o!.textbookRelL2!;
  expect(tb('float16')).toBeGreaterThan(100 * tb('float32'));
});
