/**
 * results.json: the one file a sweep leaves behind and the only input of `attn report` and `attn compare`.
 * Plain data, versioned; readResults validates everything it relies on and names the first field that is wrong.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { BackendInfo, L2Mode } from '@attn/reference';

export const SCHEMA_VERSION = 1;

/** 'fwd' = stage 1 + stage 2 timed together; the others are one kernel stage each. */
export type RecordStage = 'lse' | 'forward' | 'fwd' | 'backward';
export const RECORD_STAGES: readonly RecordStage[] = ['lse', 'forward', 'fwd', 'backward'];
export type Status = 'passed' | 'failed' | 'skipped';
export type RecordPipeline = 'lse' | 'fwd' | 'bwd';

/** Error of one output against the float64 reference, over the rows that were checked. */
export interface ErrorStats {
  /** max |x − ref| over finite elements; null when none was finite */
  maxAbs: number | null;
  /** ‖x − ref‖₂ / ‖ref‖₂ over finite elements */
  relL2: number | null;
  /** NaN/Inf where the reference is finite (poison excluded) */
  nonFinite: number;
  /** elements still holding the poison pattern */
  unwritten: number;
  /** largest |ref| on the checked rows: the scale the error is relative to */
  refMaxAbs?: number;
  /** the textbook's (in the record's dtype) max |x − ref| and rel L2 on the same rows, the largest over its summation orders */
  textbookMaxAbs?: number | null;
  textbookRelL2?: number | null;
  /** ‖x − ref‖₂ and the textbook's (the largest over its orders), over the `finite` elements compared */
  l2?: number | null;
  textbookL2?: number | null;
  finite?: number;
  /** the largest sum of |terms| behind one element: the rule's floor is 4 float32 ulps of it (1 ulp of a half dtype) */
  termScale?: number;
}

export interface TimingStats {
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  /** tinybench's relative margin of error of the mean, percent */
  rme: number;
  samples: number;
  source: 'gpu-timer' | 'wall';
  /** what the backend did before each sample: 'cold' when it scrubbed the L2 (absent in older files: warm) */
  l2?: L2Mode;
}

/**
 * FlashAttention's rule, worst output: max and L2 errors ≤ 2 × the textbook's in the record's dtype + a floor at the
 * term scale (4 float32 ulps; 1 ulp of a half dtype) (@attn/reference accuracy.ts). Records written before 2026-11-29
 * judged tiled against our own naive kernel instead (tiledMaxAbs, naiveMaxAbs, no yardstick field).
 */
export interface FlashRule {
  /** maxAbs / (2 × yardstick maxAbs + floor); ≤ 1 passes */
  ratio: number;
  passed: boolean;
  output: string;
  floor: number;
  /** the textbook in the record's dtype */
  yardstick?: 'textbook-float32' | 'textbook-float16' | 'textbook-bfloat16';
  /** which comparison gave the ratio: the max error or the L2 norm of the error */
  metric?: 'max' | 'l2';
  maxAbs?: number;
  textbookMaxAbs?: number;
  l2?: number;
  textbookL2?: number;
  tiledMaxAbs?: number;
  naiveMaxAbs?: number;
}

export interface PointRecord {
  backend: string;
  variant: string;
  /** which pipeline produced the record (an 'lse' record may come from the lse or the fwd pipeline) */
  pipeline: RecordPipeline;
  stage: RecordStage;
  nq: number;
  nk: number;
  d: number;
  bh: number;
  causal: boolean;
  /** the problem's storage dtype (float32, float16, bfloat16); records before half precision: float64 for 'exact' */
  dtype: string;
  status: Status;
  /** why skipped or failed */
  reason?: string;
  /** the inputs' seed (printed on failure so a point can be rerun) */
  seed?: number;
  /** std of the scaled scores the inputs were drawn for (@attn/reference InputOptions); absent: 1, N(0,1) inputs */
  scoreStd?: number;
  /** 'full' or the number of query rows checked per bh */
  checked?: 'full' | number;
  /** what each stage ran (Session.kernels: versions after fallbacks, tile shapes) */
  kernels?: Partial<Record<'lse' | 'forward' | 'backward', string>>;
  /** per output name (lse, o, dq, dk, dv) */
  error: Record<string, ErrorStats> | null;
  timing: TimingStats | null;
  tflops: number | null;
  /** device bytes the session allocated */
  bytes: number | null;
  flashRule: FlashRule | null;
}

