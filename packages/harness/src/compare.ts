/**
 * Compare two sweeps point by point: correctness always, speed only on the same device and only outside the noise.
 */
import type { ErrorStats, PointRecord, Results, Status } from './results.js';
import { deviceOf, pointKey, pointLabel } from './results.js';

export type Verdict = 'SAME' | 'FASTER' | 'SLOWER' | 'FAILED' | 'NEW' | 'MISSING';

export interface CompareOptions {
  /** new maxAbs may be at most this × base maxAbs + errorFloor (per output) */
  maxErrorGrowth: number;
  /** absolute slack on error growth, so errors near zero can move */
  errorFloor: number;
  /** widens each run's p10–p90 band around its median by this factor before the overlap test */
  noiseFactor: number;
  /** medians must also differ by this fraction to count as faster/slower */
  minChange: number;
  allowDeviceMismatch: boolean;
  /** a point of the base missing from the new run is a regression unless this is set */
  allowMissing: boolean;
}

export const DEFAULT_COMPARE: CompareOptions = {
  maxErrorGrowth: 4,
  errorFloor: 1e-6,
  noiseFactor: 1,
  minChange: 0.05,
  allowDeviceMismatch: false,
  allowMissing: false,
};

export interface PointComparison {
  key: string;
  label: string;
  verdict: Verdict;
  regression: boolean;
  baseMs?: number;
  newMs?: number;
  /** new median / base median */
  ratio?: number;
  note: string;
}

export interface Comparison {
  points: PointComparison[];
  counts: Record<Verdict, number>;
  regressions: number;
  /** backends whose timings were not compared, with why */
  timingNotCompared: string[];
}

const STATUS_RANK: Record<Status, number> = { passed: 2, skipped: 1, failed: 0 };

function errorGrowth(base: Record<string, ErrorStats>, next: Record<string, ErrorStats>, o: CompareOptions): string | null {
  for (const [name, b] of Object.entries(base)) {
    const n = next[name];
    if (!n) return `output ${name} no longer checked`;
    if (n.nonFinite > b.nonFinite) return `${name}: ${n.nonFinite} non-finite (was ${b.nonFinite})`;
    if (n.unwritten > b.unwritten) return `${name}: ${n.unwritten} unwritten (was ${b.unwritten})`;
    if (b.maxAbs !== null && n.maxAbs === null) return `${name}: no finite element`;
    if (b.maxAbs !== null && n.maxAbs !== null && n.maxAbs > o.maxErrorGrowth * b.maxAbs + o.errorFloor) {
      return `${name}: maxAbs ${n.maxAbs.toExponential(2)} > ${o.maxErrorGrowth} × ${b.maxAbs.toExponential(2)} + ${o.errorFloor}`;
    }
  }
  return null;
}

/** Band [lo, hi] of a timing, widened around the median by the noise factor. */
function band(t: { medianMs: number; p10Ms: number; p90Ms: number }, f: number): [number, number] {
  return [t.medianMs - f * (t.medianMs - t.p10Ms), t.medianMs + f * (t.p90Ms - t.medianMs)];
}

function comparePoint(b: PointRecord, n: PointRecord, timingOk: boolean, o: CompareOptions): Omit<PointComparison, 'key' | 'label'> {
  if (STATUS_RANK[n.status] < STATUS_RANK[b.status]) {
    return { verdict: 'FAILED', regression: true, note: `status ${b.status} → ${n.status}${n.reason ? `: ${n.reason}` : ''}` };
  }
  if (b.error && n.error) {
    const grown = errorGrowth(b.error, n.error, o);
    if (grown) return { verdict: 'FAILED', regression: true, note: `error grew: ${grown}` };
  }
  const statusNote = n.status !== b.status ? `status ${b.status} → ${n.status}` : '';
  if (!b.timing || !n.timing) return { verdict: 'SAME', regression: false, note: statusNote || 'no timing' };
  const baseMs = b.timing.medianMs;
  const newMs = n.timing.medianMs;
  const ratio = newMs / baseMs;
  if (!timingOk) return { verdict: 'SAME', regression: false, baseMs, newMs, ratio, note: 'timing not compared (device differs)' };
  const [bLo, bHi] = band(b.timing, o.noiseFactor);
  const [nLo, nHi] = band(n.timing, o.noiseFactor);
  if (nLo > bHi && ratio > 1 + o.minChange) {
    return { verdict: 'SLOWER', regression: true, baseMs, newMs, ratio, note: `${ratio.toFixed(2)}× the time, outside both runs' spread` };
  }
  if (nHi < bLo && ratio < 1 - o.minChange) {
    return { verdict: 'FASTER', regression: false, baseMs, newMs, ratio, note: `${ratio.toFixed(2)}× the time` };
  }
  return { verdict: 'SAME', regression: false, baseMs, newMs, ratio, note: statusNote || 'within noise' };
}

