// time(): one sample per timed run and per stage, from timestamp queries where the adapter has them.
import { afterAll, describe, it } from 'vitest';
import { backend, expectPerStageTimings, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('timing', () => {
  it.each(['naive', 'tiled'] as const)('%s: per-stage samples that add up within the run', async (variant) => {
    await expectPerStageTimings(backend, variant);
  });
});
