/**
 * Worker-thread entry of the reference pool (parallel.ts): runs ranges of jobs it is sent. Stateless: every message
 * carries its job; the job's typed arrays live on SharedArrayBuffers, so posting them shares instead of copying.
 * Not exported from index.ts: importing it outside a worker thread throws.
 */
import { parentPort } from 'node:worker_threads';
import type { Job } from './jobs.js';
import { runJobRange } from './jobs.js';

export interface WorkerRequest {
  job: Job;
  start: number;
  end: number;
}
export interface WorkerReply {
  error?: string;
}

const port = parentPort;
if (!port) throw new Error('reference-worker.js must be started as a worker thread (see parallel.ts)');
port.on('message', (request: WorkerRequest) => {
  let reply: WorkerReply = {};
  try {
    runJobRange(request.job, request.start, request.end);
  } catch (e) {
    reply = { error: e instanceof Error ? e.message : String(e) };
  }
  port.postMessage(reply);
});
