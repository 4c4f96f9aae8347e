// Times each stage of the naive and tiled WGSL kernels on this machine's adapter (timestamp queries) and prints a
// markdown table with the two numbers per shape that bound it: FLOPs (FlashAttention's convention) and the minimum
// bytes a stage must move (its inputs read once, its outputs written once). Used for NOTES.md.
//   node scripts/measure.mjs [bh,nq,d[,causal]] ...      (after `pnpm build`; default: the lavapipe shapes)
import { createWgslBackend } from '../dist/index.js';
import { flops, makeProblem, randomInputs } from '@attn/reference';

const F = 4;
function minBytes(p, stage) {
  const q = p.bh * p.nq * p.d, k = p.bh * p.nk * p.d, v = p.bh * p.nk * p.dv, o = p.bh * p.nq * p.dv, l = p.bh * p.nq;
  if (stage === 'lse') return F * (q + k + l);
  if (stage === 'forward') return F * (q + k + v + l + o);
  return F * (q + k + v + o + o + l + q + k + v); // reads Q K V O dO lse, writes dQ dK dV
}

const shapes = process.argv.slice(2).map((s) => s.split(',')).map(([bh, n, d, c]) => ({ bh: +bh, nq: +n, d: +d, causal: c === 'causal' }));
if (shapes.length === 0) shapes.push({ bh: 2, nq: 256, d: 64, causal: false }, { bh: 2, nq: 256, d: 64, causal: true }, { bh: 1, nq: 512, d: 128, causal: false });

const backend = createWgslBackend();
const why = await backend.availability();
if (why) throw new Error(why);
const info = await backend.info();
console.log(`adapter: ${info.device}; timer: ${info.timer}`);
console.log('| shape | stage | GFLOP | min MB | naive ms | tiled ms | tiled GFLOP/s | tiled/naive |');
console.log('|---|---|---|---|---|---|---|---|');
for (const init of shapes) {
  const p = makeProblem(init);
  const ms = {};
  for (const variant of ['naive', 'tiled']) {
    if (backend.check(p, variant)) { ms[variant] = null; continue; }
    const s = await backend.open(p, variant);
    await s.write(randomInputs(p, 1));
    const t = await s.time(['lse', 'forward', 'backward'], { warmup: 1, samples: 5 });
    ms[variant] = Object.fromEntries(Object.entries(t.perStageMs).map(([st, xs]) => [st, [...xs].sort((a, b) => a - b)[xs.length >> 1]]));
    await s.dispose();
  }
  for (const stage of ['lse', 'forward', 'backward']) {
    const gf = flops(p, stage) / 1e9;
    const n = ms.naive?.[stage], t = ms.tiled?.[stage];
    const shape = `bh=${p.bh} n=${p.nq} d=${p.d}${p.causal ? ' causal' : ''}`;
    console.log(`| ${shape} | ${stage} | ${gf.toFixed(3)} | ${(minBytes(p, stage) / 1e6).toFixed(2)} | ${n?.toFixed(2) ?? '—'} | ${t?.toFixed(2) ?? '—'} | ${t ? (gf / (t / 1e3)).toFixed(2) : '—'} | ${n && t ? (n / t).toFixed(2) + '×' : '—'} |`);
  }
}
await backend.close();
