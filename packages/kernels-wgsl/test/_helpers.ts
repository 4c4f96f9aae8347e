/**
 * Shared by the tests: one backend per test file (one device per worker process), and the skip rule — a missing
 * adapter skips with its reason, except under CI where the tests run and fail.
 */
import type { Backend, Pipeline, Problem, ProblemInit, Variant } from '@attn/reference';
import { checkSession, freshSeed, makeProblem } from '@attn/reference';
import { createWgslBackend } from '../src/index.js';

export const backend: Backend = createWgslBackend();
export const unavailable: string | null = await backend.availability();
/** true: skip GPU tests (no adapter, not CI) */
export const skipGpu = unavailable !== null && !process.env.CI;

export function problem(init: ProblemInit): Problem {
  return makeProblem(init);
}

/** Opens a session, checks `pipeline` on fresh seeded inputs against the float64 reference, disposes. */
export async function checkCase(p: Problem, variant: Variant, pipeline: Pipeline, seed = freshSeed()): Promise<string[]> {
  const session = await backend.open(p, variant);
  try {
    const result = await checkSession(session, { pipeline, seed });
    return result.failures;
  } finally {
    await session.dispose();
  }
}
