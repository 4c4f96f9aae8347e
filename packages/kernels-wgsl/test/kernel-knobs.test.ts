// ATTN_WGSL_KERNEL and ATTN_WGSL_ROWS: read from the env, the option wins, a bad value is one clear error.
import { afterEach, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const saved = { kernel: process.env.ATTN_WGSL_KERNEL, rows: process.env.ATTN_WGSL_ROWS };
afterEach(() => {
  for (const [name, value] of [['ATTN_WGSL_KERNEL', saved.kernel], ['ATTN_WGSL_ROWS', saved.rows]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('tiled kernel knobs', () => {
  it('rejects a kernel other than 1 or 2, and rows other than 4 or 8', () => {
    process.env.ATTN_WGSL_KERNEL = '3';
    expect(() => createWgslBackend()).toThrow(/^ATTN_WGSL_KERNEL \/ kernel must be 1 or 2, got 3$/);
    process.env.ATTN_WGSL_KERNEL = 'two';
    expect(() => createWgslBackend()).toThrow(/ATTN_WGSL_KERNEL must be a positive integer, got 'two'/);
    delete process.env.ATTN_WGSL_KERNEL;
    process.env.ATTN_WGSL_ROWS = '6';
    expect(() => createWgslBackend()).toThrow(/^ATTN_WGSL_ROWS \/ rowsPerInvocation must be 4 or 8, got 6$/);
  });

  it.skipIf(skipGpu)('the env picks the kernel, the option wins over it', async () => {
    process.env.ATTN_WGSL_KERNEL = '1';
    const fromEnv = createWgslBackend();
    const fromOption = createWgslBackend({ kernel: 2 });
    try {
      expect((await fromEnv.info()).details?.tiledKernel).toBe(1);
      expect((await fromOption.info()).details?.tiledKernel).toBe(2);
    } finally {
      await fromEnv.close();
      await fromOption.close();
    }
  });
});
