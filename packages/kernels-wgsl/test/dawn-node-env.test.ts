// ATTN_DAWN_NODE: the backend loads that dawn.node file (as the GPU bundle does) instead of the webgpu package.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dawnNode = join(dirname(createRequire(import.meta.url).resolve('webgpu')), 'dist', `${process.platform}-${process.arch}`, 'dawn.node');

describe('ATTN_DAWN_NODE', () => {
  it('a missing file gives one line, not a crash', async () => {
    process.env.ATTN_DAWN_NODE = '/nonexistent/dawn.node';
    const { createWgslBackend } = await import('../src/index.js');
    const why = await createWgslBackend().availability();
    expect(why).toMatch(/^WebGPU \(Dawn\) not loadable: .*nonexistent/);
    expect(why).not.toContain('\n');
  });
});

describe('ATTN_DAWN_NODE, real file', () => {
  it('loads the named dawn.node', async () => {
    const { releaseGpu } = await import('../src/dawn.js');
    await releaseGpu();
    process.env.ATTN_DAWN_NODE = dawnNode;
    const { createWgslBackend } = await import('../src/index.js');
    const backend = createWgslBackend();
    const why = await backend.availability();
    if (why !== null && !process.env.CI) return expect(why).not.toContain('\n');
    expect(why).toBeNull();
    expect((await backend.info()).backend).toBe('wgsl');
    await backend.close();
  });
});
