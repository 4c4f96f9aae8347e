/**
 * The CUDA backend's variants: 'naive', 'tiled' (the default kernel versions) and 'tiled@<choice>' in the shared
 * vocabulary of @attn/reference (variant.ts: 'tiled@fwd3', 'tiled@lse2+fwd1+bwd1', 'tiled@v1', knobs 'shape=0|1' and
 * 'scores=short|long'), parsed against the addon's version table (kernels/tiled/versions.h) into the plain choice the
 * native Session takes. Which version then runs for a problem (fallbacks per head-dim bucket, the automatic shape)
 * is the native side's plan, reported by Session.kernels.
 */
import type { Dtype, KernelStage, Variant } from '@attn/reference';
import { parseChoice, requestedVersion, splitVariant, STAGE_TOKENS, VariantError } from '@attn/reference';
import type { AddonChoice, AddonVersionTable } from './addon.js';

export interface CudaVariant {
  base: string;
  /** tiled: the versions and knobs to run; naive: null */
  choice: AddonChoice | null;
}

const STAGES: readonly KernelStage[] = ['lse', 'forward', 'backward'];
const token = (stage: KernelStage): string => Object.entries(STAGE_TOKENS).find(([, s]) => s === stage)![0];

/**
 * 'naive' → { base: 'naive', choice: null } (any other base too: the capabilities check refuses an unknown one);
 * 'tiled' or 'tiled@…' → the versions each stage asks for in `dtype` (the table's defaults for the dtype where the
 * choice names none; v<N>: each stage's newest version up to N that takes the dtype) and the knobs. Errors
 * (VariantError, one line): a choice on naive, a choice with no table (an addon without tiled kernels), an unknown
 * version / knob / value (@attn/reference's parseChoice), a version named that does not take the dtype ('cuda
 * tiled@fwd4 takes float32, not float16 (fwd1: float32, float16, bfloat16)': never a silent fallback), and a knob
 * that no version the choice runs reads ('tiled@v1+shape=1').
 */
export function parseCudaVariant(variant: Variant, table: AddonVersionTable | undefined, dtype: Dtype = 'float32'): CudaVariant {
  const { base, choice } = splitVariant(variant);
  if (base !== 'tiled') {
    // an unknown base is the capabilities check's to refuse (it lists the variants)
    if (base === 'naive' && choice !== null) throw new VariantError(`cuda naive takes no kernel choice, got '${variant}' (tiled@… does)`);
    return { base, choice: null };
  }
  if (!table) {
    if (choice !== null) throw new VariantError(`cuda: this addon build has no tiled kernel versions, so no '${variant}'`);
    return { base, choice: null };
  }
  if (choice === '') throw new VariantError(`cuda: '${variant}' names no choice after '@' (tiled runs the defaults)`);
  const parsed = parseChoice('cuda', choice, table.versions, table.knobs);
  // the rows that take the dtype, defaults as the dtype has them
  const taking = table.versions.filter((v) => v.dtypes.includes(dtype)).map((v) => ({ ...v, isDefault: v.defaultFor.includes(dtype) }));
  const versions = STAGES.map((stage) => requestedVersion(stage, parsed, taking) ?? 0);
  for (const [i, stage] of STAGES.entries()) {
    const row = table.versions.find((v) => v.stage === stage && v.version === versions[i]);
    if (!row) throw new VariantError(`cuda: no tiled ${token(stage)} version takes ${dtype}`);
    if (row.dtypes.includes(dtype)) continue;
    const takers = taking.filter((v) => v.stage === stage).map((v) => `${token(stage)}${v.version}: ${v.dtypes.join(', ')}`);
    throw new VariantError(`cuda tiled@${token(stage)}${row.version} takes ${row.dtypes.join(', ')}, not ${dtype} (${takers.join('; ')})`);
  }
  for (const name of Object.keys(parsed.knobs)) {
    const runs = STAGES.map((stage, i) => table.versions.find((v) => v.stage === stage && v.version === versions[i])!);
    if (runs.some((v) => v.knobs.includes(name))) continue;
    const readers = table.versions.filter((v) => v.knobs.includes(name)).map((v) => token(v.stage) + v.version);
    throw new VariantError(
      `cuda: ${name}=${parsed.knobs[name]} changes nothing in '${variant}': ${runs.map((v) => token(v.stage) + v.version).join(', ')} read no ${name} (${readers.join(', ')} do)`,
    );
  }
  return {
    base,
    choice: {
      lse: versions[0]!,
      forward: versions[1]!,
      backward: versions[2]!,
      shape: parsed.knobs.shape === undefined ? -1 : parsed.knobs.shape === '1' ? 1 : 0,
      longScores: parsed.knobs.scores === 'long',
    },
  };
}
