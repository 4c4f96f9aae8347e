// A lost device (provoked here by destroying it) rejects the session's work with a message, never hangs or crashes.
import { randomInputs } from '@attn/reference';
import { describe, expect, it } from 'vitest';
import { gpuContext, releaseGpu } from '../src/dawn.js';
import { backend, problem, skipGpu } from './_helpers.js';

describe.skipIf(skipGpu)('device lost', () => {
  it('run and read reject naming the loss', async () => {
    const p = problem({ bh: 1, nq: 8, nk: 8, d: 4 });
    const s = await backend.open(p, 'tiled');
    await s.write(randomInputs(p, 3));
    await s.run(['lse']);
    const ctx = await gpuContext();
    if (typeof ctx === 'string') throw new Error(ctx);
    ctx.device.destroy();
    await expect(s.run(['lse', 'forward'])).rejects.toThrow(/device lost/);
    await expect(s.read(['o'])).rejects.toThrow(/device lost/);
    await releaseGpu();
  });
});
