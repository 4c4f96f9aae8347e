/**
 * Runs reference jobs on all cores: node:worker_threads, one worker per core, rows handed out in small chunks
 * (causal rows differ in cost, so chunks are taken from a shared counter rather than split evenly). Inputs and
 * outputs travel on SharedArrayBuffers, so each is passed once and never copied per worker. Small jobs stay in this
 * thread. A row's result comes from the same rows.ts code whichever thread computes it, so results are bit-identical.
 *
 * Where the worker script lives. A worker must be a JavaScript file, but vitest runs this module from src/*.ts and the
 * harness may be bundled into one .mjs, so the script is found, in order:
 *   1. setReferenceWorkerScript(url) — a bundle emits dist/reference-worker.js as a second esbuild entry and says where;
 *   2. the ATTN_REFERENCE_WORKER environment variable (a path);
 *   3. next to this module: ./reference-worker.js or ./reference-worker.mjs (the built package, or a bundle that put
 *      it beside itself); from src/*.ts (vitest): ../dist/reference-worker.js, so tests need the package built.
 * When none exists, jobs run in this thread (same results, slower) and one line on stderr says so.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describeProblem } from './describe.js';
import type { Job } from './jobs.js';
import { ROW_BLOCK, jobPositions, jobWork, runJobRange } from './jobs.js';
import type { WorkerReply, WorkerRequest } from './reference-worker.js';

export interface ParallelOptions {
  /** threads to use; 1 computes in this thread. Default: os.availableParallelism() */
  threads?: number;
  /** jobs below this many multiply-adds stay in this thread. Default: 2²² */
  minWork?: number;
}

const DEFAULT_MIN_WORK = 1 << 22;
/** chunks per thread: enough to balance causal rows, few enough that messages cost nothing */
const CHUNKS_PER_THREAD = 16;

let scriptOverride: URL | null = null;
let warnedMissing = false;

/** Tell the pool where the built reference-worker.js is (for bundles). Restarts the pool. */
export function setReferenceWorkerScript(script: string | URL): void {
  scriptOverride = typeof script === 'string' ? pathToFileURL(script) : script;
  void closeReferencePool();
}

/** The worker script the pool would start, or null when none is found (jobs then run in this thread). */
export function referenceWorkerScript(): URL | null {
  const candidates: URL[] = [];
  if (scriptOverride) candidates.push(scriptOverride);
  const fromEnv = process.env['ATTN_REFERENCE_WORKER'];
  if (fromEnv) candidates.push(pathToFileURL(fromEnv));
  const here = import.meta.url;
  if (here.endsWith('.ts')) candidates.push(new URL('../dist/reference-worker.js', here));
  else candidates.push(new URL('./reference-worker.js', here), new URL('./reference-worker.mjs', here));
  return candidates.find((url) => url.protocol === 'file:' && existsSync(fileURLToPath(url))) ?? null;
}

export function defaultThreads(): number {
  return availableParallelism();
}

class PoolWorker {
  readonly worker: Worker;
  dead = false;
  private pending: { resolve: () => void; reject: (e: Error) => void } | null = null;

  constructor(script: URL) {
    this.worker = new Worker(script);
    this.worker.unref();
    this.worker.on('message', (reply: WorkerReply) => {
      const pending = this.pending;
      this.pending = null;
      if (reply.error !== undefined) pending?.reject(new Error(reply.error));
      else pending?.resolve();
    });
    this.worker.on('error', (e: Error) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`reference worker exited with code ${code}`)));
  }

  private fail(e: Error): void {
    this.dead = true;
    const pending = this.pending;
    this.pending = null;
    pending?.reject(e);
  }

  run(request: WorkerRequest): Promise<void> {
    if (this.dead) return Promise.reject(new Error('reference worker is gone'));
    if (this.pending) return Promise.reject(new Error('reference worker is busy (a job overlapped another)'));
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(request);
    });
  }
}

let pool: PoolWorker[] = [];
let poolScript: string | null = null;

function workers(count: number, script: URL): PoolWorker[] {
  if (poolScript !== script.href) {
    void closeReferencePool();
    poolScript = script.href;
  }
  pool = pool.filter((w) => !w.dead);
  while (pool.length < count) pool.push(new PoolWorker(script));
  return pool.slice(0, count);
}

