// time() without timestamp queries: the wall-clock fallback, flagged 'wall', still one sample per run and stage.
import { afterAll, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { expectPerStageTimings, skipGpu } from './_helpers.js';

const backend = createWgslBackend({ wallClock: true });

afterAll(() => backend.close());

describe.skipIf(skipGpu)('timing, wall clock', () => {
  it.each(['naive', 'tiled'] as const)('%s: per-stage samples that add up within the run', async (variant) => {
    expect((await backend.info()).timer).toBe('wall');
    expect(await expectPerStageTimings(backend, variant)).toBe('wall');
  });
  it('cold L2 with the wall clock: a scrub submit before each run, outside its interval', async () => {
    expect(await expectPerStageTimings(backend, 'tiled', 'cold')).toBe('wall');
  });
});
