/**
 * The variant vocabulary every kernel backend shares: a base name, optionally followed by '@' and a choice of kernel
 * versions and knobs joined by '+':
 *
 *   tiled                      the defaults
 *   tiled@fwd3                 stage 2 runs version 3, the other stages their defaults
 *   tiled@lse2+fwd1+bwd1       a version per stage
 *   tiled@v1                   every stage its newest version up to 1
 *   tiled@fwd4+shape=1         a version and a knob (knobs are backend-specific: tile shapes, score chains, …)
 *
 * Stage tokens: lse (stage 1), fwd (stage 2, forward given lse), bwd (stage 3). Each backend keeps one table of its
 * versions (KernelVersion rows) and of its knobs, resolves a choice against them for each problem (a version that has
 * no kernel for a head dim falls back, and says so), and reports what ran in Session.kernels.
 */
import type { KernelStage } from './backend.js';
import type { Dtype } from './dtype.js';

export type StageToken = 'lse' | 'fwd' | 'bwd';
export const STAGE_TOKENS: Readonly<Record<StageToken, KernelStage>> = { lse: 'lse', fwd: 'forward', bwd: 'backward' };

/** One row of a backend's version table. */
export interface KernelVersion {
  stage: KernelStage;
  version: number;
  /** what makes it this version, one line */
  technique: string;
  /** where it has kernels and what it falls back to elsewhere, one line (absent: every head dim up to the limit) */
  limits?: string;
  /** the version a plain 'tiled' runs (for float32 where the row has defaultFor) */
  isDefault?: boolean;
  /** the storage dtypes it takes (absent: the backend does not say per version) */
  dtypes?: readonly Dtype[];
  /** the dtypes for which a plain 'tiled' runs it (absent: isDefault says, for every dtype the backend takes) */
  defaultFor?: readonly Dtype[];
}

/** One knob of a backend's variants. */
export interface VariantKnob {
  name: string;
  /** the values it takes, e.g. ['0', '1'] or ['4', '8']; empty: a positive integer */
  values: readonly string[];
  description: string;
}

/** A parsed choice: versions per stage (and for every stage), knob values by name. */
export interface VariantChoice {
  stages: Partial<Record<KernelStage, number>>;
  /** v<N>: every stage its newest version ≤ N */
  all?: number;
  knobs: Record<string, string>;
}

export class VariantError extends Error {
  override readonly name = 'VariantError';
}

const token = /^(lse|fwd|bwd|v)(\d+)$/;

/**
 * Parse the part after '@' (null or '' → no choice). `backend` names the backend in errors; `versions` and `knobs`
 * are its tables: an unknown stage version, knob or knob value is a one-line VariantError naming what it takes.
 */
export function parseChoice(backend: string, choice: string | null, versions: readonly KernelVersion[], knobs: readonly VariantKnob[]): VariantChoice {
  const out: VariantChoice = { stages: {}, knobs: {} };
  if (!choice) return out;
  const vocabulary = (): string => {
    const byStage = (['lse', 'fwd', 'bwd'] as StageToken[]).map((t) => {
      const vs = versions.filter((v) => v.stage === STAGE_TOKENS[t]).map((v) => v.version);
      return vs.length ? `${t}${Math.min(...vs)}…${t}${Math.max(...vs)}` : '';
    });
    const ks = knobs.map((k) => `${k.name}=${k.values.length ? k.values.join('|') : 'N'}`);
    return [...byStage.filter(Boolean), 'v<N>', ...ks].join(', ');
  };
  for (const part of choice.split('+')) {
    const m = token.exec(part);
    if (m) {
      const n = Number(m[2]);
      if (m[1] === 'v') {
        if (n < 1) throw new VariantError(`${backend}: 'v${n}' names no version (${vocabulary()})`);
        out.all = n;
        continue;
      }
      const stage = STAGE_TOKENS[m[1] as StageToken];
      if (!versions.some((v) => v.stage === stage && v.version === n)) throw new VariantError(`${backend}: no kernel version '${part}' (${vocabulary()})`);
      out.stages[stage] = n;
      continue;
    }
    const eq = part.indexOf('=');
    const knob = eq > 0 ? knobs.find((k) => k.name === part.slice(0, eq)) : undefined;
    const value = part.slice(eq + 1);
    if (!knob) throw new VariantError(`${backend}: unknown variant choice '${part}' (${vocabulary()})`);
    const ok = knob.values.length ? knob.values.includes(value) : /^[1-9]\d*$/.test(value);
    if (!ok) throw new VariantError(`${backend}: ${knob.name} takes ${knob.values.length ? knob.values.join(' | ') : 'a positive integer'}, got '${value}'`);
    out.knobs[knob.name] = value;
  }
  return out;
}

/**
 * The version a stage asks for under a choice: its own token, else the newest version ≤ all (v<N>), else the default.
 * Returns null when the table has no version of the stage at all.
 */
export function requestedVersion(stage: KernelStage, choice: VariantChoice, versions: readonly KernelVersion[]): number | null {
  const own = versions.filter((v) => v.stage === stage);
  if (own.length === 0) return null;
  const explicit = choice.stages[stage];
  if (explicit !== undefined) return explicit;
  if (choice.all !== undefined) {
    const upTo = own.filter((v) => v.version <= choice.all!).map((v) => v.version);
    return upTo.length ? Math.max(...upTo) : Math.min(...own.map((v) => v.version));
  }
  return (own.find((v) => v.isDefault) ?? own[own.length - 1]!).version;
}

/**
 * Lines for --help: every version of the table, the defaults marked ('(default)', or '(default for float16, …)' where
 * the row says per dtype), its dtypes where the row says them, then the knobs.
 */
export function describeVersions(backend: string, versions: readonly KernelVersion[], knobs: readonly VariantKnob[]): string[] {
  const lines = [`${backend} tiled@… (join with +):`];
  for (const v of versions) {
    const t = (Object.entries(STAGE_TOKENS).find(([, s]) => s === v.stage)?.[0] ?? v.stage) + v.version;
    const mark = v.defaultFor ? (v.defaultFor.length ? `(default for ${v.defaultFor.join(', ')}) ` : '') : v.isDefault ? '(default) ' : '';
    const dtypes = v.dtypes ? `; dtypes ${v.dtypes.join(', ')}` : '';
    lines.push(`  ${t.padEnd(6)} ${mark}${v.technique}${v.limits ? `; ${v.limits}` : ''}${dtypes}`);
  }
  for (const k of knobs) lines.push(`  ${`${k.name}=${k.values.length ? k.values.join('|') : 'N'}`.padEnd(6)} ${k.description}`);
  return lines;
}
