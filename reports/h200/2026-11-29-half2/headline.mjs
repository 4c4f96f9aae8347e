// Prints the headline tables of README.md from results.json, runs/*.json, ../2026-11-29-half (the half run before this
// one) and ../2026-11-29 (the float32 run of the same card and day): node headline.mjs (in this folder)
import fs from 'node:fs';
const load = (f) => JSON.parse(fs.readFileSync(new URL(f, import.meta.url), 'utf8')).records;
const main = load('results.json');
const before = load('../2026-11-29-half/results.json');
const f32Day = load('../2026-11-29/results.json');
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

console.log('\nThis session\'s kernel changes, each timed beside what it replaced in one device call (float16, shape 0, median ms; runs/t-old.json = the bundle before, runs/t-new.json and runs/t-new16k.json = after, with bwd4 and bwd5 side by side)\n');
console.log('| N | d | causal | lse4 before | after | × | fwd5 (stage 2) before | after | × | bwd4 | bwd5 | bwd5 / bwd4 |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
const tOld = load('runs/t-old.json'), tNew = [...load('runs/t-new.json'), ...load('runs/t-new16k.json')];
for (const [n, d, c] of [[4096, 64, false], [4096, 64, true], [4096, 128, false], [4096, 128, true], [16384, 128, false]]) {
  const o = (st) => ms(at(tOld, 'cuda', 'tiled', st, n, d, c, 'float16')), a = (st) => ms(at(tNew, 'cuda', 'tiled', st, n, d, c, 'float16'));
  const b4 = ms(at(tNew, 'cuda', 'tiled@bwd4', 'backward', n, d, c, 'float16')), b5 = a('backward'); // tiled ran bwd5 in that bundle
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${f(o('lse'))} | ${f(a('lse'))} | ${ratio(o('lse'), a('lse'))} | ${f(o('forward'))} | ${f(a('forward'))} | ${ratio(o('forward'), a('forward'))} | ${f(b4)} | ${f(b5)} | ${ratio(b5, b4)} |`);
}
const cb5 = load('runs/c-bwd5.json');
console.log('\nbwd5 with its dQ pass by warp pairs (runs/c-bwd5.json) against the default bwd4 of results.json, same device call, float16, non-causal, median ms\n');
console.log('| N | d | bwd4 | bwd5 | bwd5 / bwd4 |');
console.log('|---|---|---|---|---|');
for (const [n, d] of [[4096, 64], [4096, 128], [16384, 64], [16384, 128]]) {
  const b4 = ms(at(main, 'cuda', 'tiled', 'backward', n, d, false, 'float16')), b5 = ms(at(cb5, 'cuda', 'tiled@bwd5', 'backward', n, d, false, 'float16'));
  console.log(`| ${n} | ${d} | ${f(b4)} | ${b5 === undefined ? 'not measured' : f(b5)} | ${ratio(b5, b4)} |`);
}

console.log('\nTiled over naive, stage 2 (forward given lse) at N = 4096, d = 64, non-causal (median naive / median tiled, same run)\n');
console.log('| backend | dtype | naive ms | tiled ms | tiled / naive speed-up |');
console.log('|---|---|---|---|---|');
for (const [b, v, dtype] of [['cuda', 'tiled', 'float16'], ['cuda', 'tiled', 'bfloat16'], ['wgsl', 'tiled', 'float16'], ['wgsl', 'tiled@v6', 'float16']]) {
  const nv = ms(at(main, b, 'naive', 'forward', 4096, 64, false, dtype)), tv = ms(at(main, b, v, 'forward', 4096, 64, false, dtype));
  console.log(`| ${b} ${v} | ${dtype} | ${f(nv)} | ${f(tv)} | ${ratio(nv, tv)} |`);
}

// A WGSL record this run timed well away from the same kernel's record in the runs before it (../2026-11-29 for
// float32, ../2026-11-29-half for float16), or whose samples split into a slow and a fast group, is marked '?'.
const suspect = (r) => {
  if (!r) return false;
  const prior = at(r.dtype === 'float32' ? f32Day : before, 'wgsl', 'tiled', r.stage, r.nq, r.d, r.causal, r.dtype);
  const off = r.variant === 'tiled' && prior && ms(r) > 1.15 * ms(prior);
  return off || r.timing.p90Ms > 1.2 * r.timing.p10Ms;
};
const m = (r) => (r ? `${f(ms(r))}${suspect(r) ? '?' : ''}` : '—');
console.log('\nWGSL float16: subgroup-matrix tiled (v6) beside f16 tiled (v5), float32 tiled and CUDA float16 tiled, median ms (lse+fwd / backward; float32 at N = 16384 from ../2026-11-29; ? = a record this run timed 1.15× or more over the same kernel in the runs before it, or with p90 > 1.2 × p10)\n');
console.log('| N | d | causal | v6 lse+fwd | v5 f16 | f32 | f32 / v6 | v5 / v6 | CUDA f16 / v6 | v6 bwd | v5 f16 | f32 | f32 / v6 | v5 / v6 | CUDA f16 / v6 |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const [n, d, c] of SHAPES) {
  const g = (v, st, dtype = 'float16') => at(main, 'wgsl', v, st, n, d, c, dtype);
  const f32 = (st) => at(main, 'wgsl', 'tiled', st, n, d, c, 'float32') ?? at(f32Day, 'wgsl', 'tiled', st, n, d, c, 'float32');
  const cu = (st) => at(main, 'cuda', 'tiled', st, n, d, c, 'float16');
  const row = (st) => {
    const v6 = g('tiled@v6', st), v5 = g('tiled', st), s = f32(st), cr = cu(st);
    return `${m(v6)} | ${m(v5)} | ${m(s)} | ${ratio(ms(s), ms(v6))} | ${ratio(ms(v5), ms(v6))} | ${ratio(ms(cr), ms(v6))}`;
  };
  if (!g('tiled@v6', 'fwd') && !g('tiled@v6', 'backward')) {
    console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | not measured | | | | | | | | | | | |`);
    continue;
  }
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${row('fwd')} | ${row('backward')} |`);
}

console.log('\nCorrectness (every record: outputs poisoned first, checked against float64, judged by the rule against the textbook of the dtype)\n');
const count = (recs, pick = () => true) => {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const r of recs.filter(pick)) c[r.status]++;
  const worst = Math.max(...recs.filter(pick).map((r) => r.flashRule?.ratio ?? 0));
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped; worst rule ratio ${worst.toFixed(2)}`;
};
console.log(`- runs/verify-cuda.json (CUDA tiled, float16 and bfloat16, the verify preset until its time limit): ${count(load('runs/verify-cuda.json'))}`);
console.log(`- runs/verify-wgsl6.json (WGSL tiled@v6, float16, the verify preset until its time limit): ${count(load('runs/verify-wgsl6.json'))}`);
console.log(`- runs/probe6.json (tiled@v6 in both load/store forms, N = 129, d = 64, causal and not): ${count(load('runs/probe6.json'))}`);
console.log(`- results.json (the timed points): ${count(main)}`);
