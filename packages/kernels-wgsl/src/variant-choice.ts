/**
 * A WGSL variant string → what it asks for. 'naive', 'tiled' (the defaults: lse5, fwd5, bwd5 and the adapter's tile
 * knobs) or 'tiled@<choice>' in the shared vocabulary of @attn/reference (variant.ts) against src/versions.ts:
 *
 *   tiled@fwd3              forward version 3, the other stages their defaults
 *   tiled@lse1+fwd5+bwd2    a version per stage
 *   tiled@v3                every stage version 3
 *   tiled@rows=4+side=8     the default versions with other tile knobs
 *   tiled@robust=off        without Dawn's bounds clamps (a second device: src/dawn.ts)
 */
import type { KernelStage, Variant } from '@attn/reference';
import { parseChoice, requestedVersion, splitVariant, VariantError } from '@attn/reference';
import type { Robustness } from './dawn.js';
import type { Majorness } from './sgmat.js';
import type { WgslVariant } from './plan.js';
import { WGSL_KNOBS, WGSL_VERSIONS } from './versions.js';

export const WGSL_VARIANTS: readonly WgslVariant[] = ['naive', 'tiled'];

/** The knobs a choice set; absent ones take the adapter's defaults (src/backend.ts). */
export interface TileKnobs {
  rows?: number;
  cols?: number;
  threads?: number;
  regs?: number;
  wgmem?: number;
  side?: number;
  unroll?: boolean;
  /** version 6: how the shaders spell the matrices' majorness (src/sgmat.ts) */
  majorness?: Majorness;
}

export interface WgslChoice {
  base: WgslVariant;
  /** the version each stage asks for (before any fallback for the problem's head dims) */
  versions: Record<KernelStage, number>;
  /** the stages the variant names no version for (neither a stage token nor v<N>): they run their dtype's default */
  defaulted: KernelStage[];
  knobs: TileKnobs;
  robustness: Robustness;
}

const isBase = (v: string): v is WgslVariant => (WGSL_VARIANTS as readonly string[]).includes(v);

/** Parses a variant; an unknown base, version, knob or value is a one-line VariantError naming what exists. */
export function parseWgslVariant(variant: Variant): WgslChoice {
  const { base, choice } = splitVariant(variant);
  if (!isBase(base)) throw new VariantError(`wgsl has no variant '${variant}' (variants: ${WGSL_VARIANTS.join(', ')}; tiled@… takes a choice)`);
  if (base === 'naive' && choice !== null) throw new VariantError(`wgsl naive takes no choice (got '${variant}'; versions and knobs are tiled@…)`);
  if (choice === '') throw new VariantError(`wgsl: '${variant}' has nothing after '@'`);
  const parsed = parseChoice('wgsl', choice, WGSL_VERSIONS, WGSL_KNOBS);
  const version = (stage: KernelStage): number => requestedVersion(stage, parsed, WGSL_VERSIONS)!;
  const k = parsed.knobs;
  const int = (name: string): number | undefined => (k[name] === undefined ? undefined : Number(k[name]));
  const knobs: TileKnobs = {};
  for (const [name, value] of [['rows', int('rows')], ['cols', int('cols')], ['threads', int('threads')], ['regs', int('regs')], ['wgmem', int('wgmem')], ['side', int('side')]] as const) {
    if (value !== undefined) knobs[name] = value;
  }
  if (k.unroll !== undefined) knobs.unroll = k.unroll === '1';
  if (k.majorness !== undefined) knobs.majorness = k.majorness === 'flag' ? 'flag' : 'template';
  const stages = ['lse', 'forward', 'backward'] as const;
  return {
    base,
    versions: { lse: version('lse'), forward: version('forward'), backward: version('backward') },
    defaulted: parsed.all === undefined ? stages.filter((s) => parsed.stages[s] === undefined) : [],
    knobs,
    robustness: k.robust === 'off' ? 'off' : 'on',
  };
}
