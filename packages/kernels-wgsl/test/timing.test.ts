// time(): one sample per timed run and per stage, from timestamp queries where the adapter has them; cold L2 clears a
// scrub buffer before each run, outside the timestamps.
import { afterAll, describe, it } from 'vitest';
import { backend, expectPerStageTimings, skipGpu } from './_helpers.js';

afterAll(() => backend.close());

describe.skipIf(skipGpu)('timing', () => {
  it.each(['naive', 'tiled'] as const)('%s: per-stage samples that add up within the run', async (variant) => {
    await expectPerStageTimings(backend, variant);
  });
  it('cold L2: the same samples, and the answer says cold', async () => {
    await expectPerStageTimings(backend, 'tiled', 'cold');
  });
});
