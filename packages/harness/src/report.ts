/**
 * report.md + PNG charts from results.json alone, so a GPU run can be charted on any machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bestPeer, isPeer, unchecked } from './best-peer.js';
import type { Ceiling, ReportDtype } from './ceilings.js';
import { ceilingsOf, storageDtype } from './ceilings.js';
import type { ChartSpec, Marker, Series } from './charts.js';
import { renderChart } from './charts.js';
import { CLOCK_FALL_FRACTION, clockFlags, SLOWDOWNS } from './gpu-clocks.js';
import type { ClockReading, Metadata, PointRecord, RecordStage, Results } from './results.js';
import { pointLabel } from './results.js';

/** The device the report is about: the first GPU backend that ran. */
export function mainDevice(results: Results): string {
  const infos = Object.entries(results.metadata.backends).filter(([n, m]) => m.info && n !== 'reference' && !n.startsWith('torch'));
  return infos[0]?.[1].info?.device ?? Object.values(results.metadata.backends).find((m) => m.info)?.info?.device ?? 'unknown device';
}

/** backend/variant, and the storage dtype when it is a half one (float32 and the reference's float64 go unnamed) */
const seriesName = (r: PointRecord): string => `${r.backend}/${r.variant}${r.dtype === 'float16' || r.dtype === 'bfloat16' ? ` ${r.dtype}` : ''}`;
const square = (r: PointRecord): boolean => r.nq === r.nk;
const timed = (r: PointRecord): r is PointRecord & { timing: NonNullable<PointRecord['timing']> } => r.status === 'passed' && r.timing !== null;
const isOom = (r: PointRecord): boolean => r.status === 'skipped' && /memory|oom|alloc|too large|exceeds/i.test(r.reason ?? '');

function mostCommon<T>(xs: T[]): T | undefined {
  const counts = new Map<T, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];
const sortNum = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);

/** The palette slot of the textbook line in error charts (black: no series of ours takes it before the seventh). */
const TEXTBOOK_COLOR = 6;

/** The textbook's relative L2 error (in the record's dtype) on its worst output (the yardstick the rule compares with). */
function textbookRelL2(r: PointRecord): number | null {
  if (!r.error) return null;
  const xs = Object.values(r.error).map((e) => e.textbookRelL2).filter((x): x is number => typeof x === 'number');
  return xs.length ? Math.max(...xs) : null;
}

/** Worst relative L2 error over a record's outputs. */
export function worstRelL2(r: PointRecord): number | null {
  if (!r.error) return null;
  const xs = Object.values(r.error).map((e) => e.relL2).filter((x): x is number => x !== null);
  return xs.length ? Math.max(...xs) : null;
}

/**
 * Bytes a stage must move at least once (inputs read, outputs written; Q, K, V, dO, O and the gradients in the
 * record's dtype, the lse in float32): the denominator of "fraction of bandwidth".
 */
export function compulsoryBytes(r: PointRecord): number {
  const q = r.bh * r.nq * r.d;
  const k = r.bh * r.nk * r.d;
  const v = k;
  const o = q;
  const lse = r.bh * r.nq;
  const tensors: Record<RecordStage, number> = {
    lse: q + k,
    forward: q + k + v + o,
    fwd: q + k + v + o,
    backward: q + k + v + o + o + q + k + v,
  };
  const width = storageDtype(r.dtype) === 'float32' ? 4 : 2;
  return width * tensors[r.stage] + 4 * lse;
}

const DTYPE_ORDER: readonly ReportDtype[] = ['float32', 'float16', 'bfloat16'];

/** The dtypes of a report's records, float32 first. */
function dtypesOf(records: readonly PointRecord[]): ReportDtype[] {
  const present = new Set(records.map((r) => storageDtype(r.dtype)));
  return DTYPE_ORDER.filter((d) => present.has(d));
}

/** A chart file's and title's dtype part: nothing for float32 (the names reports always had), else the dtype. */
const fileSuffix = (dtype: ReportDtype): string => (dtype === 'float32' ? '' : `-${dtype}`);
const titleSuffix = (dtype: ReportDtype): string => (dtype === 'float32' ? '' : `, ${dtype}`);
const tfs = (x: number): string => `${Number(x.toPrecision(3))} TF/s`;

interface Chart {
  file: string;
  title: string;
  spec: ChartSpec;
}

