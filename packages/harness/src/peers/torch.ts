/**
 * torch scaled_dot_product_attention as a peer: runs sdpa_peer.py (python3 + torch + CUDA) on the sweep's shapes
 * and turns its JSON into records with backend 'torch-sdpa:<kernel>', timed by CUDA events.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Pipeline, Problem } from '@attn/reference';
import { flops, makeProblem } from '@attn/reference';
import type { TimingDefaults } from '../presets.js';
import type { BackendMeta, Ceilings, PointRecord, RecordStage } from '../results.js';

export interface PeerRun {
  records: PointRecord[];
  backends: Record<string, BackendMeta>;
  ceilings?: Ceilings;
}

interface PeerRecord {
  backend: string;
  stage: 'fwd' | 'backward';
  bh: number;
  nq: number;
  nk: number;
  d: number;
  causal: boolean;
  status: 'passed' | 'skipped';
  reason?: string;
  timing?: { medianMs: number; p10Ms: number; p90Ms: number; rme: number; samples: number };
  bytes?: number;
}

interface PeerReply {
  available: boolean;
  reason?: string;
  torch?: string;
  device?: string;
  driver?: string;
  ceilings?: Ceilings;
  records?: PeerRecord[];
}

/** The script beside this module (src/peers when run from source, dist/peers if copied), or ATTN_TORCH_PEER_SCRIPT. */
export function peerScript(): string | null {
  const candidates = [
    process.env.ATTN_TORCH_PEER_SCRIPT,
    fileURLToPath(new URL('./sdpa_peer.py', import.meta.url)),
    fileURLToPath(new URL('../../src/peers/sdpa_peer.py', import.meta.url)),
  ];
  return candidates.find((p): p is string => p !== undefined && existsSync(p)) ?? null;
}

function runPython(script: string, request: unknown, log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.env.ATTN_PYTHON ?? 'python3', [script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let pending = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      pending += c.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const l of lines) if (l.trim()) log(l);
    });
    child.on('error', (e) => reject(new Error(`cannot start python3: ${e.message}`)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`${script} exited with code ${code}${pending ? `: ${pending.trim()}` : ''}`))));
    child.stdin.end(JSON.stringify(request));
  });
}

/** Records for each peer point; on any failure to run, one metadata entry saying why and no records. */
export async function runTorchPeers(problems: readonly Problem[], pipelines: readonly Pipeline[], timing: TimingDefaults | null, log: (line: string) => void): Promise<PeerRun> {
  const unavailable = (reason: string): PeerRun => {
    log(`torch peers skipped: ${reason}`);
    return { records: [], backends: { 'torch-sdpa': { availability: reason } } };
  };
  if (!timing) return unavailable('correctness-only sweep: peers are timed only');
  const stages = [...(pipelines.includes('fwd') ? ['fwd'] : []), ...(pipelines.includes('bwd') ? ['backward'] : [])];
  if (stages.length === 0) return unavailable('torch has no lse-only stage to compare with');
  const script = peerScript();
  if (!script) return unavailable('sdpa_peer.py not found (set ATTN_TORCH_PEER_SCRIPT)');
  const shapes = [...new Map(problems.map((p) => [`${p.bh} ${p.nq} ${p.nk} ${p.d} ${p.causal}`, { bh: p.bh, nq: p.nq, nk: p.nk, d: p.d, causal: p.causal }])).values()];
  let reply: PeerReply;
  try {
    reply = JSON.parse(await runPython(script, { shapes, stages, warmup: timing.warmup, minSamples: timing.minSamples, budgetMs: timing.budgetMs, ceilings: true }, log)) as PeerReply;
  } catch (e) {
    return unavailable((e as Error).message);
  }
  if (!reply.available) return unavailable(reply.reason ?? 'unavailable');
  const backends: Record<string, BackendMeta> = {};
  const records: PointRecord[] = (reply.records ?? []).map((r) => {
    backends[r.backend] ??= {
      availability: null,
      info: { backend: r.backend, version: `torch ${reply.torch}`, device: reply.device ?? 'unknown', driver: reply.driver ?? '', dtype: 'float32', timer: 'gpu-timer' },
    };
    const problem = makeProblem({ bh: r.bh, nq: r.nq, nk: r.nk, d: r.d, causal: r.causal });
    const stage: RecordStage = r.stage;
    const t = r.timing ? { ...r.timing, source: 'gpu-timer' as const } : null;
    return {
      backend: r.backend,
      variant: 'sdpa',
      pipeline: r.stage === 'fwd' ? 'fwd' : 'bwd',
      stage,
      nq: r.nq,
      nk: r.nk,
      d: r.d,
      bh: r.bh,
      causal: r.causal,
      dtype: 'float32',
      status: r.status,
      ...(r.reason ? { reason: r.reason } : {}),
      error: null,
      timing: t,
      tflops: t ? flops(problem, stage) / (t.medianMs * 1e-3) / 1e12 : null,
      bytes: r.bytes ?? null,
      flashRule: null,
    };
  });
  return { records, backends, ...(reply.ceilings ? { ceilings: reply.ceilings } : {}) };
}
