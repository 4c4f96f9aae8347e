// Prints the headline tables of README.md from results.json and versions/*.json: node headline.mjs (in this folder)
import fs from 'node:fs';
const load = (f) => JSON.parse(fs.readFileSync(f, 'utf8')).records;
const main = load('results.json');
const get = (recs, backend, variant, stage, n, d, c) => recs.find((r) => r.backend === backend && r.variant === variant && r.stage === stage && r.nq === n && r.d === d && r.causal === c && r.timing)?.timing.medianMs;
const f = (x) => (x === undefined ? '—' : x < 10 ? x.toFixed(2) : x.toFixed(1));
const ratio = (a, b) => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2));
console.log('| N | d | causal | torch eff. fwd | CUDA tiled fwd (1+2) | torch/ours | torch eff. bwd | CUDA tiled bwd | torch/ours | WGSL tiled fwd | WGSL/CUDA speed | WGSL tiled bwd | WGSL/CUDA speed |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const d of [64, 128]) for (const c of [false, true]) for (const n of [1024, 2048, 4096, 8192, 16384]) {
  const tf = get(main, 'torch-sdpa:efficient', 'sdpa', 'fwd', n, d, c), tb = get(main, 'torch-sdpa:efficient', 'sdpa', 'backward', n, d, c);
  const cf = get(main, 'cuda', 'tiled', 'fwd', n, d, c), cb = get(main, 'cuda', 'tiled', 'backward', n, d, c);
  const wf = get(main, 'wgsl', 'tiled', 'fwd', n, d, c), wb = get(main, 'wgsl', 'tiled', 'backward', n, d, c);
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${f(tf)} | ${f(cf)} | ${ratio(tf, cf)} | ${f(tb)} | ${f(cb)} | ${ratio(tb, cb)} | ${f(wf)} | ${ratio(cf, wf)} | ${f(wb)} | ${ratio(cb, wb)} |`);
}
console.log('\nTiled over naive (median naive / median tiled, same run, non-causal):\n');
console.log('| backend | N | d | lse | forward (stage 2 alone) | lse+forward | backward |');
console.log('|---|---|---|---|---|---|---|');
for (const b of ['cuda', 'wgsl']) for (const d of [64, 128]) for (const n of [1024, 4096, 16384]) {
  const s = (st) => ratio(get(main, b, 'naive', st, n, d, false), get(main, b, 'tiled', st, n, d, false));
  console.log(`| ${b} | ${n} | ${d} | ${s('lse')} | ${s('forward')} | ${s('fwd')} | ${s('backward')} |`);
}
console.log('\nCUDA kernel versions (versions/*.json: separate runs of this session on the same card, tiled, non-causal, BH = 16; median ms):\n');
console.log('| run (switches) | N | d | lse | forward | lse+forward | backward |');
console.log('|---|---|---|---|---|---|---|');
const rows = [['results.json (defaults: lse 3, fwd 4, bwd 3, short chains)', main]];
for (const v of fs.readdirSync('versions').sort()) rows.push([`versions/${v}`, load(`versions/${v}`)]);
for (const [name, recs] of rows) for (const [n, d] of [[4096, 64], [4096, 128], [16384, 64], [16384, 128]]) {
  const g = (st) => f(get(recs, 'cuda', 'tiled', st, n, d, false));
  if (g('fwd') === '—' && g('backward') === '—') continue;
  console.log(`| ${name} | ${n} | ${d} | ${g('lse')} | ${g('forward')} | ${g('fwd')} | ${g('backward')} |`);
}
