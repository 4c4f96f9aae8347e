/**
 * The CUDA kernels, run on the CPU by kernels/tiled/emu (fibers for CUDA threads, a truncating model of the tensor
 * cores' accumulation), meet FlashAttention's rule against a textbook float32 attention — max |kernel − float64| <=
 * 2 × max |textbook − float64| + 4 float32 ulps of the output's scale, for lse, O, dQ, dK and dV — on the odd shapes
 * (N = 1, 17, 129, Nq ≠ Nk, d not a power of two, causal and not) and at every score magnitude (scaled scores with
 * standard deviation 1, 8, 128 and 1024): every tiled kernel version the launchers can pick, and the naive kernels.
 * Dropping lse's low part (the single-float lse the kernels had before) fails that rule at large scores.
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

/** The environment without kernel or emulator switches of the caller's own: each run sets exactly its own. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^ATTN_(CUDA|EMU)_/.test(k)) env[k] = v;
  return { ...env, ...extra };
}

function runEmulator(seed: number, suite: string, variant: 'tiled' | 'naive', env: Record<string, string>) {
  const r = spawnSync(binary, [String(seed), suite, variant], { encoding: 'utf8', env: cleanEnv(env) });
  const lines = r.stdout.split('\n');
  return {
    status: r.status,
    stderr: r.stderr,
    stdout: r.stdout,
    failures: lines.filter((l) => l.startsWith('FAIL')),
    passed: lines.filter((l) => l.startsWith('ok')).length,
  };
}

interface Config {
  name: string;
  variant: 'tiled' | 'naive';
  env: Record<string, string>;
  /** suite -> cases it holds under env's filters */
  suites: Partial<Record<'odd' | 'scores', number>>;
}

// About 30 s of CPU in all. D = 32 and 256 run version 1 whatever the setting, so they are covered by the first
// config; stages a config shares with the defaults are skipped (ATTN_EMU_STAGES=fwd). Not here: the named, less
// exact variant ATTN_CUDA_TILED_SCORES=long (one truncating mma chain per score over d), which fails this rule by
// design (NOTES.md), and the big / bigbwd suites (minutes; kernels/tiled/emu/emu.cpp's header).
const configs: Config[] = [
  { name: 'tiled defaults, shape 0 (lse 3, forward 4, backward 3; version 1 at D = 32, 256)', variant: 'tiled', env: { ATTN_CUDA_TILED_CFG: '0' }, suites: { odd: 25, scores: 40 } },
  { name: 'tiled defaults, shape 1 (lse 3, forward 4)', variant: 'tiled', env: { ATTN_CUDA_TILED_CFG: '1', ATTN_EMU_STAGES: 'fwd', ATTN_EMU_BUCKETS: '64,128' }, suites: { scores: 24 } },
  { name: 'tiled version 1 (SIMT fp32) at D = 64, 128', variant: 'tiled', env: { ATTN_CUDA_TILED_KERNEL: '1', ATTN_EMU_BUCKETS: '64,128' }, suites: { odd: 16, scores: 24 } },
  { name: 'tiled version 2 (tensor cores, all stages)', variant: 'tiled', env: { ATTN_CUDA_TILED_KERNEL: '2', ATTN_EMU_BUCKETS: '64,128' }, suites: { scores: 24 } },
  { name: 'tiled forward version 3', variant: 'tiled', env: { ATTN_CUDA_TILED_KERNEL: '3', ATTN_EMU_STAGES: 'fwd', ATTN_EMU_BUCKETS: '64,128' }, suites: { scores: 24 } },
  { name: 'naive', variant: 'naive', env: {}, suites: { odd: 25, scores: 40 } },
];

describe.skipIf(!hasGxx)('CUDA kernels on the CPU emulator (g++)', () => {
  beforeAll(() => {
    const naive = ['lse_naive', 'forward_naive', 'backward_naive', 'naive_pair_dot', 'naive_matmul', 'backward_delta'];
    const args = ['-std=c++20', '-O3', '-pthread', '-ffp-contract=off', '-Ishim', '-I../..', '-o', binary];
    args.push('emu.cpp', 'runtime.cpp', 'check.cpp', '-x', 'c++', ...naive.map((f) => `../../${f}.cu`));
    const r = spawnSync('g++', args, { cwd: emuDir, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }, 240_000);

  // The odd shapes take a fresh seed each run (indexing and mask mistakes show on any input). The scores suite keeps
  // the emulator's default seed: at sigma >= 128 one or two near-tied rows set each max, and a kernel as accurate as a
  // float32 attention still exceeds 2x the worst of the four textbook orders in about 1 case in 500-1000 by rounding
  // luck (seeds 101-124 x 40 cases: naive 2, the tensor-core versions 1; NOTES.md), so a fresh seed would only add
  // flakes.
  for (const config of configs) {
    it(`${config.name}: the rule holds on every case`, () => {
      for (const [suite, cases] of Object.entries(config.suites)) {
        const seed = suite === 'odd' ? 1 + Math.floor(Math.random() * 1e6) : 1234;
        const r = runEmulator(seed, suite, config.variant, config.env);
        expect(r.failures, `${suite} suite, seed ${seed}:\n${r.failures.join('\n')}`).toEqual([]);
        expect(r.status, `${suite} suite, seed ${seed}: ${r.stderr}`).toBe(0);
        expect(r.stdout).toMatch(/^0 failed$/m);
        expect(r.passed, `${suite} suite, seed ${seed}`).toBe(cases);
      }
    }, 120_000);
  }

  it('a single-float lse (its low part dropped) fails the rule at large scores, naive and tiled', () => {
    for (const variant of ['tiled', 'naive'] as const) {
      const env = { ATTN_CUDA_TILED_CFG: '0', ATTN_EMU_DROP_LSE_LO: '1' };
      const dropped = runEmulator(1234, 'case:1,129,129,64,64,0,1024', variant, env);
      expect(dropped.failures.length, dropped.stdout).toBe(1);
      expect(dropped.failures[0]).toMatch(/ o [0-9.e+-]+\/[0-9.e+-]+!/);
      const kept = runEmulator(1234, 'case:1,129,129,64,64,0,1024', variant, { ATTN_CUDA_TILED_CFG: '0' });
      expect(kept.failures, kept.stdout).toEqual([]);
    }
  }, 60_000);
});
