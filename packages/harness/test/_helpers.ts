/**
 * Test helpers for the attn CLI: spawn the built CLI, write and read .npy inputs, and an independent float64
 * attention (plain softmax formulation over the full score matrix; shares no code with @attn/reference's rows.ts).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'vitest';
import { Rng, readNpy, writeNpy } from '@attn/reference';

const here = dirname(fileURLToPath(import.meta.url));
export const CLI = resolve(here, '../dist/cli.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node dist/cli.js ...args` (the built CLI; build first), with `env` added to this process's environment. */
export function runCli(args: string[], env: Record<string, string> = {}): CliResult {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: build the harness first (pnpm build)`);
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 110_000, env: { ...process.env, ...env } });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'attn-run-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function normalTensor(rng: Rng, shape: readonly number[], dtype: 'float32' | 'float64' = 'float32'): Float32Array | Float64Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = dtype === 'float32' ? new Float32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}

export function saveNpy(dir: string, name: string, data: Float32Array | Float64Array, shape: readonly number[]): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.npy`);
  writeFileSync(path, writeNpy(data, shape));
  return path;
}

export function loadNpy(path: string): { data: Float32Array | Float64Array; shape: number[] } {
  const { data, shape } = readNpy(readFileSync(path));
  return { data, shape: [...shape] };
}

/** A .npy file written by hand, for dtypes and headers our writer refuses to produce. */
export function rawNpy(descr: string, shape: readonly number[], data: Uint8Array, fortranOrder = false): Uint8Array {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${descr}', 'fortran_order': ${fortranOrder ? 'True' : 'False'}, 'shape': (${dims}), }`;
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, ...Buffer.from('NUMPY'), 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(data, 10 + header.length);
  return out;
}

export interface Attention {
  lse: Float64Array;
  o: Float64Array;
  dq: Float64Array;
  dk: Float64Array;
  dv: Float64Array;
}

export interface Dims {
  bh: number;
  nq: number;
  nk: number;
  d: number;
  dv: number;
  causal: boolean;
  scale: number;
}

/**
 * Per head: S = scale·QKᵀ with the bottom-right causal mask, P = softmax(S) by rows, O = PV;
 * backward by the softmax Jacobian: dP = dO Vᵀ, dS = P ∘ (dP − rowsum(P ∘ dP)), dQ = scale·dS K, dK = scale·dSᵀ Q,
 * dV = Pᵀ dO. A row that sees no key has lse = −inf and P = 0.
 */
export function attention(p: Dims, q: ArrayLike<number>, k: ArrayLike<number>, v: ArrayLike<number>, dO: ArrayLike<number>): Attention {
  const { bh, nq, nk, d, dv } = p;
  const out: Attention = {
    lse: new Float64Array(bh * nq),
    o: new Float64Array(bh * nq * dv),
    dq: new Float64Array(bh * nq * d),
    dk: new Float64Array(bh * nk * d),
    dv: new Float64Array(bh * nk * dv),
  };
  const P = new Float64Array(nq * nk);
  const dS = new Float64Array(nq * nk);
  for (let b = 0; b < bh; b++) {
    const Q = (i: number, c: number): number => q[(b * nq + i) * d + c]!;
    const K = (j: number, c: number): number => k[(b * nk + j) * d + c]!;
    const V = (j: number, c: number): number => v[(b * nk + j) * dv + c]!;
    const G = (i: number, c: number): number => dO[(b * nq + i) * dv + c]!;
    for (let i = 0; i < nq; i++) {
      const seen = (j: number): boolean => !p.causal || j <= i + nk - nq;
      let max = -Infinity;
      for (let j = 0; j < nk; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += Q(i, c) * K(j, c);
        P[i * nk + j] = p.scale * s;
        if (seen(j) && P[i * nk + j]! > max) max = P[i * nk + j]!;
      }
      let sum = 0;
      for (let j = 0; j < nk; j++) {
        P[i * nk + j] = seen(j) ? Math.exp(P[i * nk + j]! - max) : 0;
        sum += P[i * nk + j]!;
      }
      for (let j = 0; j < nk; j++) P[i * nk + j] = sum > 0 ? P[i * nk + j]! / sum : 0;
      out.lse[b * nq + i] = sum > 0 ? max + Math.log(sum) : -Infinity;
      for (let c = 0; c < dv; c++) {
        let o = 0;
        for (let j = 0; j < nk; j++) o += P[i * nk + j]! * V(j, c);
        out.o[(b * nq + i) * dv + c] = o;
      }
      let rowDot = 0;
      for (let j = 0; j < nk; j++) {
        let dp = 0;
        for (let c = 0; c < dv; c++) dp += G(i, c) * V(j, c);
        dS[i * nk + j] = dp;
        rowDot += P[i * nk + j]! * dp;
      }
      for (let j = 0; j < nk; j++) dS[i * nk + j] = P[i * nk + j]! * (dS[i * nk + j]! - rowDot);
    }
    for (let i = 0; i < nq; i++) {
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = 0; j < nk; j++) s += dS[i * nk + j]! * K(j, c);
        out.dq[(b * nq + i) * d + c] = p.scale * s;
      }
    }
    for (let j = 0; j < nk; j++) {
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let i = 0; i < nq; i++) s += dS[i * nk + j]! * Q(i, c);
        out.dk[(b * nk + j) * d + c] = p.scale * s;
      }
      for (let c = 0; c < dv; c++) {
        let s = 0;
        for (let i = 0; i < nq; i++) s += P[i * nk + j]! * G(i, c);
        out.dv[(b * nk + j) * dv + c] = s;
      }
    }
  }
  return out;
}

