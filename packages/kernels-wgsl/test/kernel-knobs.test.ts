// ATTN_WGSL_KERNEL, ATTN_WGSL_ROWS, ATTN_WGSL_COLS, ATTN_WGSL_ROBUSTNESS: read from the env, the option wins, a bad
// value is one clear error.
import { afterEach, describe, expect, it } from 'vitest';
import { createWgslBackend } from '../src/index.js';
import { skipGpu } from './_helpers.js';

const NAMES = ['ATTN_WGSL_KERNEL', 'ATTN_WGSL_ROWS', 'ATTN_WGSL_COLS', 'ATTN_WGSL_ROBUSTNESS'] as const;
const saved = NAMES.map((name) => [name, process.env[name]] as const);
afterEach(() => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('tiled kernel knobs', () => {
  it('rejects a kernel outside 1 to 5, rows or cols other than 4 or 8, robustness other than on or off', () => {
    process.env.ATTN_WGSL_KERNEL = '6';
    expect(() => createWgslBackend()).toThrow(/^ATTN_WGSL_KERNEL \/ kernel must be 1 to 5, got 6$/);
    process.env.ATTN_WGSL_KERNEL = 'two';
    expect(() => createWgslBackend()).toThrow(/ATTN_WGSL_KERNEL must be a positive integer, got 'two'/);
    delete process.env.ATTN_WGSL_KERNEL;
    process.env.ATTN_WGSL_ROWS = '6';
    expect(() => createWgslBackend()).toThrow(/^ATTN_WGSL_ROWS \/ rowsPerInvocation must be 4 or 8, got 6$/);
    delete process.env.ATTN_WGSL_ROWS;
    process.env.ATTN_WGSL_COLS = '2';
    expect(() => createWgslBackend()).toThrow(/^ATTN_WGSL_COLS \/ colsPerInvocation must be 4 or 8, got 2$/);
    delete process.env.ATTN_WGSL_COLS;
    process.env.ATTN_WGSL_ROBUSTNESS = 'no';
    expect(() => createWgslBackend()).toThrow(/^ATTN_WGSL_ROBUSTNESS must be 'on' or 'off', got 'no'$/);
  });

  it.skipIf(skipGpu)('the env picks the kernel, the option wins over it', async () => {
    process.env.ATTN_WGSL_KERNEL = '1';
    const fromEnv = createWgslBackend();
    const fromOption = createWgslBackend({ kernel: 2 });
    try {
      expect((await fromEnv.info()).details?.tiledKernel).toBe(1);
      expect((await fromOption.info()).details?.tiledKernel).toBe(2);
      expect((await fromOption.info()).details?.robustness).toBe(true);
    } finally {
      await fromEnv.close();
      await fromOption.close();
    }
  });
});
