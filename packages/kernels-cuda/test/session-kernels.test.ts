/**
 * Through the backend, with a stand-in addon (no GPU here): a variant's choice reaches the native Session, its plan
 * comes back as Session.kernels, bad choices are refused by check() in one line and by open() as a BackendError, and
 * the backend publishes the version table (kernelVersions, knobs, info()).
 */
import { describe, expect, it } from 'vitest';
import { BackendError, describeVersions, makeProblem } from '@attn/reference';
import { CudaBackend } from '../src/index.js';
import type { Opened } from './_helpers.js';
import { fakeAddon, GXX_HERE, STAGES, tableDefaults, versionRanges, versionTableFromHeader } from './_helpers.js';

describe.skipIf(!GXX_HERE)('the CUDA backend over a stand-in addon', () => {
  const problem = makeProblem({ bh: 2, nq: 17, nk: 33, d: 64 });
  const table = versionTableFromHeader();

  it('passes the parsed choice to the native Session and exposes what it runs as Session.kernels', async () => {
    const opened: Opened[] = [];
    const backend = new CudaBackend({ addon: fakeAddon(opened), path: 'fake.node' });
    const fwd3 = await backend.open(problem, 'tiled@fwd3+shape=1');
    expect(opened.at(-1)).toEqual({ variant: 'tiled', choice: { lse: 3, forward: 3, backward: 3, shape: 1, longScores: false } });
    expect(fwd3.variant).toBe('tiled@fwd3+shape=1');
    expect(fwd3.kernels).toEqual({ lse: 'lse3 shape1', forward: 'fwd3 shape1', backward: 'bwd3' });

    const plain = await backend.open(problem, 'tiled');
    expect(opened.at(-1)!.choice).toEqual({ lse: 3, forward: 4, backward: 3, shape: -1, longScores: false });
    expect(plain.kernels?.forward).toBe('fwd4 shape1');

    const naive = await backend.open(problem, 'naive');
    expect(opened.at(-1)).toEqual({ variant: 'naive', choice: undefined });
    expect(naive.kernels).toBeUndefined();
    await backend.close();
  });

  it('refuses a bad choice in check() with one line, and in open() with a BackendError before any allocation', async () => {
    const opened: Opened[] = [];
    const backend = new CudaBackend({ addon: fakeAddon(opened), path: 'fake.node' });
    expect(backend.check(problem, 'tiled@fwd9')).toBe(`cuda: no kernel version 'fwd9' (${versionRanges(table)}, v<N>, shape=0|1, scores=short|long)`);
    expect(backend.check(problem, 'naive@v1')).toMatch(/^cuda naive takes no kernel choice/);
    expect(backend.check(problem, 'flash')).toMatch(/^cuda has no 'flash' variant in this build \(variants: naive, tiled\)$/);
    expect(backend.check(problem, 'tiled@lse2+fwd1+bwd1')).toBeNull();
    await expect(backend.open(problem, 'tiled@shape=3')).rejects.toThrow(BackendError);
    await expect(backend.open(problem, 'tiled@shape=3')).rejects.toThrow(/^cuda: shape takes 0 \| 1, got '3'$/);
    expect(opened).toEqual([]);
    // the head-dim limit applies to tiled@… as to tiled
    expect(backend.limits('tiled@v1').maxD).toBe(256);
    expect(backend.check(makeProblem({ bh: 1, nq: 4, nk: 4, d: 300 }), 'tiled@fwd3')).toMatch(/^cuda tiled takes d, dv <= 256/);
  });

  it('publishes the version table: kernelVersions, knobs, the help lines, and info()', async () => {
    const backend = new CudaBackend({ addon: fakeAddon([]), path: 'fake.node' });
    expect(backend.kernelVersions).toEqual(table.versions);
    // isDefault marks float32's default of each stage, and only those
    const marked = backend.kernelVersions!.filter((v) => v.isDefault).map((v) => `${v.stage}${v.version}`);
    expect(marked).toEqual(STAGES.map((stage) => `${stage}${tableDefaults(table, 'float32')[stage]}`));
    expect(backend.knobs!.map((k) => `${k.name}=${k.values.join('|')}`)).toEqual(['shape=0|1', 'scores=short|long']);
    const help = describeVersions('cuda', backend.kernelVersions!, backend.knobs!);
    expect(help).toContain(
      '  fwd4   (default for float32) operands pre-split in mma fragment order, P kept in registers, masks only on boundary tiles; D = 64, 128 only (fwd1 elsewhere); shape=0|1, scores=short|long; dtypes float32',
    );
    // a row that is no dtype's default has no mark
    expect(help).toContain('  fwd1   SIMT fp32: P = exp(S - lse) parked in shared memory, O in register micro-tiles; dtypes float32, float16, bfloat16');
    const half = backend.kernelVersions!.find((v) => v.stage === 'forward' && v.defaultFor.includes('float16'))!;
    expect(help).toContain(
      `  ${`fwd${half.version}`.padEnd(6)} (default for ${half.defaultFor.join(', ')}) ${half.technique}; ${half.limits}; dtypes ${half.dtypes.join(', ')}`,
    );
    const info = await backend.info();
    expect(info.details?.kernelVersions).toEqual(backend.kernelVersions);
    expect(info.details?.knobs).toEqual(backend.knobs);
  });
});
