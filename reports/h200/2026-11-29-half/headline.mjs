// Prints the headline tables of README.md from results.json, runs/*.json and ../2026-11-29/results.json (the float32
// run of the same card and day): node headline.mjs (in this folder)
import fs from 'node:fs';
const load = (f) => JSON.parse(fs.readFileSync(new URL(f, import.meta.url), 'utf8')).records;
const main = load('results.json');
const f32 = load('../2026-11-29/results.json');
const at = (recs, backend, variant, stage, n, d, c, dtype) =>
  recs.find((r) => r.backend === backend && r.variant === variant && r.stage === stage && r.nq === n && r.d === d &&
    r.causal === c && r.dtype === dtype && r.status === 'passed' && r.timing);
const ms = (r) => r?.timing.medianMs;
const f = (x) => (x === undefined ? '—' : x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1));
const e = (x) => (x === undefined || x === null ? '—' : x.toExponential(1));
const ratio = (a, b) => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2));
const bold = (r, target) => (r === '—' ? r : Number(r) >= target ? `**${r}**` : r);
const worstRel = (r) => (r?.error ? Math.max(...Object.values(r.error).map((x) => x.relL2 ?? 0)) : undefined);
const PEAK = 989; // fp16/bf16 dense tensor-core peak of the H100/H200 SXM, TF/s
const peak = (r) => (r?.tflops === undefined ? '—' : `${((100 * r.tflops) / PEAK).toFixed(0)} %`);
const SHAPES = [];
for (const d of [64, 128]) for (const c of [false, true]) for (const n of [1024, 4096, 16384]) SHAPES.push([n, d, c]);

for (const dtype of ['float16', 'bfloat16']) {
  console.log(`\n${dtype}: CUDA tiled vs torch's FlashAttention-2 (flash) and cuDNN backends (ratio = peer time / ours: >= 1 means ours is faster; lse+fwd target 0.67, backward target 1.0; worst rel L2 of the pass in brackets; % = our TF/s of the 989 TF/s peak)\n`);
  console.log('| N | d | causal | ours lse+fwd ms | FA2 fwd | ratio | cuDNN fwd | ratio | ours bwd ms | FA2 bwd | ratio | cuDNN bwd | ratio |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const [n, d, c] of SHAPES) {
    const of = at(main, 'cuda', 'tiled', 'fwd', n, d, c, dtype), ob = at(main, 'cuda', 'tiled', 'backward', n, d, c, dtype);
    if (!of && !ob) {
      console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | not measured | | | | | | | | | |`);
      continue;
    }
    const p = (v, st) => at(main, 'torch', v, st, n, d, c, dtype);
    const ours = (r) => (r ? `${f(ms(r))} (${e(worstRel(r))}, ${peak(r)})` : '—');
    const peer = (r) => (r ? `${f(ms(r))} (${e(worstRel(r))})` : '—');
    console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${ours(of)} | ${peer(p('flash', 'fwd'))} | ${bold(ratio(ms(p('flash', 'fwd')), ms(of)), 0.67)} | ${peer(p('cudnn', 'fwd'))} | ${ratio(ms(p('cudnn', 'fwd')), ms(of))} | ${ours(ob)} | ${peer(p('flash', 'backward'))} | ${bold(ratio(ms(p('flash', 'backward')), ms(ob)), 1)} | ${peer(p('cudnn', 'backward'))} | ${ratio(ms(p('cudnn', 'backward')), ms(ob))} |`);
  }
}

console.log('\nTiled over naive (median naive / median tiled, same run; naive is not run at N = 16384)\n');
console.log('| backend | dtype | N | d | causal | lse | forward (stage 2) | backward |');
console.log('|---|---|---|---|---|---|---|---|');
for (const [b, dtypes] of [['cuda', ['float16', 'bfloat16']], ['wgsl', ['float16']]]) for (const dtype of dtypes) for (const [n, d, c] of SHAPES) {
  const s = (st) => ratio(ms(at(main, b, 'naive', st, n, d, c, dtype)), ms(at(main, b, 'tiled', st, n, d, c, dtype)));
  if (s('forward') === '—') continue;
  console.log(`| ${b} | ${dtype} | ${n} | ${d} | ${c ? 'yes' : 'no'} | ${s('lse')} | ${s('forward')} | ${s('backward')} |`);
}

console.log('\nThe tile shape of lse4 / fwd5 (runs/h4096.json, one sweep): shape 0 (two m-tiles per warp, the automatic choice at these sizes) vs shape 1, median ms\n');
console.log('| dtype | d | causal | lse shape 0 | lse shape 1 | forward shape 0 | forward shape 1 | shape 1 / shape 0 (lse+fwd) |');
console.log('|---|---|---|---|---|---|---|---|');
const h4096 = load('runs/h4096.json');
for (const dtype of ['float16', 'bfloat16']) for (const d of [64, 128]) for (const c of [false, true]) {
  const g = (v, st) => ms(at(h4096, 'cuda', v, st, 4096, d, c, dtype));
  if (g('tiled', 'lse') === undefined) continue;
  console.log(`| ${dtype} | ${d} | ${c ? 'yes' : 'no'} | ${f(g('tiled', 'lse'))} | ${f(g('tiled@shape=1', 'lse'))} | ${f(g('tiled', 'forward'))} | ${f(g('tiled@shape=1', 'forward'))} | ${ratio(g('tiled@shape=1', 'fwd'), g('tiled', 'fwd'))} |`);
}

console.log('\nWGSL float16 tiled beside WGSL float32 tiled (../2026-11-29, the float32 run of this card, same day) and CUDA float16 tiled (this run), median ms\n');
console.log('| N | d | causal | WGSL f16 lse+fwd | WGSL f32 lse+fwd | f32 / f16 | CUDA f16 lse+fwd | CUDA / WGSL | WGSL f16 bwd | WGSL f32 bwd | f32 / f16 | CUDA f16 bwd | CUDA / WGSL |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [n, d, c] of SHAPES) {
  const w = (st) => ms(at(main, 'wgsl', 'tiled', st, n, d, c, 'float16'));
  const w32 = (st) => ms(at(f32, 'wgsl', 'tiled', st, n, d, c, 'float32'));
  const cu = (st) => ms(at(main, 'cuda', 'tiled', st, n, d, c, 'float16'));
  if (w('fwd') === undefined && w('backward') === undefined) continue;
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${f(w('fwd'))} | ${f(w32('fwd'))} | ${ratio(w32('fwd'), w('fwd'))} | ${f(cu('fwd'))} | ${ratio(cu('fwd'), w('fwd'))} | ${f(w('backward'))} | ${f(w32('backward'))} | ${ratio(w32('backward'), w('backward'))} | ${f(cu('backward'))} | ${ratio(cu('backward'), w('backward'))} |`);
}

console.log('\nCorrectness runs (every record: outputs poisoned first, checked against float64, judged by the rule against the textbook of the dtype)\n');
const count = (recs, pick = () => true) => {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const r of recs.filter(pick)) c[r.status]++;
  const worst = Math.max(...recs.filter(pick).map((r) => r.flashRule?.ratio ?? 0));
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped; worst rule ratio ${worst.toFixed(2)}`;
};
console.log(`- runs/verify-cuda.json (CUDA naive and tiled, float16 and bfloat16, the verify preset's odd shapes and score std 1..1024): ${count(load('runs/verify-cuda.json'))}`);
console.log(`- runs/verify-torch.json (the same preset, torch's four SDPA backends): torch records ${count(load('runs/verify-torch.json'), (r) => r.backend === 'torch')}`);
console.log(`- results.json (the timed points): ${count(main)}`);