export function chartSpecs(results: Results): Chart[] {
  const device = mainDevice(results);
  const date = results.metadata.createdAt.slice(0, 10);
  const subtitle = `${device} · ${date} · preset ${results.metadata.preset} · commit ${results.metadata.gitCommit ?? '?'}`;
  const recs = results.records.filter(square);
  const bh = mostCommon(recs.filter(timed).map((r) => r.bh)) ?? mostCommon(recs.map((r) => r.bh));
  const atBh = recs.filter((r) => r.bh === bh);
  const charts: Chart[] = [];
  const ceilings = ceilingsOf(results, device);
  const dtypes = dtypesOf(atBh);
  const inDtype = (dtype: ReportDtype) => atBh.filter((r) => storageDtype(r.dtype) === dtype);
  const ds = sortNum(uniq(atBh.map((r) => r.d)));

  // 1. tiled vs naive speed-up — the chart this project exists for
  for (const dtype of dtypes) {
    const rowsOf = inDtype(dtype);
    const stagesWithTiming = (['fwd', 'backward', 'lse', 'forward'] as RecordStage[]).filter((s) => rowsOf.some((r) => r.stage === s && timed(r) && !isPeer(r)));
    for (const backend of uniq(rowsOf.filter((r) => !isPeer(r)).map((r) => r.backend))) {
      for (const stage of stagesWithTiming) {
        const series: Series[] = [];
        for (const [ci, d] of ds.entries()) {
          for (const causal of [false, true]) {
            const pick = (variant: string): Map<number, PointRecord> => {
              const rows = rowsOf.filter((r) => r.backend === backend && r.variant === variant && r.stage === stage && r.d === d && r.causal === causal && timed(r));
              // an lse record from the lse pipeline wins over the one split out of a fwd run
              rows.sort((a, b) => Number(b.pipeline === stage) - Number(a.pipeline === stage));
              const byN = new Map<number, PointRecord>();
              for (const r of rows) if (!byN.has(r.nq)) byN.set(r.nq, r);
              return byN;
            };
            const naive = pick('naive');
            const points = [...pick('tiled').entries()].flatMap(([n0, t]) => {
              const n = naive.get(n0);
              return n?.timing && t.timing ? [{ x: t.nq, y: n.timing.medianMs / t.timing.medianMs }] : [];
            });
            if (points.length) series.push({ label: `d=${d}${causal ? ' causal' : ''}`, points: dedupeX(points), dashed: causal, colorIndex: ci });
          }
        }
        if (!series.length) continue;
        charts.push({
          file: `speedup-${backend}-${stage}${fileSuffix(dtype)}.png`,
          title: `${backend} ${stage}${titleSuffix(dtype)}: tiled vs naive speed-up`,
          spec: {
            title: `${backend} ${stageName(stage)}${titleSuffix(dtype)}: tiled speed-up over naive (bh=${bh})`,
            subtitle,
            xLabel: 'N (Nq = Nk)',
            yLabel: 'naive time / tiled time',
            xLog: true,
            yLog: true,
            series,
            hLines: [{ value: 1, label: '1× (no gain)' }],
          },
        });
      }
    }
  }

  // 2. TFLOP/s vs N with peer lines and the ceilings of the dtype, one chart per dtype, stage and d
  for (const dtype of dtypes) {
    const rowsOf = inDtype(dtype);
    const stages = (['fwd', 'backward'] as RecordStage[]).filter((s) => rowsOf.some((r) => r.stage === s && timed(r) && !isPeer(r)));
    for (const stage of stages) {
      for (const d of ds) {
        const rows = rowsOf.filter((r) => r.stage === stage && r.d === d && timed(r) && r.tflops !== null);
        const names = uniq(rows.map(seriesName));
        const series: Series[] = [];
        for (const [ci, name] of names.entries()) {
          for (const causal of [false, true]) {
            const pts = rows.filter((r) => seriesName(r) === name && r.causal === causal).map((r) => ({ x: r.nq, y: r.tflops! }));
            // black is the yardstick's alone
            if (pts.length) series.push({ label: `${name}${causal ? ' causal' : ''}`, points: dedupeX(pts), dashed: causal, colorIndex: ci >= TEXTBOOK_COLOR ? ci + 1 : ci });
          }
        }
        if (!series.length) continue;
        const hLines: Marker[] = (ceilings?.compute[dtype] ?? []).filter((c) => c.charted).map((c) => ({ value: c.tfs, label: `${c.name} ceiling ${tfs(c.tfs)}` }));
        charts.push({
          file: `tflops-${stage}-d${d}${fileSuffix(dtype)}.png`,
          title: `${stage} TFLOP/s, d=${d}${titleSuffix(dtype)}`,
          spec: { title: `${stageName(stage)} throughput, d=${d}${titleSuffix(dtype)} (bh=${bh})`, subtitle, xLabel: 'N (Nq = Nk)', yLabel: 'TFLOP/s (FlashAttention convention)', xLog: true, yLog: true, series, hLines },
        });
      }
    }
  }

  // 3. error vs N, one chart per dtype, stage and head dim: ours and the peers (a peer fast but far less exact shows
  // here) beside the textbook in the same dtype, the accuracy rule's yardstick
  for (const dtype of dtypes) {
    const rowsOf = inDtype(dtype);
    for (const stage of (['fwd', 'backward', 'lse'] as RecordStage[]).filter((s) => rowsOf.some((r) => r.stage === s && r.pipeline !== 'fwd' || r.stage === 'fwd'))) {
      for (const d of ds) {
        const rows = rowsOf.filter((r) => r.stage === stage && r.d === d && (stage !== 'lse' || r.pipeline === 'lse') && worstRelL2(r) !== null);
        const names = uniq(rows.map(seriesName)).filter((n) => !n.split(' ')[0]!.endsWith('/exact'));
        const series: Series[] = [];
        for (const [ci, name] of names.entries()) {
          for (const causal of [false, true]) {
            const pts = rows.filter((r) => seriesName(r) === name && r.causal === causal).map((r) => ({ x: r.nq, y: Math.max(worstRelL2(r)!, 1e-12) }));
            // black is the yardstick's alone
            if (pts.length) series.push({ label: `${name}${causal ? ' causal' : ''}`, points: dedupeX(pts), dashed: causal, colorIndex: ci >= TEXTBOOK_COLOR ? ci + 1 : ci });
          }
        }
        // one yardstick per mask, styled as the kernels' lines it judges (solid full, dashed causal); the lse stays
        // float32 in every dtype, and so does its textbook
        for (const causal of [false, true]) {
          const textbook = rows.filter((r) => r.causal === causal && textbookRelL2(r) !== null).map((r) => ({ x: r.nq, y: Math.max(textbookRelL2(r)!, 1e-12) }));
          const label = `textbook ${stage === 'lse' ? 'float32' : dtype}${causal ? ' causal' : ''} (yardstick)`;
          if (textbook.length) series.push({ label, points: dedupeX(textbook), dashed: causal, colorIndex: TEXTBOOK_COLOR });
        }
        if (!series.length) continue;
        charts.push({
          file: `error-${stage}-d${d}${fileSuffix(dtype)}.png`,
          title: `${stage} error vs float64, d=${d}${titleSuffix(dtype)}`,
          spec: { title: `${stageName(stage)}: relative L2 error vs the float64 reference, d=${d}${titleSuffix(dtype)} (worst output, bh=${bh})`, subtitle, xLabel: 'N (Nq = Nk)', yLabel: '‖x − ref‖ / ‖ref‖', xLog: true, yLog: true, series },
        });
      }
    }
  }

  // 4. device memory vs N, naive O(N²) vs tiled O(N), with naive's out-of-memory point: float32 where it ran (a half
  // dtype halves the tensors, and float16 and bfloat16 lines would lie on each other)
  const memDtype = dtypes[0];
  const memAll = memDtype ? inDtype(memDtype) : [];
  const memStage: RecordStage = memAll.some((r) => r.stage === 'backward' && r.bytes !== null) ? 'backward' : 'fwd';
  const dMem = ds[ds.length - 1];
  const memRows = memAll.filter((r) => r.stage === memStage && r.d === dMem && !r.causal && r.bytes !== null && r.bytes > 0 && !isPeer(r));
  if (memRows.length && memDtype) {
    const names = uniq(memRows.map(seriesName));
    const backends = uniq(memRows.map((r) => r.backend));
    // lines of every backend after the first dashed: two backends' tiled sessions can allocate the same bytes, and a
    // solid line drawn over another would hide it
    const series: Series[] = names.map((name, ci) => {
      const rows = memRows.filter((r) => seriesName(r) === name);
      return { label: name, points: dedupeX(rows.map((r) => ({ x: r.nq, y: r.bytes! }))), colorIndex: ci, dashed: backends.indexOf(rows[0]!.backend) > 0 };
    });
    const vLines: Marker[] = [];
    for (const backend of backends) {
      const oom = memAll.filter((r) => r.backend === backend && r.variant === 'naive' && r.d === dMem && isOom(r)).map((r) => r.nq);
      if (oom.length) vLines.push({ value: Math.min(...oom), label: `${backend}/naive out of memory at N=${Math.min(...oom)}` });
    }
    charts.push({
      file: 'memory.png',
      title: 'device memory vs N',
      spec: { title: `Device memory allocated, ${stageName(memStage)} session, d=${dMem}${titleSuffix(memDtype)} (bh=${bh})`, subtitle, xLabel: 'N (Nq = Nk)', yLabel: 'bytes', xLog: true, yLog: true, series, vLines },
    });
  }
  return charts;
}

