/** On a CUDA device: bad inputs and too-large problems fail as one clear line naming the tensor or the bytes. */
import { expect, it } from 'vitest';
import { BackendError, makeProblem } from '@attn/reference';
import { createCudaBackend } from '../src/index.js';
import { GPU_MISSING } from './_helpers.js';

it.skipIf(GPU_MISSING !== null)(`errors name the problem${GPU_MISSING ? ` (skipped: ${GPU_MISSING})` : ''}`, async () => {
  const backend = createCudaBackend();
  try {
    const problem = makeProblem({ bh: 2, nq: 17, nk: 19, d: 40 });
    const session = await backend.open(problem, 'naive');
    await expect(session.write({ q: new Float32Array(5) })).rejects.toThrow(
      'q has 5 elements, the problem needs 1360 (cuda naive bh=2 nq=17 nk=19 d=40 dv=40)',
    );
    await session.dispose();

    // Naive scores of 2^40 floats: refused before any allocation, with the bytes asked for.
    const huge = makeProblem({ bh: 1024, nq: 32768, nk: 32768, d: 16 });
    expect(backend.check(huge, 'naive')).toMatch(/^naive scores need 4096\.00 GiB \(\+[\d.]+ GiB tensors\), device has [\d.]+ GiB in all$/);
    await expect(backend.open(huge, 'naive')).rejects.toThrow(BackendError);
  } finally {
    await backend.close();
  }
});