/**
 * ‖a − ref‖ / ‖ref‖ over the elements where ref is finite. Where ref is ±inf (lse of a fully masked row) `a` must hold
 * the same infinity, else the result is Infinity; a NaN anywhere in `a` also gives Infinity.
 */
export function relL2(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  if (a.length !== ref.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    const x = a[i]!;
    const r = ref[i]!;
    if (Number.isNaN(x)) return Infinity;
    if (!Number.isFinite(r)) {
      if (x !== r) return Infinity;
      continue;
    }
    num += (x - r) ** 2;
    den += r * r;
  }
  return den > 0 ? Math.sqrt(num / den) : Math.sqrt(num);
}

export interface InputShapes {
  q: number[];
  k: number[];
  v: number[];
  dO?: number[];
}

/** Random float32 inputs of the given shapes saved in a fresh dir; returns the `--q … --k … --v … [--do …] --out …` flags. */
export function inputFlags(shapes: InputShapes, seed = 1): string[] {
  const rng = new Rng(seed);
  const dir = tempDir();
  const flags = ['--out', join(dir, 'out')];
  for (const name of ['q', 'k', 'v', 'dO'] as const) {
    const shape = shapes[name];
    if (!shape) continue;
    flags.push(name === 'dO' ? '--do' : `--${name}`, saveNpy(dir, name, normalTensor(rng, shape), shape));
  }
  return flags;
}

/** The 'attn:' lines of stderr (Dawn may print its own warnings there too). */
export function attnLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => line.startsWith('attn:'));
}

/** Skips the test, with the reason, when the CLI said the wgsl backend is not available here. */
export function skipUnlessWgsl(ctx: TestContext, r: CliResult): void {
  const unavailable = /^attn: backend 'wgsl' (is not available|could not be loaded): (.*)$/m.exec(r.stderr);
  if (unavailable) ctx.skip(unavailable[2]);
}

/** The CLI's one-line error for bad input: exit 2, one stderr line starting "attn: ". Returns that line. */
export function usageFailure(args: string[]): string {
  const r = runCli(args);
  const lines = r.stderr.trimEnd().split('\n');
  if (r.code !== 2 || lines.length !== 1 || !lines[0]!.startsWith('attn: ')) {
    throw new Error(`expected exit 2 and one 'attn: …' line, got exit ${r.code} and stderr:\n${r.stderr}`);
  }
  return lines[0]!;
}

/** The pure-Python stand-in for torch_server.py (test/fake_torch_server.py). */
export const FAKE_TORCH_SERVER = resolve(here, 'fake_torch_server.py');

/**
 * A torch backend speaking to the fake server, which it accepts only because allowFake is set. `modes` go to the
 * fake as FAKE_TORCH (see its docstring); `log` collects the server's stderr lines.
 */
export async function fakeTorchBackend(modes: string[] = [], log: string[] = []) {
  const { createTorchBackend } = await import('../src/peers/torch-backend.js');
  return createTorchBackend({ script: FAKE_TORCH_SERVER, allowFake: true, env: { FAKE_TORCH: modes.join(',') }, log: (l) => log.push(l) });
}