export interface BackendMeta {
  /** null when usable; otherwise why not */
  availability: string | null;
  info?: BackendInfo;
}

/** Reachable rates measured on the card (torch: a 1 GiB device copy, 8192³ matmuls). */
export interface Ceilings {
  device?: string;
  /** GB/s, bytes read + written */
  copyGBs?: number;
  /** TF/s */
  fp32MatmulTFs?: number;
  tf32MatmulTFs?: number;
  fp16MatmulTFs?: number;
  bf16MatmulTFs?: number;
  source: string;
}

/** How the sweep timed its points. */
export interface TimingMeta {
  /** 'cold': the L2 was scrubbed before every sample (TimeOptions.l2); each record's timing.l2 says what its backend did */
  l2: L2Mode;
  warmup: number;
  minSamples: number;
  budgetMs: number;
}

/** One nvidia-smi reading. Fields nvidia-smi reports as N/A are null. */
export interface ClockReading {
  /** ISO time of the reading */
  at: string;
  smMHz: number | null;
  memMHz: number | null;
  powerW: number | null;
  temperatureC: number | null;
  /** clocks_throttle_reasons.active as nvidia-smi prints it, e.g. '0x0000000000000001' */
  throttleReasons: string | null;
  /** its set bits by name (GpuIdle, SwPowerCap, HwSlowdown, …) */
  throttleNames: string[];
}

/** GPU clocks around a timed sweep (gpu-clocks.ts). */
export interface GpuClocks {
  /** why there are no readings (no nvidia-smi, or it failed) */
  unavailable?: string;
  gpu?: string;
  maxSmMHz?: number | null;
  maxMemMHz?: number | null;
  /** when the sweep began and when it ended (often idle readings: GpuIdle set) */
  start: ClockReading | null;
  end: ClockReading | null;
  /** readings taken every intervalMs while the GPU was busy (GpuIdle not set) */
  busy?: { intervalMs: number; samples: number; first: ClockReading | null; last: ClockReading | null; lowestSm: ClockReading | null; highestSm: ClockReading | null };
}

export interface Metadata {
  name: string;
  createdAt: string;
  gitCommit: string | null;
  host: string;
  platform: string;
  node: string;
  preset: string;
  seed: number;
  /** the command line the sweep ran with */
  argv: string[];
  backends: Record<string, BackendMeta>;
  ceilings?: Ceilings;
  /** absent in older files and in correctness-only sweeps */
  timing?: TimingMeta;
  clocks?: GpuClocks;
  /** os.loadavg() when the sweep started: timings on a busy machine are not a baseline */
  loadAverage?: number[];
  /** the ATTN_* environment the sweep ran with (kernel-version switches, bundle paths) */
  environment?: Record<string, string>;
  /** set when the sweep was stopped (Ctrl-C) before every point ran */
  interrupted?: boolean;
  notes?: string[];
  /** a merge of several sweeps (attn report a.json b.json …): each one's file, command, commit and whether it was stopped */
  merged?: MergedSweep[];
}

export interface MergedSweep {
  source: string;
  argv: string[];
  gitCommit: string | null;
  createdAt: string;
  interrupted: boolean;
}

export interface Results {
  schemaVersion: typeof SCHEMA_VERSION;
  metadata: Metadata;
  records: PointRecord[];
}

export class ResultsError extends Error {
  override readonly name = 'ResultsError';
}

/** Identity of a measured point across runs (compare joins on it). */
export function pointKey(r: PointRecord): string {
  const key = [r.backend, r.variant, r.pipeline, r.stage, `bh${r.bh}`, `nq${r.nq}`, `nk${r.nk}`, `d${r.d}`, r.causal ? 'causal' : 'full', r.dtype];
  if (r.scoreStd !== undefined && r.scoreStd !== 1) key.push(`scores${r.scoreStd}`);
  return key.join(' ');
}

