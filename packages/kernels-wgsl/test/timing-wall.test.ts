// time() without timestamp queries: the wall-clock fallback, flagged 'wall', still one sample per run and stage.
import { randomInputs } from '@attn/reference';
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { problem, skipGpu } from './_helpers.js';

const backend = createWgslBackend({ wallClock: true });

afterAll(() => backend.close());

describe.skipIf(skipGpu)('timing, wall clock', () => {
  it.each(['naive', 'tiled'] as const)('%s: per-stage samples that add up within the run', async (variant) => {
    const p = problem({ bh: 2, nq: 33, nk: 40, d: 16, causal: true });
    const s = await backend.open(p, variant);
    try {
      await s.write(randomInputs(p, 99));
      const info = await backend.info();
      const stages = ['lse', 'forward', 'backward'] as const;
      // 11 samples: more than one submit's worth (8 runs per submit)
      const t = await s.time(stages, { warmup: 2, samples: 11 });
      expect(info.timer).toBe('wall');
      expect(t.source).toBe('wall');
      expect(t.totalMs).toHaveLength(11);
      for (const stage of stages) {
        const per = t.perStageMs[stage]!;
        expect(per).toHaveLength(11);
        expect(per.every((ms) => Number.isFinite(ms) && ms > 0)).toBe(true);
      }
      t.totalMs.forEach((total, i) => {
        const sum = stages.reduce((acc, st) => acc + t.perStageMs[st]![i]!, 0);
        expect(total).toBeGreaterThanOrEqual(sum * 0.999);
      });
    } finally {
      await s.dispose();
    }
  });
});
