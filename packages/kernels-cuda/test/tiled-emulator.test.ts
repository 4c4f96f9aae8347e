/**
 * The tiled kernels, run on the CPU by kernels/tiled/emu (one std::thread per CUDA thread, a truncating model of the
 * tensor cores' accumulation), agree with a float64 reference on the odd shapes (N = 1, 17, 129, Nq ≠ Nk, d not a
 * power of two, causal and not) — every kernel version the launchers can pick, on a machine without a GPU.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const emuDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'kernels', 'tiled', 'emu');
const hasGxx = spawnSync('g++', ['--version']).status === 0;
const binary = join(mkdtempSync(join(tmpdir(), 'attn-emu-')), 'attn_emu');

describe.skipIf(!hasGxx)('tiled kernels on the CPU emulator (g++)', () => {
  beforeAll(() => {
    const naive = ['lse_naive', 'forward_naive', 'backward_naive', 'naive_pair_dot', 'naive_matmul', 'backward_delta'];
    const args = ['-std=c++20', '-O2', '-pthread', '-ffp-contract=off', '-Ishim', '-I../..', '-o', binary];
    args.push('emu.cpp', 'runtime.cpp', 'check.cpp', '-x', 'c++', ...naive.map((f) => `../../${f}.cu`));
    const r = spawnSync('g++', args, {
      cwd: emuDir,
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
  }, 180_000);

  // About a minute each on 2 cores, so CI runs these two; the other switches (ATTN_CUDA_TILED_CFG=1,
  // ATTN_CUDA_TILED_SCORES=long, versions 2) by hand: see kernels/tiled/emu/emu.cpp's header.
  const configs: Array<[string, Record<string, string>]> = [
    ['defaults (lse 3, forward 4, backward 3; shape 0)', { ATTN_CUDA_TILED_CFG: '0' }],
    ['version 1 (SIMT fp32)', { ATTN_CUDA_TILED_KERNEL: '1' }],
  ];
  for (const [name, env] of configs) {
    it(`${name}: every odd shape within tolerance`, () => {
      const seed = String(1 + Math.floor(Math.random() * 1e6));
      const r = spawnSync(binary, [seed], { encoding: 'utf8', env: { ...process.env, ...env } });
      const failures = r.stdout.split('\n').filter((l) => l.startsWith('FAIL'));
      expect(failures, `seed ${seed}: ${failures.join('\n')}`).toEqual([]);
      expect(r.status, `seed ${seed}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^0 failed$/m);
      expect(r.stdout.split('\n').filter((l) => l.startsWith('ok')).length).toBeGreaterThanOrEqual(25);
    }, 300_000);
  }
});