function dedupeX(points: { x: number; y: number }[]): { x: number; y: number }[] {
  const byX = new Map<number, number>();
  for (const p of points) if (!byX.has(p.x)) byX.set(p.x, p.y);
  return [...byX.entries()].map(([x, y]) => ({ x, y }));
}

function stageName(stage: RecordStage): string {
  return { lse: 'stage 1 (lse)', forward: 'stage 2 (forward given lse)', fwd: 'forward (lse + forward)', backward: 'stage 3 (backward)' }[stage];
}

const fmt = (x: number | null | undefined, digits = 3): string => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x >= 1e4 || x < 1e-3 ? x.toExponential(2) : Number(x.toPrecision(digits)).toString());
const fmtBytes = (b: number | null): string => (b === null ? '—' : b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : b >= 2 ** 20 ? `${(b / 2 ** 20).toFixed(1)} MiB` : `${(b / 1024).toFixed(0)} KiB`);
const shape = (r: PointRecord): string => `${r.nq === r.nk ? r.nq : `${r.nq}×${r.nk}`} | ${r.d} | ${r.causal ? 'yes' : 'no'}`;

const L2_TEXT = { cold: 'a buffer of twice the L2 is overwritten before every sample, outside its timed region', warm: 'samples follow each other; a sample may find the previous one\'s data in the L2' } as const;

