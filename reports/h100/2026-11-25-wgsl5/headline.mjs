// Prints the headline tables of README.md from results.json and versions/*.json: node headline.mjs (in this folder)
import fs from 'node:fs';
const load = (f) => JSON.parse(fs.readFileSync(f, 'utf8')).records;
const main = load('results.json');
const get = (recs, backend, variant, stage, n, d, c) =>
  recs.find((r) => r.backend === backend && r.variant === variant && r.stage === stage && r.nq === n && r.d === d && r.causal === c && r.timing)?.timing.medianMs;
const f = (x) => (x === undefined ? '—' : x < 10 ? x.toFixed(3) : x.toFixed(1));
const ratio = (a, b) => (a === undefined || b === undefined ? '—' : (a / b).toFixed(2));
const mark = (r) => (r === '—' ? r : Number(r) >= 0.5 ? `**${r}**` : r);
const unchecked = load('versions/unchecked.json');

console.log('Issue 7: WGSL tiled (kernel 5) vs CUDA tiled, same run; speed ratio = CUDA time / WGSL time (target ≥ 0.5, bold when met)\n');
console.log('| N | d | causal | CUDA fwd (1+2) | WGSL fwd | ratio | CUDA bwd | WGSL bwd | ratio | WGSL fwd, clamps off | ratio | WGSL bwd, clamps off | ratio |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const d of [64, 128]) for (const c of [false, true]) for (const n of [1024, 4096, 16384]) {
  const cf = get(main, 'cuda', 'tiled', 'fwd', n, d, c), cb = get(main, 'cuda', 'tiled', 'backward', n, d, c);
  const wf = get(main, 'wgsl', 'tiled', 'fwd', n, d, c), wb = get(main, 'wgsl', 'tiled', 'backward', n, d, c);
  // the clamps-off run has its own CUDA line (same card, next process): its ratios use it
  const ucf = get(unchecked, 'cuda', 'tiled', 'fwd', n, d, c), ucb = get(unchecked, 'cuda', 'tiled', 'backward', n, d, c);
  const uf = get(unchecked, 'wgsl', 'tiled', 'fwd', n, d, c), ub = get(unchecked, 'wgsl', 'tiled', 'backward', n, d, c);
  console.log(`| ${n} | ${d} | ${c ? 'yes' : 'no'} | ${f(cf)} | ${f(wf)} | ${mark(ratio(cf, wf))} | ${f(cb)} | ${f(wb)} | ${mark(ratio(cb, wb))} | ${f(uf)} | ${mark(ratio(ucf, uf))} | ${f(ub)} | ${mark(ratio(ucb, ub))} |`);
}

console.log('\nTiled over naive, WGSL (median naive / median tiled, same run, non-causal; naive is refused at N = 16384: its score matrix exceeds the 2 GiB binding):\n');
console.log('| N | d | lse | forward (stage 2 alone) | lse+forward | backward |');
console.log('|---|---|---|---|---|---|');
for (const d of [64, 128]) for (const n of [1024, 4096]) {
  const s = (st) => ratio(get(main, 'wgsl', 'naive', st, n, d, false), get(main, 'wgsl', 'tiled', st, n, d, false));
  console.log(`| ${n} | ${d} | ${s('lse')} | ${s('forward')} | ${s('fwd')} | ${s('backward')} |`);
}

console.log('\nWGSL kernel versions (versions/runN-*.json: one process per configuration, tiled, non-causal, BH = 16; median ms');
console.log('lse / forward / lse+forward / backward; runs 1–2 had no CUDA context in the process and show the slow clock mode, see README):\n');
console.log('| run | configuration | N | d | lse | forward | lse+forward | backward | CUDA lse+forward / backward (same process) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const v of fs.readdirSync('versions').filter((x) => x.startsWith('run')).sort()) {
  const recs = load(`versions/${v}`);
  const [run, ...cfg] = v.replace('.json', '').split('-');
  for (const [n, d] of [[1024, 64], [1024, 128], [4096, 64], [4096, 128]]) {
    const g = (b, st) => f(get(recs, b, 'tiled', st, n, d, false));
    if (g('wgsl', 'fwd') === '—' && g('wgsl', 'backward') === '—') continue;
    const cuda = g('cuda', 'fwd') === '—' ? '—' : `${g('cuda', 'fwd')} / ${g('cuda', 'backward')}`;
    console.log(`| ${run} | ${cfg.join('-')} | ${n} | ${d} | ${g('wgsl', 'lse')} | ${g('wgsl', 'forward')} | ${g('wgsl', 'fwd')} | ${g('wgsl', 'backward')} | ${cuda} |`);
  }
}
