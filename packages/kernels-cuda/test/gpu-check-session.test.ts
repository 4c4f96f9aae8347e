/**
 * On a CUDA device: every stage × variant × causal/not against the float64 reference (checkSession: fresh seeded
 * inputs, outputs poisoned, unwritten/non-finite/relL2 checks) on the odd shapes of @attn/reference (ODD_SHAPES:
 * N = 1, 17, 129, Nq ≠ Nk, d not a power of two, every head-dim bucket). Variants: naive, tiled, and every row of the
 * version table (tiled@<stage><N>, the other stages their defaults) in both tile shapes where it reads the shape knob.
 * In float16 and bfloat16: the backward pipeline (every output) of naive, tiled and every version that takes the
 * dtype (checkSession judges a half dtype by the rule, its floor one ulp of the dtype).
 * Skipped, with the availability line as the reason, where there is no device.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Dtype, Pipeline, Problem, Variant } from '@attn/reference';
import { checkSession, makeProblem, ODD_SHAPES, STAGE_TOKENS } from '@attn/reference';
import { createCudaBackend, parseCudaVariant } from '../src/index.js';
import type { AddonVersionTable } from '../src/index.js';
import { GPU_MISSING } from './_helpers.js';

const backend = createCudaBackend();
const PIPELINES: Pipeline[] = ['lse', 'fwd', 'bwd'];

/**
 * 'tiled@fwd3', 'tiled@lse3+shape=0', … for every row of the table that takes `dtype`, each choice once (tiled@lse3
 * is plain tiled in float32).
 */
function versionVariants(dtype: Dtype = 'float32'): Variant[] {
  if (!backend.kernelVersions || !backend.knobs) return [];
  const table: AddonVersionTable = { versions: [...backend.kernelVersions], knobs: [...backend.knobs] };
  const seen = new Set([JSON.stringify(parseCudaVariant('tiled', table, dtype).choice)]);
  const out: Variant[] = [];
  for (const v of table.versions) {
    if (!v.dtypes.includes(dtype)) continue;
    const base = `tiled@${Object.entries(STAGE_TOKENS).find(([, s]) => s === v.stage)![0]}${v.version}`;
    for (const variant of v.knobs.includes('shape') ? [`${base}+shape=0`, `${base}+shape=1`] : [base]) {
      const key = JSON.stringify(parseCudaVariant(variant, table, dtype).choice);
      if (!seen.has(key)) out.push(variant);
      seen.add(key);
    }
  }
  return out;
}

interface Case {
  variant: Variant;
  pipeline: Pipeline;
  problem: Problem;
  seed: number;
}

function cases(): Case[] {
  const out: Case[] = [];
  let seed = 4000;
  // naive and tiled: every pipeline; the other versions: the backward pipeline, which checks lse, O, dQ, dK and dV
  const variants: [Variant, Pipeline[]][] = [...backend.variants.map((v): [Variant, Pipeline[]] => [v, PIPELINES]), ...versionVariants().map((v): [Variant, Pipeline[]] => [v, ['bwd']])];
  for (const [variant, pipelines] of variants)
    for (const pipeline of pipelines)
      for (const causal of [false, true])
        for (const { bh, nq, nk, d, dv } of ODD_SHAPES) {
          out.push({ variant, pipeline, problem: makeProblem({ bh, nq, nk, d, dv: dv ?? d, causal }), seed: seed++ });
        }
  for (const dtype of ['float16', 'bfloat16'] as const)
    for (const variant of [...backend.variants, ...versionVariants(dtype)])
      for (const causal of [false, true])
        for (const { bh, nq, nk, d, dv } of ODD_SHAPES) {
          out.push({ variant, pipeline: 'bwd', problem: makeProblem({ bh, nq, nk, d, dv: dv ?? d, causal, dtype }), seed: seed++ });
        }
  return out;
}

const label = (c: Case) =>
  `${c.variant} ${c.pipeline} bh=${c.problem.bh} nq=${c.problem.nq} nk=${c.problem.nk} d=${c.problem.d} dv=${c.problem.dv}${c.problem.causal ? ' causal' : ''}${c.problem.dtype !== 'float32' ? ` ${c.problem.dtype}` : ''} seed=${c.seed}`;

describe.skipIf(GPU_MISSING !== null)(`cuda vs float64 reference${GPU_MISSING ? ` (skipped: ${GPU_MISSING})` : ''}`, () => {
  afterAll(() => backend.close());

  it.each(cases().map((c) => [label(c), c] as const))('%s', async (_, c) => {
    const why = backend.check(c.problem, c.variant);
    if (why) throw new Error(`refused: ${why}`);
    const session = await backend.open(c.problem, c.variant);
    try {
      const result = await checkSession(session, { pipeline: c.pipeline, seed: c.seed });
      expect(result.failures, `seed ${c.seed}`).toEqual([]);
      expect(result.passed).toBe(true);
    } finally {
      await session.dispose();
    }
  });
});