export function compareResults(base: Results, next: Results, options: Partial<CompareOptions> = {}): Comparison {
  const o = { ...DEFAULT_COMPARE, ...options };
  const timingNotCompared: string[] = [];
  const timingOk = new Map<string, boolean>();
  for (const backend of new Set([...base.records, ...next.records].map((r) => r.backend))) {
    const a = deviceOf(base, backend);
    const b = deviceOf(next, backend);
    const same = a === b || o.allowDeviceMismatch;
    timingOk.set(backend, same);
    if (!same) timingNotCompared.push(`${backend}: '${a ?? 'unknown'}' vs '${b ?? 'unknown'}'`);
  }

  const newByKey = new Map(next.records.map((r) => [pointKey(r), r]));
  const baseKeys = new Set<string>();
  const points: PointComparison[] = [];
  for (const b of base.records) {
    const key = pointKey(b);
    baseKeys.add(key);
    const n = newByKey.get(key);
    if (!n) {
      points.push({ key, label: pointLabel(b), verdict: 'MISSING', regression: !o.allowMissing, note: 'not in the new run' });
      continue;
    }
    points.push({ key, label: pointLabel(n), ...comparePoint(b, n, timingOk.get(b.backend) ?? false, o) });
  }
  for (const n of next.records) {
    const key = pointKey(n);
    if (!baseKeys.has(key)) points.push({ key, label: pointLabel(n), verdict: 'NEW', regression: false, note: n.status });
  }

  const counts: Record<Verdict, number> = { SAME: 0, FASTER: 0, SLOWER: 0, FAILED: 0, NEW: 0, MISSING: 0 };
  for (const p of points) counts[p.verdict]++;
  return { points, counts, regressions: points.filter((p) => p.regression).length, timingNotCompared };
}

const fmtMs = (x: number | undefined): string => (x === undefined ? '' : x < 1 ? x.toPrecision(3) : x.toFixed(2));

/** The table a person reads: regressions first, then changes, then (unless brief) the rest. */
export function formatComparison(c: Comparison, brief = false): string {
  const order: Verdict[] = ['FAILED', 'SLOWER', 'MISSING', 'FASTER', 'NEW', 'SAME'];
  const rows = [...c.points].sort((a, b) => order.indexOf(a.verdict) - order.indexOf(b.verdict));
  const shown = brief ? rows.filter((p) => p.verdict !== 'SAME') : rows;
  const lines: string[] = [];
  const width = Math.max(5, ...shown.map((p) => p.label.length));
  if (shown.length > 0) {
    lines.push(`${'verdict'.padEnd(8)} ${'point'.padEnd(width)} ${'base ms'.padStart(9)} ${'new ms'.padStart(9)}  note`);
    for (const p of shown) {
      lines.push(`${p.verdict.padEnd(8)} ${p.label.padEnd(width)} ${fmtMs(p.baseMs).padStart(9)} ${fmtMs(p.newMs).padStart(9)}  ${p.note}`);
    }
    lines.push('');
  }
  for (const t of c.timingNotCompared) lines.push(`timings not compared, device differs — ${t} (--allow-device-mismatch to compare anyway)`);
  const summary = (Object.entries(c.counts) as [Verdict, number][])
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
  lines.push(`${c.points.length} points: ${summary || 'none'}; ${c.regressions} regression${c.regressions === 1 ? '' : 's'}`);
  return lines.join('\n');
}
