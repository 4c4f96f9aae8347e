// Times each stage of the naive and tiled WGSL kernels on this machine's adapter (timestamp queries) and prints a
// markdown table with the two numbers per shape that bound it: FLOPs (FlashAttention's convention) and the minimum
// bytes a stage must move (its inputs read once, its outputs written once). Used for NOTES.md.
//   node scripts/measure.mjs [--knobs] [bh,n,d[,causal]] ...      (after `pnpm build`; default: the lavapipe shapes)
// --knobs: time the tiled variant only, under each tuning knob set in KNOBS (tiled kernel 1 vs 2, tile sides, rows).
import { createWgslBackend } from '../dist/index.js';
import { flops, makeProblem, randomInputs } from '@attn/reference';

const F = 4;
function minBytes(p, stage) {
  const q = p.bh * p.nq * p.d, k = p.bh * p.nk * p.d, v = p.bh * p.nk * p.dv, o = p.bh * p.nq * p.dv, l = p.bh * p.nq;
  if (stage === 'lse') return F * (q + k + l);
  if (stage === 'forward') return F * (q + k + v + l + o);
  return F * (q + k + v + o + o + l + q + k + v); // reads Q K V O dO lse, writes dQ dK dV
}

// kernel 1 as it was measured on the H100 (16 × 16), then kernel 2 (the default) and its two main alternatives
const KNOBS = [{ kernel: 1 }, { kernel: 1, maxTileSide: 8 }, { kernel: 2 }, { kernel: 2, rowsPerInvocation: 8 }, { kernel: 2, maxTileSide: 8 }];
const STAGES = ['lse', 'forward', 'backward'];
const args = process.argv.slice(2);
const knobs = args.includes('--knobs');
const shapes = args.filter((a) => !a.startsWith('--')).map((s) => s.split(',')).map(([bh, n, d, c]) => ({ bh: +bh, nq: +n, d: +d, causal: c === 'causal' }));
if (shapes.length === 0) shapes.push({ bh: 2, nq: 256, d: 64, causal: false }, { bh: 2, nq: 256, d: 64, causal: true }, { bh: 1, nq: 512, d: 128, causal: false });

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const label = (p) => `bh=${p.bh} n=${p.nq} d=${p.d}${p.causal ? ' causal' : ''}`;

async function stageMs(backend, p, variant) {
  const why = backend.check(p, variant);
  if (why) return { skipped: why };
  const s = await backend.open(p, variant);
  try {
    await s.write(randomInputs(p, 1));
    const t = await s.time(STAGES, { warmup: 2, samples: 7 });
    return Object.fromEntries(Object.entries(t.perStageMs).map(([st, xs]) => [st, median(xs)]));
  } finally {
    await s.dispose();
  }
}

async function main() {
  if (knobs) {
    console.log('| shape | knobs | tiles (fwd) | lse ms | forward ms | backward ms | fwd GFLOP/s |');
    console.log('|---|---|---|---|---|---|---|');
    for (const opts of KNOBS) {
      const backend = createWgslBackend(opts);
      const why = await backend.availability();
      if (why) throw new Error(why);
      const tiles = (await backend.info()).details?.tiles;
      for (const init of shapes) {
        const p = makeProblem(init);
        const ms = await stageMs(backend, p, 'tiled');
        const fwdTiles = tiles?.[`d${p.d}`]?.forward ?? '';
        const f = (st) => (ms[st] === undefined ? '—' : ms[st].toFixed(3));
        const gf = ms.forward ? (flops(p, 'forward') / 1e9 / (ms.forward / 1e3)).toFixed(1) : '—';
        console.log(`| ${label(p)} | ${JSON.stringify(opts)} | ${fwdTiles} | ${f('lse')} | ${f('forward')} | ${f('backward')} | ${gf} |${ms.skipped ? ' ' + ms.skipped : ''}`);
      }
      await backend.close();
    }
    return;
  }
  const backend = createWgslBackend();
  const why = await backend.availability();
  if (why) throw new Error(why);
  const info = await backend.info();
  console.log(`adapter: ${info.device}; timer: ${info.timer}`);
  console.log('| shape | stage | GFLOP | min MB | naive ms | tiled ms | tiled GFLOP/s | tiled/naive |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const init of shapes) {
    const p = makeProblem(init);
    const ms = { naive: await stageMs(backend, p, 'naive'), tiled: await stageMs(backend, p, 'tiled') };
    for (const stage of STAGES) {
      const gf = flops(p, stage) / 1e9;
      const n = ms.naive[stage], t = ms.tiled[stage];
      console.log(`| ${label(p)} | ${stage} | ${gf.toFixed(3)} | ${(minBytes(p, stage) / 1e6).toFixed(2)} | ${n?.toFixed(2) ?? '—'} | ${t?.toFixed(2) ?? '—'} | ${t ? (gf / (t / 1e3)).toFixed(2) : '—'} | ${n && t ? (n / t).toFixed(2) + '×' : '—'} |`);
    }
  }
  await backend.close();
}
await main();
