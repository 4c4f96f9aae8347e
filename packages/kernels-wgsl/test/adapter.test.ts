// An adapter exists here (the project-local lavapipe on a machine with no GPU); under CI a missing one fails.
import { afterAll, expect, it } from 'vitest';
import { backend, unavailable } from './_helpers.js';

afterAll(() => backend.close());

it('finds a WebGPU adapter, or says in one line why not', async (ctx) => {
  if (unavailable !== null) {
    expect(unavailable).not.toContain('\n');
    if (process.env.CI) expect.fail(`CI needs a WebGPU adapter: ${unavailable}`);
    ctx.skip(unavailable);
  }
  const info = await backend.info();
  expect(info.backend).toBe('wgsl');
  expect(info.device.length).toBeGreaterThan(0);
  expect(info.dtype).toBe('float32');
  expect(backend.variants).toEqual(['naive', 'tiled']);
});
