#!/usr/bin/env node
// Builds build/Release/attn_cuda.node with nvcc: every kernels/**/*.cu and src/binding/*.cpp, compiled in parallel
// and incrementally (an object is rebuilt when older than its source, any header, or this script), linked with the
// CUDA runtime static so the addon loads on machines without a GPU or driver. No network: Node's own headers.
//
// Env: NVCC (path to nvcc; when set, the only one tried), ATTN_BUILD_JOBS (parallel compiles, default: CPU count),
// ATTN_CUDA_BUILD_DIR (output folder, default <package>/build).
// Without nvcc it prints "nvcc not found: CUDA backend not built", leaves a marker the backend reads, and exits 0.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const scriptPath = fileURLToPath(import.meta.url);
const pkg = resolve(dirname(scriptPath), '..');
const buildDir = resolve(process.env.ATTN_CUDA_BUILD_DIR ?? join(pkg, 'build'));
const objDir = join(buildDir, 'obj');
const output = join(buildDir, 'Release', 'attn_cuda.node');
/** Read by src/addon.ts to say why there is no addon. */
const notBuiltMarker = join(buildDir, 'NOT_BUILT');

/** Targets: sm_90 machine code for the H100, compute_90 PTX that newer cards JIT-compile. */
const GENCODE = ['-gencode', 'arch=compute_90,code=sm_90', '-gencode', 'arch=compute_90,code=compute_90'];
/** Extra nvcc flags for the .cu files, e.g. ['-gencode', 'arch=compute_90a,code=sm_90a'] for wgmma/TMA kernels. */
const EXTRA_CU_FLAGS = [];

function findNvcc() {
  if (process.env.NVCC) return existsSync(process.env.NVCC) ? process.env.NVCC : null;
  for (const dir of (process.env.PATH ?? '').split(':').filter(Boolean)) {
    if (existsSync(join(dir, 'nvcc'))) return join(dir, 'nvcc');
  }
  return existsSync('/usr/local/cuda/bin/nvcc') ? '/usr/local/cuda/bin/nvcc' : null;
}

function findNodeHeaders() {
  const candidates = [resolve(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'];
  const found = candidates.find((dir) => existsSync(join(dir, 'node_api.h')));
  if (!found) throw new Error(`Node headers (node_api.h) not found in ${candidates.join(' or ')}`);
  return found;
}

function walk(dir, keep) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: false })
    .map((f) => join(dir, String(f)))
    .filter((f) => keep(f) && statSync(f).isFile())
    .sort();
}

const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : -1);

function run(cmd, args) {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => done({ code: code ?? 1, out }));
    child.on('error', (e) => done({ code: 1, out: String(e) }));
  });
}

async function pool(jobs, width) {
  const results = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

async function main() {
  const nvcc = findNvcc();
  if (!nvcc) {
    console.log('nvcc not found: CUDA backend not built');
    mkdirSync(buildDir, { recursive: true });
    writeFileSync(notBuiltMarker, 'nvcc not found\n');
    return 0;
  }
  rmSync(notBuiltMarker, { force: true });
  mkdirSync(objDir, { recursive: true });
  mkdirSync(dirname(output), { recursive: true });

  const require = createRequire(import.meta.url);
  const napiInclude = require('node-addon-api').include_dir;
  const nodeInclude = findNodeHeaders();
  const kernelsDir = join(pkg, 'kernels');
  const bindingDir = join(pkg, 'src', 'binding');
  const cuFiles = walk(kernelsDir, (f) => f.endsWith('.cu'));
  const cppFiles = walk(bindingDir, (f) => f.endsWith('.cpp'));
  const headers = [...walk(kernelsDir, (f) => /\.(h|cuh|hpp)$/.test(f)), ...walk(bindingDir, (f) => /\.(h|hpp)$/.test(f))];
  // Any header or this script changing rebuilds everything: coarse, but never stale.
  const depsTime = Math.max(mtime(scriptPath), ...headers.map(mtime));

  const common = ['-O3', '-std=c++17', '-Xcompiler', '-fPIC', '-Xcompiler', '-fvisibility=hidden', `-I${kernelsDir}`];
  const units = [
    ...cuFiles.map((src) => ({ src, flags: [...GENCODE, ...EXTRA_CU_FLAGS, '-Xptxas', '-v', '-lineinfo'] })),
    ...cppFiles.map((src) => ({
      src,
      flags: [
        `-I${nodeInclude}`,
        `-I${napiInclude}`,
        '-DNAPI_VERSION=8',
        '-DNODE_ADDON_API_DISABLE_DEPRECATED',
        '-DNAPI_CPP_EXCEPTIONS',
        '-DNODE_ADDON_API_CPP_EXCEPTIONS_ALL', // std::exception from a callback becomes a JS Error too
        '-Xcompiler',
        '-fexceptions',
      ],
    })),
  ].map((u) => {
    const name = relative(pkg, u.src).replace(/[/\\]/g, '_');
    return { ...u, name, obj: join(objDir, `${name}.o`), log: join(objDir, `${name}.log`) };
  });

  const stale = units.filter((u) => mtime(u.obj) < Math.max(mtime(u.src), depsTime));
  const width = Number(process.env.ATTN_BUILD_JOBS) || availableParallelism();
  console.log(`nvcc: ${nvcc}; compiling ${stale.length} of ${units.length} files, ${width} at a time`);
  const results = await pool(
    stale.map((u) => async () => {
      const started = Date.now();
      const r = await run(nvcc, [...common, ...u.flags, '-c', u.src, '-o', u.obj]);
      writeFileSync(u.log, r.out);
      console.log(`  ${r.code === 0 ? 'ok  ' : 'FAIL'} ${relative(pkg, u.src)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      if (r.code !== 0) rmSync(u.obj, { force: true });
      return { u, ...r };
    }),
    width,
  );
  const failed = results.filter((r) => r.code !== 0);
  for (const f of failed) console.error(`\n${relative(pkg, f.u.src)}:\n${f.out}`);
  if (failed.length > 0) throw new Error(`${failed.length} file(s) failed to compile`);

  // ptxas -v of every .cu, kept per object so incremental builds still list all kernels.
  const usage = units
    .filter((u) => u.src.endsWith('.cu'))
    .map((u) => `== ${relative(pkg, u.src)}\n${existsSync(u.log) ? readFileSync(u.log, 'utf8').trim() : '(no log)'}\n`);
  writeFileSync(join(buildDir, 'resource-usage.txt'), usage.join('\n'));

  const objs = units.map((u) => u.obj);
  if (mtime(output) < Math.max(...objs.map(mtime))) {
    const r = spawnSync(nvcc, ['-shared', '-cudart', 'static', ...GENCODE, '-o', output, ...objs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`link failed:\n${r.stdout}${r.stderr}`);
    console.log(`linked ${relative(pkg, output)}`);
  } else {
    console.log(`${relative(pkg, output)} is up to date`);
  }
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e) => {
    console.error(`build-addon: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  },
);
