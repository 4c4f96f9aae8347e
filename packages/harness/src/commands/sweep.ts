import { execFileSync } from 'node:child_process';
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { availableParallelism, hostname, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { L2Mode, Pipeline, Variant } from '@attn/reference';
import { DTYPES, splitVariant } from '@attn/reference';
import { parseFlags } from '../args.js';
import type { BackendName } from '../backends.js';
import { BACKEND_NAMES, loadBackend } from '../backends.js';
import { integerList, nameList, positiveList, positiveNumber, variantList } from '../cli-options.js';
import { variantsHelp } from '../variants-help.js';
import { ClockSampler, clockFlags } from '../gpu-clocks.js';
import { TORCH_VARIANTS, TorchBackend } from '../peers/torch-backend.js';
import type { Preset, PresetName, ShapeBlock } from '../presets.js';
import { isPresetName, PRESET_NAMES, PRESETS } from '../presets.js';
import { Progress } from '../progress.js';
import { writeReport } from '../report.js';
import type { BackendMeta, Metadata } from '../results.js';
import { writeResults } from '../results.js';
import type { LoadedBackend, SweepConfig } from '../sweep.js';
import { expandBlocks, Sweep } from '../sweep.js';
import { UsageError } from '../usage-error.js';

export const summary = 'sweep backends × variants × stages × shapes: correctness against float64, GPU-timed speed, a report';

export const helpExtra = variantsHelp;

export const help = `Usage: attn sweep [options]

For every problem (shape × causal × BH) draws seeded random inputs once, computes the float64 reference once
(full for small problems, row-sampled for large), then for every backend × variant × pipeline: poisons the
outputs, runs, checks (max abs, rel L2, non-finite, unwritten; tiled vs naive by the FlashAttention rule) and
times with tinybench fed by the device's clock. Writes results.json after every point, then report.md + charts.

Peers: --backends …,torch (or --peers torch) adds torch scaled_dot_product_attention (python3 + torch + CUDA,
in the problem's dtype: float32 with TF32 off, float16, bfloat16) as a backend: its SDPA backends
(${TORCH_VARIANTS.join(', ')}) are its variants, given the same inputs, timed the same way and checked against the
same float64 reference; flash and cudnn take no float32 and are recorded as skipped there. Its fused forward gives
one fwd record (lse judged only where the kernel keeps its own: not math's) and no lse-only record. With torch and timing, the card's ceilings (copy, fp32/tf32/fp16/bf16 matmul) are
measured once into the metadata. A timed sweep also records nvidia-smi clocks (start, end, busy readings) and
flags a run whose SM clock fell or whose GPU slowed itself down.

Presets (${PRESET_NAMES.join(', ')}; default: gpu when a CUDA or hardware WebGPU backend is available, else cpu):
${PRESET_NAMES.map((n) => `  ${n.padEnd(7)} ${PRESETS[n].description}`).join('\n')}

Options (each list replaces the preset's; --n, --pairs, --d or --bh also drop the preset's list of odd shapes):
  --preset NAME          ${PRESET_NAMES.join(' | ')}
  --backends LIST        ${BACKEND_NAMES.join(',')} (reference is the slow float64 CPU code: only when named);
                         default: the named preset's (half: cuda,wgsl,torch), else cuda,wgsl
  --variants LIST        naive,tiled,exact, tiled@CHOICE (kernel versions, below: several side by side in one run),
                         and the peers' own (${TORCH_VARIANTS.join(',')}); a peer runs all of its own when none is named
  --pipelines LIST       lse,fwd,bwd   (fwd is timed as lse+forward and per stage; bwd times the backward alone)
  --n LIST               square sizes, Nq = Nk
  --pairs LIST           Nq≠Nk sizes as NQxNK, e.g. 17x129,1024x4096
  --d LIST               head dims
  --causal MODE          both | yes | no
  --bh LIST              batch × heads
  --score-std LIST       std of the scaled scores the inputs are drawn for (Q, K ~ sqrt(σ)·N(0,1)); e.g. 1,8,128,1024
                         (rows reach about ±4σ: attention logit growth). Default 1; the verify preset adds 8,128,1024
  --dtypes LIST          float32,float16,bfloat16: storage dtypes (inputs rounded to each; lse and accumulation stay
                         float32); a backend without kernels for one refuses it in one line (a skipped record)
  --seed N               seed of the inputs (each problem derives its own; recorded per point)
  --time-budget MS       wall-time budget per timed point (samples keep coming until it is spent)
  --min-samples N        at least this many timed samples per point
  --l2 MODE              cold | warm (default cold): cold overwrites a buffer of twice the L2 before every
                         sample, outside its timed region, so no sample finds its inputs in cache
  --sample-rows N        query (and key) rows per bh checked against float64 when a problem is too large to check
                         in full (default: the preset's)
  --no-timing            correctness only
  --peers torch          shorthand for adding torch to --backends
  --name NAME            report folder name (default: <preset>-<device>-<date>)
  --out DIR              output folder (default: reports/<name>)
  --no-report            write results.json only`;

const VARIANTS: readonly Variant[] = ['naive', 'tiled', 'exact', ...TORCH_VARIANTS];
const L2_MODES: readonly L2Mode[] = ['cold', 'warm'];
const PIPELINES: readonly Pipeline[] = ['lse', 'fwd', 'bwd'];

const FLAGS = {
  preset: { type: 'string' },
  backends: { type: 'string' },
  variants: { type: 'string' },
  pipelines: { type: 'string' },
  n: { type: 'string' },
  pairs: { type: 'string' },
  d: { type: 'string' },
  causal: { type: 'string' },
  bh: { type: 'string' },
  'score-std': { type: 'string' },
  dtypes: { type: 'string' },
  seed: { type: 'string' },
  'time-budget': { type: 'string' },
  'min-samples': { type: 'string' },
  l2: { type: 'string' },
  'sample-rows': { type: 'string' },
  'no-timing': { type: 'boolean' },
  peers: { type: 'string' },
  name: { type: 'string' },
  out: { type: 'string' },
  'no-report': { type: 'boolean' },
} as const;

function parse(argv: string[]) {
  return parseFlags(argv, FLAGS, false, 'attn sweep --help').values;
}

function parsePairs(raw: string | undefined): [number, number][] | undefined {
  if (raw === undefined) return undefined;
  return raw.split(',').map((s) => {
    const m = /^\s*(\d+)\s*x\s*(\d+)\s*$/i.exec(s);
    const nq = Number(m?.[1]);
    const nk = Number(m?.[2]);
    if (!m || nq < 1 || nk < 1) throw new UsageError(`--pairs takes NQxNK pairs like 17x129,1024x4096; got '${s}'`);
    return [nq, nk];
  });
}

function parseCausal(raw: string | undefined): boolean[] | undefined {
  if (raw === undefined) return undefined;
  const modes: Record<string, boolean[]> = { both: [false, true], yes: [true], no: [false] };
  const m = modes[raw];
  if (!m) throw new UsageError(`--causal must be both, yes or no; got '${raw}'`);
  return m;
}

/** Each given flag replaces that dimension in every block of the preset. */
function shapeBlocks(preset: Preset, v: ReturnType<typeof parse>): ShapeBlock[] {
  const n = integerList('--n', v.n);
  const pairs = parsePairs(v.pairs);
  const sizes = n || pairs ? [...(n ?? []).map((x) => [x, x] as const), ...(pairs ?? [])] : undefined;
  const ds = integerList('--d', v.d);
  const causal = parseCausal(v.causal);
  const bh = integerList('--bh', v.bh);
  const scoreStd = positiveList('--score-std', v['score-std']);
  const dtypes = nameList('--dtypes', v.dtypes, DTYPES);
  // a block of listed problems (the odd shapes) has no sizes, d or bh to replace: asking for shapes drops it
  const shapesAsked = sizes !== undefined || ds !== undefined || bh !== undefined;
  return preset.blocks.filter((b) => !(b.list && shapesAsked)).map((b) => ({
    ...b,
    sizes: sizes ?? b.sizes,
    ds: ds ?? b.ds,
    causal: causal ?? b.causal,
    bh: bh ?? b.bh,
    ...(scoreStd ?? b.scoreStd ? { scoreStd: scoreStd ?? b.scoreStd } : {}),
    ...(dtypes ?? b.dtypes ? { dtypes: dtypes ?? b.dtypes } : {}),
  }));
}

async function loadAll(names: readonly BackendName[]): Promise<{ loaded: LoadedBackend[]; meta: Record<string, BackendMeta> }> {
  const loaded: LoadedBackend[] = [];
  const meta: Record<string, BackendMeta> = {};
  for (const name of names) {
    try {
      const backend = await loadBackend(name);
      const availability = await backend.availability();
      if (availability) {
        loaded.push({ name, backend: null });
        meta[name] = { availability };
      } else {
        loaded.push({ name, backend });
        meta[name] = { availability: null, info: await backend.info() };
      }
    } catch (e) {
      loaded.push({ name, backend: null });
      meta[name] = { availability: `could not load: ${(e as Error).message.split('\n')[0]}` };
    }
  }
  return { loaded, meta };
}

const isSoftware = (m: BackendMeta): boolean =>
  /llvmpipe|lavapipe|swiftshader|software/i.test(m.info?.device ?? '') || m.info?.details?.isFallbackAdapter === true;

/** gpu when a hardware GPU backend is usable here, else cpu. */
function defaultPreset(meta: Record<string, BackendMeta>): PresetName {
  const hardware = Object.entries(meta).some(([name, m]) => name !== 'reference' && m.availability === null && !isSoftware(m));
  return hardware ? 'gpu' : 'cpu';
}

/** The checkout's commit; a GPU bundle (no .git there) passes the commit it was packed from in ATTN_GIT_COMMIT. */
function gitCommit(): string | null {
  if (process.env.ATTN_GIT_COMMIT) return process.env.ATTN_GIT_COMMIT;
  try {
    return execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

/** The repository root (where pnpm-workspace.yaml is), else the working directory. */
function repoRoot(): string {
  let dir = process.cwd();
  for (;;) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

const slug = (s: string): string => s.toLowerCase().replace(/\(.*?\)/g, '').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 32);

export async function main(argv: string[]): Promise<number> {
  const v = parse(argv);
  if (v.preset !== undefined && !isPresetName(v.preset)) throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')}; got '${v.preset}'`);
  if (v.peers !== undefined && v.peers !== 'torch') throw new UsageError(`--peers takes 'torch'; got '${v.peers}'`);
  if (v.l2 !== undefined && !(L2_MODES as readonly string[]).includes(v.l2)) throw new UsageError(`--l2 must be cold or warm; got '${v.l2}'`);
  const askedBackends = nameList('--backends', v.backends, BACKEND_NAMES);
  const variants = variantList('--variants', v.variants, VARIANTS);
  const pipelines = nameList('--pipelines', v.pipelines, PIPELINES);
  const seed = v.seed === undefined ? 20261125 : Number(v.seed);
  if (!Number.isSafeInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new UsageError(`--seed must be an integer in [0, 2^32); got '${v.seed}'`);

  // load every backend the preset or the user may want, so the default preset can follow what this machine has
  const candidates: BackendName[] = [...(askedBackends ?? (v.preset ? PRESETS[v.preset as PresetName].backends : ['cuda', 'wgsl']))];
  if (v.peers === 'torch' && !candidates.includes('torch')) candidates.push('torch');
  let { loaded, meta } = await loadAll(candidates);
  const presetName: PresetName = (v.preset as PresetName | undefined) ?? defaultPreset(meta);
  const preset = PRESETS[presetName];
  const notes: string[] = [];
  if (!askedBackends && loaded.every((b) => !b.backend || b.name === 'torch')) {
    const why = Object.entries(meta).map(([n, m]) => `${n}: ${m.availability}`).join('; ');
    notes.push(`no GPU backend is available here (${why}); the float64 reference backend is swept instead`);
    console.error(`attn sweep: ${notes[0]}`);
    const ref = await loadAll(['reference']);
    loaded = [...loaded, ...ref.loaded];
    meta = { ...meta, ...ref.meta };
  }

  const problems = expandBlocks(shapeBlocks(preset, v));
  const timing = v['no-timing'] || !preset.timing
    ? null
    : {
        ...preset.timing,
        budgetMs: positiveNumber('--time-budget', v['time-budget'], preset.timing.budgetMs),
        minSamples: Math.round(positiveNumber('--min-samples', v['min-samples'], preset.timing.minSamples)),
        l2: (v.l2 as L2Mode | undefined) ?? preset.timing.l2,
      };
  if (v['no-timing'] === undefined && !preset.timing && (v['time-budget'] || v['min-samples'] || v.l2)) {
    throw new UsageError(`--preset ${presetName} is correctness only; drop --time-budget/--min-samples/--l2`);
  }

  const device = Object.values(meta).find((m) => m.info)?.info?.device ?? 'no-device';
  const date = new Date().toISOString();
  const name = v.name ?? `${presetName}-${slug(device)}-${date.slice(0, 10)}`;
  const outDir = resolve(v.out ?? join(repoRoot(), 'reports', name));
  const outPath = join(outDir, 'results.json');

  const metadata: Metadata = {
    name,
    createdAt: date,
    gitCommit: gitCommit(),
    host: hostname(),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    loadAverage: loadavg().map((x) => Number(x.toFixed(2))),
    // the ATTN_* environment (bundle paths, batch settings) stays with the numbers; kernel versions are variants
    environment: Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('ATTN_')).sort()) as Record<string, string>,
    preset: presetName,
    seed,
    argv,
    backends: meta,
    ...(timing ? { timing: { l2: timing.l2, warmup: timing.warmup, minSamples: timing.minSamples, budgetMs: timing.budgetMs } } : {}),
    ...(notes.length ? { notes } : {}),
  };

  const controller = new AbortController();
  // each tinybench run listens on the signal
  setMaxListeners(0, controller.signal);
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    console.error('\nattn sweep: stopping after the current point (Ctrl-C again to quit at once)…');
  };
  process.on('SIGINT', onSigint);

  const config: SweepConfig = {
    backends: loaded.map((b) => b.name as BackendName),
    variants: variants ?? preset.variants,
    pipelines: pipelines ?? preset.pipelines,
    problems,
    seed,
    timing,
    sampleRows: Math.round(positiveNumber('--sample-rows', v['sample-rows'], preset.sampleRows)),
    outPath,
    signal: controller.signal,
  };
  const sweep = new Sweep(config, metadata, loaded);
  const progress = new Progress(sweep.unitCount());
  config.progress = progress;
  const usable = loaded.filter((b) => b.backend).map((b) => b.name);
  // the variants some usable backend runs (the preset's 'exact' only where the reference backend is asked for)
  const running = config.variants.filter((v) => loaded.some((b) => b.backend?.variants.includes(splitVariant(v).base)));
  console.error(
    `attn sweep: preset ${presetName}, ${problems.length} problems × [${usable.join(', ') || 'no backend'}] × ${running.join('/') || 'no variant'} × ${config.pipelines.join('/')}` +
      `${timing ? `, timing ${timing.budgetMs} ms/point` : ', correctness only'} → ${outPath}`,
  );
  if (timing && loadavg()[0]! > 2 * availableParallelism()) console.error(`attn sweep: warning: load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} cores; timings will be noisy`);
  for (const [n, m] of Object.entries(meta)) if (m.availability) console.error(`attn sweep: backend ${n} skipped: ${m.availability}`);

  const clocks = timing ? new ClockSampler() : null;
  await clocks?.start();
  const torch = loaded.find((b) => b.backend instanceof TorchBackend)?.backend as TorchBackend | undefined;
  if (torch && timing) {
    try {
      metadata.ceilings = await torch.ceilings();
      const c = metadata.ceilings;
      console.error(`attn sweep: ceilings (torch): copy ${c.copyGBs?.toFixed(0)} GB/s, fp32 ${c.fp32MatmulTFs?.toFixed(1)}, tf32 ${c.tf32MatmulTFs?.toFixed(0)}, fp16 ${c.fp16MatmulTFs?.toFixed(0)}, bf16 ${c.bf16MatmulTFs?.toFixed(0)} TF/s`);
    } catch (e) {
      console.error(`attn sweep: ceilings not measured: ${(e as Error).message}`);
    }
  }

  let results;
  try {
    results = await sweep.run();
  } finally {
    progress.clear();
    process.off('SIGINT', onSigint);
  }

  if (clocks) {
    results.metadata.clocks = await clocks.stop();
    writeResults(outPath, results);
    const c = results.metadata.clocks;
    if (c.unavailable !== undefined) console.error(`attn sweep: GPU clocks not recorded: ${c.unavailable}`);
    for (const flag of clockFlags(c)) console.error(`attn sweep: warning: clocks: ${flag}`);
  }

  const counts = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results.records) counts[r.status]++;
  console.log(`${results.records.length} records: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped${results.metadata.interrupted ? ' (interrupted)' : ''}`);
  console.log(`results: ${outPath}`);
  if (!v['no-report']) {
    const files = await writeReport(results, outDir);
    console.log(`report:  ${files.markdown} (+ ${files.charts.length} charts)`);
  }
  return counts.failed > 0 ? 1 : 0;
}
