/** On a CUDA device: time() gives one event-timed total per sample and a series per stage, all positive; cold L2 on request. */
import { expect, it } from 'vitest';
import { makeProblem, randomInputs } from '@attn/reference';
import { createCudaBackend } from '../src/index.js';
import { GPU_MISSING } from './_helpers.js';

it.skipIf(GPU_MISSING !== null)(`time() uses CUDA events per stage${GPU_MISSING ? ` (skipped: ${GPU_MISSING})` : ''}`, async () => {
  const backend = createCudaBackend();
  const problem = makeProblem({ bh: 4, nq: 257, nk: 300, d: 64, causal: true });
  try {
    for (const variant of backend.variants) {
      const session = await backend.open(problem, variant);
      await session.write(randomInputs(problem, 77));
      const t = await session.time(['lse', 'forward', 'backward'], { warmup: 2, samples: 5 });
      expect(t.source).toBe('gpu-timer');
      expect(t.totalMs).toHaveLength(5);
      for (const stage of ['lse', 'forward', 'backward'] as const) {
        const series = t.perStageMs[stage]!;
        expect(series).toHaveLength(5);
        for (const ms of series) expect(ms).toBeGreaterThan(0);
      }
      for (let k = 0; k < 5; k++) {
        const parts = t.perStageMs.lse![k]! + t.perStageMs.forward![k]! + t.perStageMs.backward![k]!;
        expect(t.totalMs[k]!).toBeCloseTo(parts, 2);
      }
      await session.dispose();
    }
  } finally {
    await backend.close();
  }
});

it.skipIf(GPU_MISSING !== null)(`time() with a cold L2 scrubs before each sample and says so${GPU_MISSING ? ` (skipped: ${GPU_MISSING})` : ''}`, async () => {
  const backend = createCudaBackend();
  const problem = makeProblem({ bh: 4, nq: 257, nk: 300, d: 64 });
  try {
    const session = await backend.open(problem, 'tiled');
    await session.write(randomInputs(problem, 78));
    const cold = await session.time(['lse', 'forward'], { warmup: 1, samples: 4, l2: 'cold' });
    expect(cold.l2).toBe('cold');
    expect(cold.totalMs).toHaveLength(4);
    for (const ms of cold.totalMs) expect(ms).toBeGreaterThan(0);
    expect((await session.time(['lse'], { warmup: 0, samples: 2 })).l2).toBe('warm');
    await session.dispose();
  } finally {
    await backend.close();
  }
});