/** A short human label for a point. */
export function pointLabel(r: PointRecord): string {
  const n = r.nq === r.nk ? `N=${r.nq}` : `Nq=${r.nq} Nk=${r.nk}`;
  const scores = r.scoreStd !== undefined && r.scoreStd !== 1 ? ` scores σ=${r.scoreStd}` : '';
  return `${r.backend}/${r.variant} ${r.stage}${r.pipeline === 'fwd' && r.stage !== 'fwd' ? '(fwd)' : ''} ${n} d=${r.d} bh=${r.bh}${r.causal ? ' causal' : ''}${scores}`;
}

/** JSON has no Infinity/NaN: numbers that are not finite are written as null. */
function replacer(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

export function serializeResults(results: Results): string {
  return `${JSON.stringify(results, replacer, 1)}\n`;
}

/** Atomic rewrite, so a crash mid-write never leaves a truncated file. */
export function writeResults(path: string, results: Results): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, serializeResults(results));
  renameSync(tmp, path);
}

export function readResults(path: string): Results {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ResultsError(`cannot read ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ResultsError(`${path} is not JSON: ${(e as Error).message}`);
  }
  return validateResults(json, path);
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x);

function fail(where: string, what: string): never {
  throw new ResultsError(`${where}: ${what}`);
}

function num(o: Obj, key: string, where: string, nullable = false): void {
  const v = o[key];
  if (nullable && v === null) return;
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(where, `'${key}' must be a finite number${nullable ? ' or null' : ''}, got ${JSON.stringify(v)}`);
}

function str(o: Obj, key: string, where: string): void {
  if (typeof o[key] !== 'string') fail(where, `'${key}' must be a string, got ${JSON.stringify(o[key])}`);
}

function oneOf(o: Obj, key: string, allowed: readonly unknown[], where: string): void {
  if (!allowed.includes(o[key])) fail(where, `'${key}' must be one of ${allowed.join('|')}, got ${JSON.stringify(o[key])}`);
}

function validateRecord(r: unknown, where: string): void {
  if (!isObj(r)) fail(where, 'record must be an object');
  for (const k of ['backend', 'variant', 'dtype']) str(r, k, where);
  oneOf(r, 'pipeline', ['lse', 'fwd', 'bwd'], where);
  oneOf(r, 'stage', RECORD_STAGES, where);
  for (const k of ['nq', 'nk', 'd', 'bh']) {
    if (!Number.isSafeInteger(r[k]) || (r[k] as number) < 1) fail(where, `'${k}' must be a positive integer, got ${JSON.stringify(r[k])}`);
  }
  if (typeof r.causal !== 'boolean') fail(where, `'causal' must be a boolean`);
  oneOf(r, 'status', ['passed', 'failed', 'skipped'], where);
  if (r.status !== 'passed' && typeof r.reason !== 'string') fail(where, `a ${String(r.status)} record needs a 'reason'`);
  if (r.error !== null) {
    if (!isObj(r.error)) fail(where, `'error' must be an object or null`);
    for (const [name, e] of Object.entries(r.error)) {
      const w = `${where} error.${name}`;
      if (!isObj(e)) fail(w, 'must be an object');
      num(e, 'maxAbs', w, true);
      num(e, 'relL2', w, true);
      num(e, 'nonFinite', w);
      num(e, 'unwritten', w);
    }
  }
  if (r.timing !== null) {
    const t = r.timing;
    const w = `${where} timing`;
    if (!isObj(t)) fail(where, `'timing' must be an object or null`);
    for (const k of ['medianMs', 'p10Ms', 'p90Ms', 'rme', 'samples']) num(t, k, w);
    oneOf(t, 'source', ['gpu-timer', 'wall'], w);
    if (t.l2 !== undefined) oneOf(t, 'l2', ['cold', 'warm'], w);
  }
  num(r, 'tflops', where, true);
  num(r, 'bytes', where, true);
  if (r.flashRule !== null) {
    if (!isObj(r.flashRule)) fail(where, `'flashRule' must be an object or null`);
    num(r.flashRule, 'ratio', `${where} flashRule`);
    if (typeof r.flashRule.passed !== 'boolean') fail(`${where} flashRule`, `'passed' must be a boolean`);
  }
}

/** Peers before they became a backend: 'torch-sdpa:<kernel>' with variant 'sdpa', timed on their own inputs, unchecked. */
const OLD_PEER = /^torch-sdpa:(\w+)$/;

/**
 * Files written before the torch peer was a backend name their peer records 'torch-sdpa:<kernel>' / 'sdpa': read
 * them as backend 'torch', variant <kernel> (what a sweep writes now), so report and compare join old and new.
 * Those records carry error null (they were never checked); a note in the metadata says so.
 */
function migrateOldPeers(results: Results): Results {
  const old = results.records.filter((r) => r.variant === 'sdpa' && OLD_PEER.test(r.backend));
  if (old.length === 0) return results;
  for (const r of old) {
    r.variant = OLD_PEER.exec(r.backend)![1]!;
    r.backend = 'torch';
  }
  const backends: Record<string, BackendMeta> = {};
  for (const [name, meta] of Object.entries(results.metadata.backends)) {
    if (name === 'torch-sdpa' || OLD_PEER.test(name)) {
      if (!backends.torch || (backends.torch.availability !== null && meta.availability === null)) {
        backends.torch = meta.info ? { ...meta, info: { ...meta.info, backend: 'torch' } } : meta;
      }
    } else {
      backends[name] = meta;
    }
  }
  results.metadata.backends = backends;
  results.metadata.notes = [...(results.metadata.notes ?? []), 'torch peers of this file ran on their own inputs and were not checked for accuracy (recorded as torch-sdpa:<kernel>)'];
  return results;
}

export function validateResults(json: unknown, source = 'results'): Results {
  if (!isObj(json)) fail(source, 'top level must be an object');
  if (json.schemaVersion !== SCHEMA_VERSION) {
    fail(source, `schemaVersion ${JSON.stringify(json.schemaVersion)} is not supported (this attn reads ${SCHEMA_VERSION})`);
  }
  const m = json.metadata;
  if (!isObj(m)) fail(source, `'metadata' must be an object`);
  for (const k of ['name', 'createdAt', 'host', 'node', 'preset']) str(m, k, `${source} metadata`);
  num(m, 'seed', `${source} metadata`);
  if (!isObj(m.backends)) fail(`${source} metadata`, `'backends' must be an object`);
  if (!Array.isArray(json.records)) fail(source, `'records' must be an array`);
  json.records.forEach((r, i) => validateRecord(r, `${source} records[${i}]`));
  if (m.timing !== undefined) {
    if (!isObj(m.timing)) fail(`${source} metadata`, `'timing' must be an object`);
    oneOf(m.timing, 'l2', ['cold', 'warm'], `${source} metadata.timing`);
  }
  if (m.clocks !== undefined && !isObj(m.clocks)) fail(`${source} metadata`, `'clocks' must be an object`);
  return migrateOldPeers(json as unknown as Results);
}

/** The device name a backend ran on, as recorded in the metadata. */
/**
 * Several sweeps of one machine as one: metadata of the first (backends, ceilings and notes merged), records of all;
 * a point measured twice keeps the later file's record.
 */
export function mergeResults(parts: readonly { source: string; results: Results }[]): Results {
  const [first, ...rest] = parts;
  if (!first) throw new ResultsError('nothing to merge');
  const metadata: Metadata = { ...first.results.metadata, backends: { ...first.results.metadata.backends }, notes: [...(first.results.metadata.notes ?? [])] };
  const records = new Map<string, PointRecord>();
  for (const r of first.results.records) records.set(pointKey(r), r);
  for (const { results } of rest) {
    for (const [name, meta] of Object.entries(results.metadata.backends)) {
      if (!metadata.backends[name] || metadata.backends[name]!.availability !== null) metadata.backends[name] = meta;
    }
    metadata.ceilings ??= results.metadata.ceilings;
    metadata.timing ??= results.metadata.timing;
    metadata.clocks ??= results.metadata.clocks;
    metadata.notes!.push(...(results.metadata.notes ?? []));
    metadata.interrupted = metadata.interrupted || results.metadata.interrupted;
    for (const r of results.records) records.set(pointKey(r), r);
  }
  metadata.merged = parts.flatMap(({ source, results: { metadata: m } }) =>
    m.merged ?? [{ source, argv: m.argv, gitCommit: m.gitCommit, createdAt: m.createdAt, interrupted: m.interrupted === true }]);
  return { schemaVersion: SCHEMA_VERSION, metadata, records: [...records.values()] };
}

export function deviceOf(results: Results, backend: string): string | undefined {
  return results.metadata.backends[backend]?.info?.device;
}