/** One line on how points were timed: the L2 mode, and any timed record whose backend did not do what was asked. */
function timingLine(results: Results): string | null {
  const t = results.metadata.timing;
  const timedRecords = results.records.filter((r) => r.timing);
  if (!t) return timedRecords.length ? 'Timing: L2 warm (this file predates the --l2 option: no backend scrubbed the cache).' : null;
  const other = timedRecords.filter((r) => (r.timing!.l2 ?? 'warm') !== t.l2);
  const odd = other.length ? ` ${other.length} timed record${other.length === 1 ? '' : 's'} ran ${t.l2 === 'cold' ? 'warm: their backend does not scrub' : 'cold'} (${uniq(other.map(seriesName)).join(', ')}).` : '';
  return `Timing: L2 **${t.l2}** (${L2_TEXT[t.l2]}); ${t.warmup} warm-up runs, at least ${t.minSamples} samples and ${t.budgetMs} ms per point.${odd}`;
}

function reading(r: ClockReading | null | undefined): string {
  if (!r) return '—';
  const parts = [`SM ${r.smMHz ?? '?'} MHz`, `mem ${r.memMHz ?? '?'} MHz`, r.powerW !== null ? `${r.powerW} W` : null, r.temperatureC !== null ? `${r.temperatureC} °C` : null];
  const why = r.throttleNames.length ? ` [${r.throttleNames.join(', ')}]` : '';
  return `${parts.filter(Boolean).join(', ')}${why}`;
}

