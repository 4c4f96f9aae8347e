/**
 * A problem outside a backend's limits is refused before anything is allocated, with one line naming the limit;
 * the backend's own check() reason is passed through as is. (A minimal Backend stands in for a GPU backend here:
 * the reference has no d limit.)
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Limits, Variant } from '@attn/reference';
import { BackendError, makeProblem } from '@attn/reference';
import { refuseUnfit } from '../src/commands/run.js';

function limitedBackend(limits: Limits, refusal: string | null = null): Backend {
  const unused = (): never => {
    throw new Error('not used by refuseUnfit');
  };
  return {
    name: 'gpu',
    variants: ['tiled'],
    availability: async () => null,
    info: unused,
    limits: (_variant: Variant) => limits,
    check: () => refusal,
    open: unused,
    close: async () => undefined,
  };
}

const tiled = limitedBackend({ maxD: 128, causal: true, maxBufferBytes: 2 ** 30 });

describe('refuseUnfit', () => {
  it('refuses d over the limit', () => {
    expect(() => refuseUnfit(tiled, 'tiled', makeProblem({ bh: 1, nq: 17, d: 129 }))).toThrow(
      new BackendError('d=129 is over the gpu tiled limit (d <= 128)'),
    );
  });
  it('refuses dv over the limit', () => {
    expect(() => refuseUnfit(tiled, 'tiled', makeProblem({ bh: 1, nq: 17, d: 64, dv: 200 }))).toThrow(
      new BackendError('dv=200 is over the gpu tiled limit (dv <= 128)'),
    );
  });
  it('refuses causal where the variant has no mask', () => {
    const noMask = limitedBackend({ maxD: 128, causal: false, maxBufferBytes: 2 ** 30 });
    expect(() => refuseUnfit(noMask, 'tiled', makeProblem({ bh: 1, nq: 17, d: 64, causal: true }))).toThrow(
      new BackendError('gpu tiled has no causal mask'),
    );
  });
  it("passes the backend's own refusal through", () => {
    const full = limitedBackend({ maxD: 128, causal: true, maxBufferBytes: 2 ** 30 }, 'naive scores need 80.0 GB; the device has 79.1 GB');
    expect(() => refuseUnfit(full, 'tiled', makeProblem({ bh: 16, nq: 65536, d: 64 }))).toThrow(
      new BackendError('naive scores need 80.0 GB; the device has 79.1 GB'),
    );
  });
  it('accepts a problem within the limits', () => {
    expect(() => refuseUnfit(tiled, 'tiled', makeProblem({ bh: 1, nq: 17, d: 128 }))).not.toThrow();
  });
});
