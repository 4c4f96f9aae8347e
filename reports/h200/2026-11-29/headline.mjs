// Prints the headline tables of README.md from results.json and runs/*.json: node headline.mjs (in this folder)
import fs from 'node:fs';
const load = (f) => JSON.parse(fs.readFileSync(new URL(f, import.meta.url), 'utf8')).records;
const main = load('results.json');
const at = (recs, backend, variant, stage, n, d, c) =>
  recs.find((r) => r.backend === backend && r.variant === variant && r.stage === stage && r.nq === n && r.d === d && r.causal === c && r.status === 'passed' && r.timing);
const ms = (r) => r?.timing.medianMs;
const f = (x) => (x === undefined ? '—' : x < 10 ? x.toFixed(3) : x < 100 ? x.toFixed(2) : x.toFixed(1));
const e = (x) => (x === undefined || x === null ? '—' : x.toExponential(1));
const ratio = (a, b) => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2));
const bold = (r, target) => (r === '—' ? r : Number(r) >= target ? `**${r}**` : r);
const worstRel = (r) => (r?.error ? Math.max(...Object.values(r.error).map((x) => x.relL2 ?? 0)) : undefined);
const PEERS = ['efficient', 'math'];
/** the fastest torch float32 backend that passed its check, for a stage and shape */
function bestPeer(stage, n, d, c) {
  const rs = PEERS.map((v) => at(main, 'torch', v, stage, n, d, c)).filter(Boolean);
  return rs.sort((a, b) => ms(a) - ms(b))[0];
}

console.log('CUDA tiled vs the best torch float32 peer (ratio = peer time / ours: >= 1 means ours is faster; worst rel L2 of the pass in brackets)\n');
console.log('| N | d | causal | ours lse+fwd ms | best peer fwd | ratio | ours bwd ms | best peer bwd | ratio |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const d of [64, 128]) for (const c of [false, true]) for (const n of [1024, 4096, 16384]) {
  const of = at(main, 'cuda', 'tiled', 'fwd', n, d, c), ob = at(main, 'cuda', 'tiled', 'backward', n, d, c);
  const pf = bestPeer('fwd', n, d, c), pb = bestPeer('backward', n, d, c);
  const peer = (p) => (p ? `${f(ms(p))} (${p.variant}, ${e(worstRel(p))})` : '—');
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${f(ms(of))} (${e(worstRel(of))}) | ${peer(pf)} | ${bold(ratio(ms(pf), ms(of)), 1)} | ${f(ms(ob))} (${e(worstRel(ob))}) | ${peer(pb)} | ${bold(ratio(ms(pb), ms(ob)), 1)} |`);
}

console.log('\nWGSL tiled vs CUDA tiled, same run (ratio = CUDA time / WGSL time: >= 0.5 is within 2x)\n');
console.log('| N | d | causal | CUDA fwd | WGSL fwd | ratio | CUDA bwd | WGSL bwd | ratio |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const d of [64, 128]) for (const c of [false, true]) for (const n of [1024, 4096, 16384]) {
  const g = (b, st) => ms(at(main, b, 'tiled', st, n, d, c));
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${f(g('cuda', 'fwd'))} | ${f(g('wgsl', 'fwd'))} | ${bold(ratio(g('cuda', 'fwd'), g('wgsl', 'fwd')), 0.5)} | ${f(g('cuda', 'backward'))} | ${f(g('wgsl', 'backward'))} | ${bold(ratio(g('cuda', 'backward'), g('wgsl', 'backward')), 0.5)} |`);
}