/** The clocks of a timed sweep and, when they are suspect, a flag that says why. */
function clockLines(m: Metadata): string[] {
  const c = m.clocks;
  if (!c) return [];
  if (c.unavailable !== undefined && !c.start) return [`GPU clocks: not recorded (${c.unavailable}).`];
  const busy = c.busy;
  const lines = [
    `GPU clocks (nvidia-smi${c.gpu ? `, ${c.gpu}` : ''}; max SM ${c.maxSmMHz ?? '?'} MHz, mem ${c.maxMemMHz ?? '?'} MHz): start ${reading(c.start)}; end ${reading(c.end)}` +
      (busy ? `; ${busy.samples} busy readings (every ${busy.intervalMs / 1000} s)${busy.samples ? `, SM ${busy.lowestSm?.smMHz ?? '?'}–${busy.highestSm?.smMHz ?? '?'} MHz, lowest at ${reading(busy.lowestSm)}` : ''}` : '') +
      (c.unavailable ? ` (${c.unavailable})` : '') + '.',
  ];
  const flags = clockFlags(c);
  lines.push(flags.length
    ? `> **Clocks flagged:** ${flags.join('; ')} — timings of this run may be low.`
    : `Clocks not flagged (flag: a busy SM clock under ${Math.round(100 * CLOCK_FALL_FRACTION)}% of the highest busy one, or of the start's, or a slowdown reason: ${SLOWDOWNS.join(', ')}).`);
  return lines;
}