/** Stop the workers (they are unref'd when idle, so a process may also just exit). */
export async function closeReferencePool(): Promise<void> {
  const all = pool;
  pool = [];
  poolScript = null;
  await Promise.all(all.map((w) => w.worker.terminate()));
}

function isShared(a: Float64Array | Int32Array): boolean {
  return a.buffer instanceof SharedArrayBuffer;
}

/** A Float64Array on a SharedArrayBuffer, zero-filled. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(8 * length));
}

/** The values of `a` as float64 on a SharedArrayBuffer (a itself when it already is one). */
export function toSharedFloat64(a: ArrayLike<number>): Float64Array {
  if (a instanceof Float64Array && isShared(a)) return a;
  const out = sharedFloat64(a.length);
  out.set(a);
  return out;
}

const OUTPUT_FIELDS: Readonly<Record<Job['kind'], readonly string[]>> = {
  lse: ['lse'],
  forward: ['o'],
  lseForward: ['lse', 'o'],
  dq: ['dq'],
  dkdv: ['dk', 'dv'],
  textbookForward: ['lse', 'm', 'l', 'o', 'lseTerms', 'oTerms'],
  textbookDq: ['dq', 'dqTerms'],
  textbookDkdv: ['dk', 'dv', 'dkTerms', 'dvTerms'],
};

/** A copy of the job whose typed arrays are all shared, and a function copying shared outputs back into the job's. */
function shareJob(job: Job): { shared: Job; copyBack: () => void } {
  const fields = job as unknown as Record<string, unknown>;
  const shared: Record<string, unknown> = { ...fields };
  const copies: [Float64Array, Float64Array][] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value instanceof Float64Array && !isShared(value)) {
      const s = toSharedFloat64(value);
      shared[name] = s;
      if (OUTPUT_FIELDS[job.kind].includes(name)) copies.push([value, s]);
    } else if (value instanceof Int32Array && !isShared(value)) {
      const s = new Int32Array(new SharedArrayBuffer(4 * value.length));
      s.set(value);
      shared[name] = s;
    }
  }
  return { shared: shared as unknown as Job, copyBack: () => copies.forEach(([own, s]) => own.set(s)) };
}

/** Compute a whole job, on worker threads when it is big enough and a worker script is found. */
export async function runJob(job: Job, options: ParallelOptions = {}): Promise<void> {
  const positions = jobPositions(job);
  const threads = Math.min(options.threads ?? defaultThreads(), positions);
  if (threads <= 1 || jobWork(job) < (options.minWork ?? DEFAULT_MIN_WORK)) {
    runJobRange(job, 0, positions);
    return;
  }
  const script = referenceWorkerScript();
  if (!script) {
    if (!warnedMissing) {
      warnedMissing = true;
      console.error('reference: worker script not found (build @attn/reference or call setReferenceWorkerScript); computing in one thread');
    }
    runJobRange(job, 0, positions);
    return;
  }
  return exclusive(() => runOnWorkers(job, positions, threads, script));
}

let queue: Promise<void> = Promise.resolve();
/** Jobs take the pool one at a time (a worker holds one request), in the order they were asked for. */
function exclusive(task: () => Promise<void>): Promise<void> {
  const run = queue.then(task, task);
  queue = run.catch(() => undefined);
  return run;
}

async function runOnWorkers(job: Job, positions: number, threads: number, script: URL): Promise<void> {
  const { shared, copyBack } = shareJob(job);
  const chunk = Math.max(ROW_BLOCK, Math.ceil(positions / (threads * CHUNKS_PER_THREAD)));
  let next = 0;
  let failure: unknown = null;
  // after a failure the other workers stop taking chunks; every drive settles before runJob returns, so no worker is
  // still busy with this job when the next one is posted
  const drive = async (w: PoolWorker): Promise<void> => {
    while (failure === null && next < positions) {
      const start = next;
      next = Math.min(positions, start + chunk);
      try {
        await w.run({ job: shared, start, end: next });
      } catch (e) {
        failure ??= e;
      }
    }
  };
  const team = workers(threads, script);
  team.forEach((w) => w.worker.ref());
  try {
    await Promise.all(team.map(drive));
  } finally {
    team.forEach((w) => w.worker.unref());
  }
  if (failure !== null) {
    const why = failure instanceof Error ? failure.message : String(failure);
    throw new Error(`reference ${job.kind} on ${describeProblem(job.problem)}: ${why}`);
  }
  copyBack();
}
