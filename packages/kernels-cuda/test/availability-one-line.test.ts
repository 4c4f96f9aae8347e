/** availability() is null with a device, else exactly one line; info() and open() agree with it. */
import { expect, it } from 'vitest';
import { BackendError, makeProblem } from '@attn/reference';
import { createCudaBackend } from '../src/index.js';

it('availability is null or one line naming what is missing', async () => {
  const backend = createCudaBackend();
  const why = await backend.availability();
  if (why === null) {
    const info = await backend.info();
    expect(info.device.length).toBeGreaterThan(0);
    expect(info.timer).toBe('gpu-timer');
    return;
  }
  expect(why).toMatch(/^(no CUDA device found \(.+\)|CUDA backend not built: .+|CUDA addon failed to load: .+)$/);
  expect(why).not.toContain('\n');
  await expect(backend.info()).rejects.toThrow(BackendError);
  const err = await backend.open(makeProblem({ bh: 1, nq: 17, d: 16 }), 'naive').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackendError);
  expect((err as Error).message).toBe(why);
});