export function renderMarkdown(results: Results, charts: Chart[]): string {
  const m = results.metadata;
  const device = mainDevice(results);
  const out: string[] = [];
  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results.records) counts[r.status]++;
  const ceilings = ceilingsOf(results, device);

  out.push(`# Attention sweep — ${device} — ${m.createdAt.slice(0, 10)}`, '');
  const stopped = m.merged ? m.merged.filter((x) => x.interrupted).length : 0;
  const interrupted = m.merged
    ? stopped ? ` — ${stopped} of the ${m.merged.length} merged sweeps ${stopped === 1 ? 'was' : 'were'} interrupted; this is what finished` : ''
    : m.interrupted ? ' — the sweep was interrupted; this is what finished' : '';
  out.push(`Preset \`${m.preset}\`, seed ${m.seed}, commit \`${m.gitCommit ?? 'unknown'}\`, host \`${m.host}\` (${m.platform}, Node ${m.node}). ` +
    `${results.records.length} records: **${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped**${interrupted}.`, '');
  if (m.merged) {
    out.push(`Merged from ${m.merged.length} sweeps (a point in several keeps the later one's record; the lines below on environment, timing and clocks are the first sweep's):`, '');
    for (const x of m.merged) out.push(`- \`${x.source}\` (commit \`${x.gitCommit ?? 'unknown'}\`, ${x.createdAt}${x.interrupted ? ', interrupted' : ''}): \`attn sweep ${x.argv.join(' ')}\``);
    out.push('');
  } else {
    out.push(`Command: \`attn sweep ${m.argv.join(' ')}\`${m.loadAverage ? ` — load average at start ${m.loadAverage.join(', ')}` : ''}`, '');
  }
  const switches = Object.entries(m.environment ?? {}).filter(([k]) => !/(ADDON|DAWN_NODE|WORKER|COMMIT)$/.test(k));
  if (switches.length) out.push(`Environment (ATTN_*): ${switches.map(([k, v]) => `\`${k}=${v}\``).join(', ')}`, '');
  const timingText = timingLine(results);
  if (timingText) out.push(timingText, '');
  for (const line of clockLines(m)) out.push(line, '');
  for (const n of m.notes ?? []) out.push(`> ${n}`, '');

  out.push('## Backends', '', '| backend | status | device | driver | version | dtype | timer |', '|---|---|---|---|---|---|---|');
  for (const [name, b] of Object.entries(m.backends)) {
    const i = b.info;
    // the dtypes its records ran in (a half dtype beside float32), else what the backend says it computes in
    const ran = uniq(results.records.filter((r) => r.backend === name && r.status !== 'skipped').map((r) => r.dtype));
    out.push(`| ${name} | ${b.availability ? `not available: ${b.availability}` : 'ran'} | ${i?.device ?? '—'} | ${i?.driver ?? '—'} | ${i?.version ?? '—'} | ${ran.length ? ran.join(', ') : (i?.dtype ?? '—')} | ${i?.timer ?? '—'} |`);
  }
  if (ceilings) out.push('', `Ceilings used for fractions: ${ceilings.source}.`);
  out.push('');

  const failed = results.records.filter((r) => r.status === 'failed');
  if (failed.length) {
    out.push(`## Failures (${failed.length})`, '');
    for (const r of failed.slice(0, 40)) out.push(`- ${pointLabel(r)}: ${r.reason ?? ''}`);
    if (failed.length > 40) out.push(`- … and ${failed.length - 40} more (see results.json)`);
    out.push('');
  }

  if (charts.length) {
    out.push('## Charts', '');
    for (const c of charts) out.push(`### ${c.title}`, '', `![${c.title}](${c.file})`, '');
  }

  // speed tables: one per backend and stage, naive beside tiled
  const ours = results.records.filter((r) => !isPeer(r) && (r.pipeline !== 'fwd' || r.stage !== 'lse'));
  const byDtype = (a: PointRecord, b: PointRecord): number => DTYPE_ORDER.indexOf(storageDtype(a.dtype)) - DTYPE_ORDER.indexOf(storageDtype(b.dtype));
  const peers = results.records.filter(isPeer).sort(byDtype);
  const groups = uniq(ours.filter((r) => r.timing).sort(byDtype).map((r) => `${r.backend}|${r.stage}|${r.dtype}`));
  const anyHalf = groups.some((g) => g.endsWith('|float16') || g.endsWith('|bfloat16'));
  if (groups.length) out.push('## Timings', '', 'Median of the device-timed samples (p10–p90 in the per-point table of results.json). Speed-up = naive ÷ tiled. ' +
    '“best peer” = the fastest peer of the same dtype, pass and shape whose outputs passed the accuracy check (“unchecked”: a peer recorded before peers were checked); ' +
    '“vs best peer” = its time ÷ ours (above 1: ours is faster). ' +
    (ceilings ? 'TF/s fractions are of the ceilings of the table’s dtype, named in the header (“Ceilings used for fractions” above says where each comes from). ' : '') +
    (anyHalf ? 'In a half dtype “vs float32” = the float32 tiled time ÷ this one. ' : '') +
    `Bandwidth fraction counts only compulsory traffic (each input read once, each output written once${anyHalf ? ', in the table’s dtype; lse float32' : ''}).`, '');
  for (const g of groups) {
    const [backend, stage, dtype] = g.split('|') as [string, RecordStage, string];
    const rows = ours.filter((r) => r.backend === backend && r.stage === stage && r.dtype === dtype);
    const inDtype = dtype === 'float32' ? '' : ` (${dtype})`;
    const half = dtype === 'float16' || dtype === 'bfloat16';
    const shapes = uniq(rows.map((r) => `${r.bh}|${r.nq}|${r.nk}|${r.d}|${r.causal}`));
    const compute: Ceiling[] = ceilings?.compute[storageDtype(dtype)] ?? [];
    const header = ['bh', 'N', 'd', 'causal', 'naive ms', 'tiled ms', 'speed-up', 'tiled TF/s', 'best peer', 'vs best peer'];
    // the float32 run of the same backend, pass and shape, beside a half one
    const float32Tiled = (r: PointRecord): PointRecord | undefined =>
      ours.find((x) => x.backend === r.backend && x.stage === r.stage && x.dtype === 'float32' && x.variant === 'tiled' && x.bh === r.bh && x.nq === r.nq && x.nk === r.nk && x.d === r.d && x.causal === r.causal && x.timing);
    const withFloat32 = half && rows.some((r) => r.variant === 'tiled' && float32Tiled(r));
    if (withFloat32) header.push('vs float32');
    for (const c of compute) header.push(`of ${c.name} ${tfs(c.tfs)}`);
    if (ceilings?.bandwidth) header.push(`of ${Number(ceilings.bandwidth.toPrecision(3))} TB/s`);
    header.push('naive mem', 'tiled mem', 'tiled relL2', 'flash rule');
    out.push(`### ${backend} — ${stageName(stage)}${inDtype}`, '', `| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
    for (const s of shapes) {
      const at = rows.filter((r) => `${r.bh}|${r.nq}|${r.nk}|${r.d}|${r.causal}` === s);
      const naive = at.find((r) => r.variant === 'naive');
      const tiled = at.find((r) => r.variant === 'tiled') ?? at.find((r) => r.variant === 'exact');
      const ref = tiled ?? naive!;
      const ms = (r: PointRecord | undefined): string => (r?.timing ? fmt(r.timing.medianMs) : r?.status === 'skipped' ? 'skipped' : r?.status === 'failed' ? 'failed' : '—');
      const speedup = naive?.timing && tiled?.timing ? `${fmt(naive.timing.medianMs / tiled.timing.medianMs)}×` : '—';
      const best = bestPeer(peers, ref);
      const bestCell = best ? `${seriesName(best)} ${fmt(best.timing!.medianMs)} ms${unchecked(best) ? ' (unchecked)' : ''}` : '—';
      const cells = [String(ref.bh), ref.nq === ref.nk ? String(ref.nq) : `${ref.nq}×${ref.nk}`, String(ref.d), ref.causal ? 'yes' : 'no', ms(naive), ms(tiled), speedup, fmt(tiled?.tflops), bestCell, best && tiled?.timing ? `${fmt(best.timing!.medianMs / tiled.timing.medianMs)}×` : '—'];
      const frac = (x: number | null | undefined): string => (x ? `${(100 * x).toFixed(1)}%` : '—');
      if (withFloat32) {
        const f32 = tiled && float32Tiled(tiled);
        cells.push(f32?.timing && tiled?.timing ? `${fmt(f32.timing.medianMs / tiled.timing.medianMs)}×` : '—');
      }
      for (const c of compute) cells.push(frac(tiled?.tflops && tiled.tflops / c.tfs));
      if (ceilings?.bandwidth) cells.push(frac(tiled?.timing && compulsoryBytes(tiled) / (tiled.timing.medianMs * 1e-3) / 1e12 / ceilings.bandwidth));
      cells.push(fmtBytes(naive?.bytes ?? null), fmtBytes(tiled?.bytes ?? null), fmt(tiled ? worstRelL2(tiled) : null), tiled?.flashRule ? `${tiled.flashRule.passed ? 'ok' : 'FAIL'} (${fmt(tiled.flashRule.ratio, 2)})` : '—');
      out.push(`| ${cells.join(' | ')} |`);
    }
    out.push('');
    // other versions of the tiled kernels (tiled@CHOICE) run in the same sweep, beside the defaults
    const versions = uniq(rows.filter((r) => r.variant.startsWith('tiled@')).map((r) => r.variant));
    if (versions.length) {
      const vh = ['bh', 'N', 'd', 'causal', 'tiled ms', ...versions.flatMap((v) => [`${v} ms`, `÷ tiled`])];
      out.push(`#### ${backend} — ${stageName(stage)}${inDtype}: versions side by side`, '', 'Median ms of each variant and its time ÷ the defaults’ (above 1: slower than `tiled`); what each stage ran is in results.json (`kernels`).', '');
      out.push(`| ${vh.join(' | ')} |`, `|${vh.map(() => '---').join('|')}|`);
      for (const s of shapes) {
        const at = rows.filter((r) => `${r.bh}|${r.nq}|${r.nk}|${r.d}|${r.causal}` === s);
        const tiled = at.find((r) => r.variant === 'tiled');
        const ref = at[0]!;
        const ms = (r: PointRecord | undefined): string => (r?.timing ? fmt(r.timing.medianMs) : r?.status ?? '—');
        const cells = [String(ref.bh), ref.nq === ref.nk ? String(ref.nq) : `${ref.nq}×${ref.nk}`, String(ref.d), ref.causal ? 'yes' : 'no', ms(tiled)];
        for (const v of versions) {
          const r = at.find((x) => x.variant === v);
          cells.push(ms(r), r?.timing && tiled?.timing ? `${fmt(r.timing.medianMs / tiled.timing.medianMs)}×` : '—');
        }
        out.push(`| ${cells.join(' | ')} |`);
      }
      out.push('');
    }
  }

  if (peers.length) {
    out.push('## Peers', '', 'Each peer ran on the sweep\'s own inputs, timed like ours, its outputs checked against the same float64 reference ' +
      '(“checked”: full, or query rows sampled per bh; lse judged only where the peer computes it itself). “best” marks the fastest passing peer of its dtype, pass and shape; ' +
      'skipped peers are listed under Skipped.', '');
    out.push('| peer | dtype | stage | bh | N | d | causal | ms | TF/s | checked | worst rel L2 | max abs | status |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|');
    for (const p of peers.filter((x) => x.status !== 'skipped')) {
      const errs = Object.values(p.error ?? {});
      const maxAbs = errs.length ? Math.max(...errs.map((e) => e.maxAbs ?? NaN)) : null;
      const isBest = bestPeer(peers, p) === p;
      const status = `${p.status}${p.reason ? `: ${p.reason}` : ''}${unchecked(p) ? ' (unchecked)' : ''}`;
      out.push(`| ${seriesName(p)}${isBest ? ' **best**' : ''} | ${p.dtype} | ${p.stage} | ${p.bh} | ${shape(p)} | ${p.timing ? fmt(p.timing.medianMs) : '—'} | ${fmt(p.tflops)} | ${p.checked ?? '—'} | ${fmt(worstRelL2(p))} | ${fmt(maxAbs)} | ${status} |`);
    }
    out.push('');
  }

  // correctness tables (all points, compact), one per dtype
  const checked = results.records.filter((r) => r.error && (r.pipeline !== 'fwd' || r.stage === 'fwd'));
  if (checked.length) {
    const textbookRule = checked.some((r) => r.flashRule?.yardstick?.startsWith('textbook-'));
    const dtypes = dtypesOf(checked);
    out.push('## Correctness', '', 'Worst output per point vs the float64 reference (rel L2 = ‖x − ref‖/‖ref‖; “checked” = full or query rows sampled per bh; ' +
      'σ = std of the scaled scores the inputs were drawn for). ' +
      (textbookRule
        ? 'Flash rule: max|error| and ‖error‖₂ each ≤ 2 × the textbook’s in the same dtype (the largest over four summation orders; in a half dtype P and dS rounded to it before their products, outputs rounded, sums in float32) + a floor at the largest sum of |terms| behind one element: 4 float32 ulps of it, 1 ulp of a half dtype (×√n for the L2 norm; the lse stays float32, against the float32 textbook), worst output (ratio ≤ 1 passes); “textbook rel L2” is the yardstick’s own error on the same rows.'
        : 'Flash rule: tiled max|error| ≤ 2 × naive max|error| + floor (ratio ≤ 1 passes).'), '');
    for (const dtype of dtypes) {
      if (dtypes.length > 1) out.push(`### ${dtype}`, '');
      out.push('| backend/variant | stage | bh | N | d | causal | σ | checked | max abs | rel L2 | textbook rel L2 | non-finite | unwritten | flash rule | status |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
      for (const r of checked.filter((x) => storageDtype(x.dtype) === dtype)) {
        const errs = Object.values(r.error!);
        const maxAbs = Math.max(...errs.map((e) => e.maxAbs ?? NaN));
        const textbook = errs.map((e) => e.textbookRelL2).filter((x): x is number => typeof x === 'number');
        out.push(`| ${seriesName(r)} | ${r.stage} | ${r.bh} | ${shape(r)} | ${r.scoreStd ?? 1} | ${r.checked ?? '—'} | ${fmt(maxAbs)} | ${fmt(worstRelL2(r))} | ${textbook.length ? fmt(Math.max(...textbook)) : '—'} | ${errs.reduce((a, e) => a + e.nonFinite, 0)} | ${errs.reduce((a, e) => a + e.unwritten, 0)} | ${r.flashRule ? fmt(r.flashRule.ratio, 2) : '—'} | ${r.status} |`);
      }
      out.push('');
    }
  }

  const skipped = results.records.filter((r) => r.status === 'skipped');
  if (skipped.length) {
    out.push(`## Skipped (${skipped.length})`, '');
    const reasons = new Map<string, PointRecord[]>();
    for (const r of skipped) reasons.set(`${seriesName(r)}: ${r.reason}`, [...(reasons.get(`${seriesName(r)}: ${r.reason}`) ?? []), r]);
    for (const [reason, rs] of reasons) out.push(`- ${reason} — ${uniq(rs.map((r) => `N=${r.nq === r.nk ? r.nq : `${r.nq}×${r.nk}`} d=${r.d}`)).join(', ')}`);
    out.push('');
  }
  return out.join('\n');
}

export interface ReportFiles {
  markdown: string;
  charts: string[];
}

export async function writeReport(results: Results, outDir: string): Promise<ReportFiles> {
  mkdirSync(outDir, { recursive: true });
  const charts = chartSpecs(results);
  const files: string[] = [];
  for (const c of charts) {
    const path = join(outDir, c.file);
    writeFileSync(path, await renderChart(c.spec));
    files.push(path);
  }
  const markdown = join(outDir, 'report.md');
  writeFileSync(markdown, renderMarkdown(results, charts));
  return { markdown, charts: files };
}
