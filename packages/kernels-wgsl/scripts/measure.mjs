// Times each stage of the naive and tiled WGSL kernels on this machine's adapter (timestamp queries) and prints a
// markdown table with the two numbers per shape that bound it: FLOPs (FlashAttention's convention) and the minimum
// bytes a stage must move (its inputs read once, its outputs written once). Used for NOTES.md.
//   node scripts/measure.mjs [--dtype float16] [--variants V,V,…] [bh,n,d[,causal]] ...   (after `pnpm build`;
//   default: float32, the lavapipe shapes)
// --variants: time only the tiled variants given (e.g. tiled@v1,tiled@v5+side=8; README.md has the vocabulary), with
// the tiles each ran (Session.kernels). --dtype: the storage dtype of Q, K, V, dO, O, dQ, dK, dV (lse stays float32).
import { createWgslBackend } from '../dist/index.js';
import { flops, makeProblem, randomInputs } from '@attn/reference';

function minBytes(p, stage) {
  const F = p.dtype === 'float16' ? 2 : 4; // lse stays 4 bytes
  const q = p.bh * p.nq * p.d, k = p.bh * p.nk * p.d, v = p.bh * p.nk * p.dv, o = p.bh * p.nq * p.dv, l = p.bh * p.nq;
  if (stage === 'lse') return F * (q + k) + 4 * l;
  if (stage === 'forward') return F * (q + k + v + o) + 4 * l;
  return F * (q + k + v + o + o + q + k + v) + 4 * l; // reads Q K V O dO lse, writes dQ dK dV
}

const STAGES = ['lse', 'forward', 'backward'];
const args = process.argv.slice(2);
const option = (name) => {
  const at = args.indexOf(name);
  return at >= 0 ? args.splice(at, 2)[1] ?? '' : undefined;
};
const variants = (option('--variants') ?? '').split(',').filter(Boolean);
const dtype = option('--dtype') ?? 'float32';
const shapes = args.filter((a) => !a.startsWith('--')).map((s) => s.split(',')).map(([bh, n, d, c]) => ({ bh: +bh, nq: +n, d: +d, causal: c === 'causal', dtype }));
if (shapes.length === 0) shapes.push({ bh: 2, nq: 256, d: 64, causal: false, dtype }, { bh: 2, nq: 256, d: 64, causal: true, dtype }, { bh: 1, nq: 512, d: 128, causal: false, dtype });

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const label = (p) => `bh=${p.bh} n=${p.nq} d=${p.d}${p.causal ? ' causal' : ''}${p.dtype === 'float32' ? '' : ` ${p.dtype}`}`;

async function stageMs(backend, p, variant) {
  const why = backend.check(p, variant);
  if (why) return { skipped: why };
  const s = await backend.open(p, variant);
  try {
    await s.write(randomInputs(p, 1));
    const t = await s.time(STAGES, { warmup: 2, samples: 7 });
    return { ...Object.fromEntries(Object.entries(t.perStageMs).map(([st, xs]) => [st, median(xs)])), kernels: s.kernels };
  } finally {
    await s.dispose();
  }
}

async function main() {
  if (variants.length > 0) {
    const backend = createWgslBackend();
    const why = await backend.availability();
    if (why) throw new Error(why);
    console.log('| shape | variant | forward ran | lse ms | forward ms | backward ms | fwd GFLOP/s |');
    console.log('|---|---|---|---|---|---|---|');
    for (const variant of variants) {
      for (const init of shapes) {
        const p = makeProblem(init);
        const ms = await stageMs(backend, p, variant);
        const f = (st) => (ms[st] === undefined ? '—' : ms[st].toFixed(3));
        const gf = ms.forward ? (flops(p, 'forward') / 1e9 / (ms.forward / 1e3)).toFixed(1) : '—';
        console.log(`| ${label(p)} | ${variant} | ${ms.kernels?.forward ?? ''} | ${f('lse')} | ${f('forward')} | ${f('backward')} | ${gf} |${ms.skipped ? ' ' + ms.skipped : ''}`);
      }
    }
    await backend.close();
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
