/** Synthetic results.json for the report and compare tests: a GPU-like sweep with naive/tiled, a checked peer and an OOM. */
import type { ErrorStats, PointRecord, Results } from '../src/results.js';
import { SCHEMA_VERSION } from '../src/results.js';

export function record(over: Partial<PointRecord> = {}): PointRecord {
  return {
    backend: 'cuda',
    variant: 'tiled',
    pipeline: 'fwd',
    stage: 'fwd',
    nq: 1024,
    nk: 1024,
    d: 64,
    bh: 16,
    causal: false,
    dtype: 'float32',
    status: 'passed',
    seed: 7,
    checked: 'full',
    error: { lse: { maxAbs: 2e-7, relL2: 1e-7, nonFinite: 0, unwritten: 0, refMaxAbs: 9 }, o: { maxAbs: 3e-7, relL2: 2e-7, nonFinite: 0, unwritten: 0, refMaxAbs: 1 } },
    timing: { medianMs: 1, p10Ms: 0.98, p90Ms: 1.02, rme: 0.5, samples: 50, source: 'gpu-timer' },
    tflops: 10,
    bytes: 1 << 24,
    flashRule: null,
    ...over,
  };
}

export function syntheticResults(): Results {
  const records: PointRecord[] = [];
  for (const stage of ['fwd', 'backward'] as const) {
    const pipeline = stage === 'fwd' ? 'fwd' : 'bwd';
    for (const d of [64, 128]) {
      for (const causal of [false, true]) {
        for (const n of [256, 1024, 4096, 16384]) {
          const f = (stage === 'fwd' ? 4 : 10) * 16 * n * n * d * (causal ? 0.5 : 1);
          const tiledMs = f / 20e9 + 0.01;
          const naiveMs = tiledMs * (2 + Math.log2(n) / 2);
          const base = { stage, pipeline, d, causal, nq: n, nk: n } as const;
          records.push(record({ ...base, variant: 'tiled', timing: { medianMs: tiledMs, p10Ms: tiledMs * 0.98, p90Ms: tiledMs * 1.03, rme: 0.4, samples: 40, source: 'gpu-timer' }, tflops: f / tiledMs / 1e9, bytes: 4 * 16 * n * d * 6, flashRule: { ratio: 0.6, passed: true, output: 'o', yardstick: 'textbook-float32', maxAbs: 3e-7, textbookMaxAbs: 2.5e-7, floor: 4e-7 } }));
          if (n < 16384) {
            records.push(record({ ...base, variant: 'naive', timing: { medianMs: naiveMs, p10Ms: naiveMs * 0.97, p90Ms: naiveMs * 1.04, rme: 0.6, samples: 30, source: 'gpu-timer' }, tflops: f / naiveMs / 1e9, bytes: 4 * 16 * n * d * 6 + 4 * 16 * n * n * (stage === 'fwd' ? 1 : 4) }));
          } else {
            records.push(record({ ...base, variant: 'naive', status: 'skipped', reason: 'open: cudaMalloc out of memory (68.7 GB requested)', error: null, timing: null, tflops: null, bytes: null }));
          }
          if (!causal) {
            const peerMs = f / 30e9;
            const error: Record<string, ErrorStats> = stage === 'fwd'
              ? { lse: { maxAbs: 3e-7, relL2: 1.5e-7, nonFinite: 0, unwritten: 0, refMaxAbs: 9 }, o: { maxAbs: 5e-7, relL2: 4e-7, nonFinite: 0, unwritten: 0, refMaxAbs: 1 } }
              : { dq: { maxAbs: 2e-6, relL2: 1e-6, nonFinite: 0, unwritten: 0, refMaxAbs: 1 }, dk: { maxAbs: 2e-6, relL2: 1e-6, nonFinite: 0, unwritten: 0, refMaxAbs: 1 }, dv: { maxAbs: 1e-6, relL2: 8e-7, nonFinite: 0, unwritten: 0, refMaxAbs: 1 } };
            records.push(record({ ...base, backend: 'torch', variant: 'efficient', error, timing: { medianMs: peerMs, p10Ms: peerMs * 0.99, p90Ms: peerMs * 1.01, rme: 0.2, samples: 60, source: 'gpu-timer' }, tflops: f / peerMs / 1e9 }));
          }
        }
      }
    }
  }
  return {
    schemaVersion: SCHEMA_VERSION,
    metadata: {
      name: 'synthetic',
      createdAt: '2026-11-25T12:00:00.000Z',
      gitCommit: 'abc123',
      host: 'test',
      platform: 'linux-x64',
      node: 'v20',
      preset: 'gpu',
      seed: 1,
      argv: ['--preset', 'gpu'],
      backends: {
        cuda: { availability: null, info: { backend: 'cuda', version: '0.1.0', device: 'NVIDIA H100 80GB HBM3', driver: '580.159', dtype: 'float32', timer: 'gpu-timer' } },
        wgsl: { availability: 'no WebGPU adapter' },
        torch: { availability: null, info: { backend: 'torch', version: 'torch 2.11', device: 'NVIDIA H100 80GB HBM3', dtype: 'float32', timer: 'gpu-timer' } },
      },
    },
    records,
  };
}

/**
 * syntheticResults() plus float16 and bfloat16 runs of the same shapes: cuda naive and tiled about twice as fast as in
 * float32, torch flash (fastest) and efficient, errors of the dtype's size beside the textbook's; ceilings measured
 * (fp16 654, bf16 672 TF/s GEMMs) into the metadata.
 */
export function halfResults(): Results {
  const r = syntheticResults();
  const half: PointRecord[] = [];
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const u = dtype === 'float16' ? 4.9e-4 : 3.9e-3;
    const err = (names: string[]): Record<string, ErrorStats> =>
      Object.fromEntries(names.map((n) => [n, { maxAbs: 2 * u, relL2: u, nonFinite: 0, unwritten: 0, refMaxAbs: 1, textbookMaxAbs: 3 * u, textbookRelL2: 1.5 * u }]));
    for (const x of r.records.filter((x) => x.backend === 'cuda' || (x.backend === 'torch' && x.variant === 'efficient'))) {
      const outputs = Object.keys(x.error ?? {});
      const speed = x.backend === 'cuda' ? 2 : 1.5;
      const timing = x.timing && { ...x.timing, medianMs: x.timing.medianMs / speed, p10Ms: x.timing.p10Ms / speed, p90Ms: x.timing.p90Ms / speed };
      const rule = x.flashRule && { ...x.flashRule, yardstick: `textbook-${dtype}` as const, ratio: 0.4 };
      half.push({ ...x, dtype, error: x.error && err(outputs), timing, tflops: x.tflops && x.tflops * speed, bytes: x.bytes && x.bytes / 2, flashRule: rule });
      if (x.backend === 'torch') {
        const t = timing!;
        half.push({ ...x, dtype, variant: 'flash', error: err(outputs), timing: { ...t, medianMs: t.medianMs / 2 }, tflops: x.tflops! * 3 });
      }
    }
  }
  r.records.push(...half);
  r.metadata.ceilings = { fp32MatmulTFs: 50.7, tf32MatmulTFs: 360, fp16MatmulTFs: 654, bf16MatmulTFs: 672, copyGBs: 4200, source: 'torch (synthetic)' };
  return r;
}
