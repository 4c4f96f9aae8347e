/** The torch peer's python process: started on first use, one for many sessions, ended by close; its failures are one line. */
import { makeProblem, randomInputs } from '@attn/reference';
import { expect, test } from 'vitest';
import { fakeTorchBackend } from './_helpers.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function waitUntil(check: () => boolean, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return check();
}

test('no process before first use; one process serves every session; close ends it', async () => {
  const backend = await fakeTorchBackend();
  expect(backend.process).toBeNull();
  expect(backend.check(makeProblem({ bh: 1, nq: 3, d: 4 }), 'efficient')).toBeNull();
  expect(backend.process).toBeNull();
  expect(await backend.availability()).toBeNull();
  const pid = backend.process!.pid!;
  expect(alive(pid)).toBe(true);
  const a = await backend.open(makeProblem({ bh: 1, nq: 3, d: 4 }), 'efficient');
  const b = await backend.open(makeProblem({ bh: 2, nq: 5, nk: 7, d: 8, causal: true }), 'math');
  expect(backend.process!.pid).toBe(pid);
  await a.dispose();
  await b.dispose();
  const dir = backend.process!.dir;
  await backend.close();
  expect(await waitUntil(() => !alive(pid))).toBe(true);
  const { existsSync } = await import('node:fs');
  expect(existsSync(dir)).toBe(false);
  await expect(backend.open(makeProblem({ bh: 1, nq: 3, d: 4 }), 'efficient')).rejects.toThrow('torch is not available: torch backend closed');
});

test('a server that dies mid-run fails that call, and every later one, with one line naming the SDPA backend', async () => {
  const log: string[] = [];
  const backend = await fakeTorchBackend(['crash-on-run'], log);
  const problem = makeProblem({ bh: 1, nq: 3, d: 4 });
  const session = await backend.open(problem, 'math');
  const inputs = randomInputs(problem, 1);
  await session.write({ q: inputs.q, k: inputs.k, v: inputs.v, dO: inputs.dO });
  const failure = await session.run(['lse', 'forward']).then(() => null, (e: Error) => e);
  expect(failure?.name).toBe('BackendError');
  expect(failure?.message).toMatch(/^torch math \(bh=1 nq=3 nk=3 d=4 [^)]*\): run: torch server exited \(code 3\): fake: crashing as asked$/);
  expect(log).toContain('fake: crashing as asked');
  await expect(session.read(['o'])).rejects.toThrow(/^torch math .*: read: torch server exited \(code 3\)/);
  await expect(backend.open(problem, 'efficient')).rejects.toThrow('torch server is no longer running');
  await backend.close();
});

test('a failure the server reports over several lines reaches the caller as its first line', async () => {
  const backend = await fakeTorchBackend(['multiline-error']);
  const problem = makeProblem({ bh: 1, nq: 2, d: 4 });
  const session = await backend.open(problem, 'efficient');
  const inputs = randomInputs(problem, 2);
  await session.write({ q: inputs.q, k: inputs.k, v: inputs.v, dO: inputs.dO });
  await session.run(['lse', 'forward']);
  const e = await session.time(['lse', 'forward'], { warmup: 0, samples: 1 }).then(() => null, (x: Error) => x);
  expect(e?.message).toMatch(/^torch efficient \(bh=1 nq=2 [^)]*\): time: RuntimeError: first line of the failure$/);
  await backend.close();
});
