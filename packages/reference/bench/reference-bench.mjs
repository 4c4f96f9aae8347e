// The two speed figures of the float64 reference (issue 2), on whatever machine runs it:
//   1. full forward (lse + O) of BH=1, N=4096, d=64;
//   2. row-sampled check of 64 query rows (lse + O) at BH=1, N=65536, d=128;
// and, for information, the row-sampled backward check at that size.
// Each is timed with all threads and in one thread; inputs are drawn (and timed) apart from the computation.
// Wall time is the figure; CPU time (all threads of the process) and the load average are printed beside it,
// because on a shared machine other processes' load inflates wall time.
// Run: pnpm --filter @attn/reference bench   (builds first; imports the built package)
import { availableParallelism, cpus, loadavg } from 'node:os';
import { closeReferencePool, makeProblem, randomInputs, referenceOutputs, sampleRows } from '../dist/index.js';

const REPEATS = 3;

/** median wall time of REPEATS runs, with the CPU time of that run */
async function median(fn) {
  const runs = [];
  for (let i = 0; i < REPEATS; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    runs.push({ wall, cpu: (cpu.user + cpu.system) / 1000 });
  }
  runs.sort((a, b) => a.wall - b.wall);
  return runs[Math.floor(runs.length / 2)];
}

function line(label, run, limitMs) {
  const verdict = limitMs === undefined ? '' : run.wall <= limitMs ? `  target ≤ ${limitMs / 1000} s: met` : `  target ≤ ${limitMs / 1000} s: NOT met`;
  const cpu = run.cpu === undefined ? '' : `  (cpu ${(run.cpu / 1000).toFixed(3)} s)`;
  console.log(`${label.padEnd(58)} ${(run.wall / 1000).toFixed(3).padStart(8)} s${cpu}${verdict}`);
}

function once(fn) {
  const t0 = performance.now();
  const value = fn();
  return { value, run: { wall: performance.now() - t0 } };
}

const threads = availableParallelism();
console.log(`reference bench — ${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'CPU'}, ${threads} threads, Node ${process.version}`);
console.log(`median of ${REPEATS} runs; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);

{
  const p = makeProblem({ bh: 1, nq: 4096, d: 64 });
  const { value: x, run } = once(() => randomInputs(p, 1));
  line('inputs: randomInputs BH=1 N=4096 d=64', run);
  await referenceOutputs(p, x, 'fwd'); // warm the pool
  line(`full forward BH=1 N=4096 d=64, ${threads} threads`, await median(() => referenceOutputs(p, x, 'fwd')), 5000);
  line('full forward BH=1 N=4096 d=64, 1 thread', await median(() => referenceOutputs(p, x, 'fwd', undefined, { threads: 1 })));
}
{
  const p = makeProblem({ bh: 1, nq: 65536, d: 128 });
  const { value: x, run } = once(() => randomInputs(p, 2));
  line('inputs: randomInputs BH=1 N=65536 d=128', run);
  const rows = sampleRows(p, 64, 2);
  line(`sampled forward, 64 query rows, N=65536 d=128, ${threads} threads`, await median(() => referenceOutputs(p, x, 'fwd', rows)), 2000);
  line('sampled forward, 64 query rows, N=65536 d=128, 1 thread', await median(() => referenceOutputs(p, x, 'fwd', rows, { threads: 1 })));
  // informational: the backward check on the same rows (64 query + 64 key rows). Sampled dK/dV take the kernel's lse
  // and O; with no kernel here, stand-in values are used: the cost does not depend on them, the results are not used.
  const given = { lse: new Float32Array(p.bh * p.nq).fill(12), o: x.dO.map((e) => 0.01 * e) };
  line(`sampled backward, 64+64 rows, N=65536 d=128, ${threads} threads`, await median(() => referenceOutputs(p, x, 'bwd', rows, { given })));
}
console.log(`load average after: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await closeReferencePool();