console.log('\nTiled over naive (median naive / median tiled, same run, non-causal; WGSL naive refuses N = 16384: a 17 GB score matrix)\n');
console.log('| backend | N | d | lse | forward (stage 2) | lse+forward | backward |');
console.log('|---|---|---|---|---|---|---|');
for (const b of ['cuda', 'wgsl']) for (const d of [64, 128]) for (const n of [1024, 4096, 16384]) {
  const s = (st) => ratio(ms(at(main, b, 'naive', st, n, d, false)), ms(at(main, b, 'tiled', st, n, d, false)));
  if (s('fwd') === '—') continue;
  console.log(`| ${b} | ${n} | ${d} | ${s('lse')} | ${s('forward')} | ${s('fwd')} | ${s('backward')} |`);
}

console.log('\nThe lse pair (accuracy at large scores), its cost: runs/lse-pair-before.json (bundle a311a9c, warm L2) and');
console.log('runs/lse-pair-after.json (this commit, cold L2) in one device call, BH 16, N 4096, non-causal, tiled; median ms\n');
console.log('| backend | d | stage | before | after | after / before |');
console.log('|---|---|---|---|---|---|');
const before = load('runs/lse-pair-before.json'), after = load('runs/lse-pair-after.json');
for (const b of ['cuda', 'wgsl']) for (const d of [64, 128]) for (const st of ['lse', 'forward', 'fwd', 'backward']) {
  const x = ms(at(before, b, 'tiled', st, 4096, d, false)), y = ms(at(after, b, 'tiled', st, 4096, d, false));
  console.log(`| ${b} | ${d} | ${st} | ${f(x)} | ${f(y)} | ${ratio(y, x)} |`);
}

console.log('\nAccuracy at large scores (runs/verify.json: BH 2, N = 160, d = 128, causal, one seed per score std σ):');
console.log('relative L2 error of each output against float64; the textbook is the float32 yardstick (largest over its 4 orders)\n');
const verify = load('runs/verify.json');
console.log('| σ | variant | lse | O | dQ | dK | dV | rule ratio (<= 1 passes) |');
console.log('|---|---|---|---|---|---|---|---|');
for (const s of [1, 8, 128, 1024]) {
  const recs = verify.filter((r) => r.nq === 160 && r.d === 128 && r.causal && (r.scoreStd ?? 1) === s);
  const get = (b, v, st) => recs.find((r) => r.backend === b && r.variant === v && r.stage === st && r.pipeline !== 'fwd' || (r.backend === b && r.variant === v && r.stage === st && st === 'fwd'));
  const row = (label, pick) => {
    const fwd = get(...pick, 'fwd'), bwd = get(...pick, 'backward');
    const err = (r, o, key = 'relL2') => e(r?.error?.[o]?.[key]);
    const ratioOf = Math.max(fwd?.flashRule?.ratio ?? 0, bwd?.flashRule?.ratio ?? 0);
    console.log(`| ${s} | ${label} | ${err(fwd, 'lse')} | ${err(fwd, 'o')} | ${err(bwd, 'dq')} | ${err(bwd, 'dk')} | ${err(bwd, 'dv')} | ${ratioOf.toFixed(2)} |`);
  };
  const tb = get('cuda', 'tiled', 'fwd'), tbb = get('cuda', 'tiled', 'backward');
  const t = (r, o) => e(r?.error?.[o]?.textbookRelL2);
  console.log(`| ${s} | textbook float32 | ${t(tb, 'lse')} | ${t(tb, 'o')} | ${t(tbb, 'dq')} | ${t(tbb, 'dk')} | ${t(tbb, 'dv')} | — |`);
  for (const [label, pick] of [['cuda naive', ['cuda', 'naive']], ['cuda tiled', ['cuda', 'tiled']], ['wgsl naive', ['wgsl', 'naive']], ['wgsl tiled', ['wgsl', 'tiled']]]) row(label, pick);
}
const vc = { passed: 0, failed: 0, skipped: 0 };
for (const r of verify) vc[r.status]++;
console.log(`\nruns/verify.json: ${verify.length} records, ${vc.passed} passed, ${vc.failed} failed, ${vc.skipped} skipped; worst rule ratio ${Math.max(...verify.map((r) => r.flashRule?.ratio ?? 0)).toFixed(2)}`);
