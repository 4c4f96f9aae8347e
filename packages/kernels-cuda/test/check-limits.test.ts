/** check's refusals from numbers alone: a missing variant, d over the tiled limit, memory a device cannot hold. */
import { expect, it } from 'vitest';
import type { Problem, Variant } from '@attn/reference';
import { makeProblem } from '@attn/reference';
import type { CudaCapabilities } from '../src/check.js';
import { checkProblem, tensorBytes } from '../src/check.js';

const H100: CudaCapabilities = {
  variants: ['naive', 'tiled'],
  maxD: { naive: Number.MAX_SAFE_INTEGER, tiled: 256 },
  totalMemoryBytes: 80 * 2 ** 30,
  scratchBytes: (p: Problem, v: Variant) => (v === 'naive' ? 4 * p.bh * p.nq * p.nk : 0),
};

it('accepts the shapes the sweep uses', () => {
  expect(checkProblem(makeProblem({ bh: 16, nq: 16384, d: 128 }), 'naive', H100)).toBeNull();
  expect(checkProblem(makeProblem({ bh: 16, nq: 16384, d: 256, causal: true }), 'tiled', H100)).toBeNull();
  expect(checkProblem(makeProblem({ bh: 1, nq: 1, nk: 129, d: 1000 }), 'naive', H100)).toBeNull();
});

it('refuses d or dv over the tiled limit, naming both', () => {
  expect(checkProblem(makeProblem({ bh: 1, nq: 17, d: 257 }), 'tiled', H100)).toBe('cuda tiled takes d, dv <= 256, got d=257 dv=257');
  expect(checkProblem(makeProblem({ bh: 1, nq: 17, d: 64, dv: 300 }), 'tiled', H100)).toBe('cuda tiled takes d, dv <= 256, got d=64 dv=300');
});

it('refuses naive scores larger than the device, with the bytes asked for', () => {
  const p = makeProblem({ bh: 16, nq: 65536, d: 64 });
  const why = checkProblem(p, 'naive', H100);
  expect(why).toBe(`naive scores need 256.00 GiB (+${(tensorBytes(p) / 2 ** 30).toFixed(2)} GiB tensors), device has 80.00 GiB in all`);
  expect(checkProblem(p, 'tiled', H100)).toBeNull();
});

it('refuses a variant this build lacks, and skips the memory check without a device', () => {
  const noTiled: CudaCapabilities = { ...H100, variants: ['naive'], totalMemoryBytes: null };
  expect(checkProblem(makeProblem({ bh: 1, nq: 17, d: 16 }), 'tiled', noTiled)).toBe("cuda has no 'tiled' variant in this build (variants: naive)");
  expect(checkProblem(makeProblem({ bh: 16, nq: 65536, d: 64 }), 'naive', noTiled)).toBeNull();
});

it('counts every tensor once, float32 (lse twice: its high and low parts)', () => {
  const p = makeProblem({ bh: 2, nq: 3, nk: 5, d: 7, dv: 11 });
  // q, dq: 2*3*7 each; k, dk: 2*5*7; v, dv: 2*5*11; dO, o: 2*3*11; lse (hi, lo), delta: 2*3
  expect(tensorBytes(p)).toBe(4 * (2 * 42 + 2 * 70 + 2 * 110 + 2 * 66 + 3 * 6));
});

it('counts half-precision tensors at 2 bytes an element, lse (both parts) and delta at 4, and refuses by those bytes', () => {
  for (const dtype of ['float16', 'bfloat16'] as const) {
    const p = makeProblem({ bh: 2, nq: 3, nk: 5, d: 7, dv: 11, dtype });
    expect(tensorBytes(p)).toBe(2 * (2 * 42 + 2 * 70 + 2 * 110 + 2 * 66) + 4 * 3 * 6);
  }
  // 16 x 65536 x 65536 naive scores stay float32 (256 GiB), the tensors halve
  const f32 = makeProblem({ bh: 16, nq: 65536, d: 64 });
  const f16 = makeProblem({ bh: 16, nq: 65536, d: 64, dtype: 'float16' });
  expect(checkProblem(f16, 'naive', H100)).toBe(`naive scores need 256.00 GiB (+${(tensorBytes(f16) / 2 ** 30).toFixed(2)} GiB tensors), device has 80.00 GiB in all`);
  expect(tensorBytes(f16)).toBeLessThan(0.51 * tensorBytes(f32));
  // a tiled problem that fits in float16 but not in float32
  const big = { bh: 32, nq: 2 ** 20, d: 128 };
  expect(checkProblem(makeProblem({ ...big, dtype: 'float16' }), 'tiled', H100)).toBeNull();
  expect(checkProblem(makeProblem(big), 'tiled', H100)).toMatch(/^tensors need [\d.]+ GiB, device has 80.00 GiB in all$/);
});
