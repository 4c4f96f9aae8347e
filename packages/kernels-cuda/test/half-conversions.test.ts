/**
 * The host conversions a session uses to store and read half tensors (kernels/half_bits.h; the emulator's cuda_fp16.h
 * and cuda_bf16.h shims are built on them) round to nearest even exactly as @attn/reference's roundTo does, agree
 * with CUDA's own conversions (cuda_fp16.h / cuda_bf16.h host code) where the CUDA headers are here, widen exactly,
 * and widen the device's half poison to the float32 patterns poison.ts recognises.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { POISON_BF16_BITS, POISON_BF16_WIDENED_BITS, POISON_F16_BITS, POISON_F16_WIDENED_BITS, roundTo } from '@attn/reference';
import { GXX_HERE, KERNELS_DIR } from './_helpers.js';

const CUDA_INCLUDE = '/usr/local/cuda/include';
const dir = mkdtempSync(join(tmpdir(), 'attn-half-'));
const exe = (name: string) => join(dir, name);

function compile(name: string, source: string, flags: string[] = []): void {
  writeFileSync(join(dir, `${name}.cpp`), source);
  const r = spawnSync('g++', ['-std=c++17', '-O2', `-I${KERNELS_DIR}`, ...flags, '-o', exe(name), join(dir, `${name}.cpp`)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`g++ ${name}: ${r.stderr}`);
}

/** Float32 values of every kind a tensor may hold: normal, subnormal in the half formats, ties, overflow, zeros. */
function sampleValues(): Float32Array {
  const xs: number[] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 2 ** -24, 2 ** -25, 3 * 2 ** -26, 2 ** -14, 2 ** -15 * 3, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -8, 1 + 3 * 2 ** -8, 3.3895313892515355e38, 3.4e38, Infinity, -Infinity];
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let i = 0; i < 20000; i++) xs.push((rand() - 0.5) * 2 ** Math.floor(rand() * 60 - 30));
  // exact ties of each format: a half number plus half its ulp
  for (let i = 0; i < 2000; i++) {
    const e = Math.floor(rand() * 30) - 14;
    const m = 1024 + Math.floor(rand() * 1024);
    xs.push(m * 2 ** (e - 10) + 2 ** (e - 11), (128 + Math.floor(rand() * 128)) * 2 ** (e - 7) + 2 ** (e - 8));
  }
  return Float32Array.from(xs);
}

describe.skipIf(!GXX_HERE)('half conversions on the host (half_bits.h)', () => {
  beforeAll(() => {
    compile(
      'round',
      `#include <cstdio>
#include <cstdint>
#include "half_bits.h"
int main() {
  float x;
  while (std::fread(&x, 4, 1, stdin) == 1) {
    const float h = attn_half::f16_bits_to_f32(attn_half::f32_to_f16_bits(x));
    const float b = attn_half::bf16_bits_to_f32(attn_half::f32_to_bf16_bits(x));
    std::fwrite(&h, 4, 1, stdout);
    std::fwrite(&b, 4, 1, stdout);
  }
  const uint16_t p16 = ${POISON_F16_BITS}, pbf = ${POISON_BF16_BITS};
  const float w16 = attn_half::f16_bits_to_f32(p16), wbf = attn_half::bf16_bits_to_f32(pbf);
  std::fwrite(&w16, 4, 1, stdout);
  std::fwrite(&wbf, 4, 1, stdout);
}
`,
    );
  });

  it('rounds to nearest even as roundTo does (float16 and bfloat16), ties and overflow included', () => {
    const xs = sampleValues();
    const r = spawnSync(exe('round'), [], { input: Buffer.from(xs.buffer) });
    expect(r.status).toBe(0);
    const out = new Float32Array(new Uint8Array(r.stdout).buffer);
    expect(out.length).toBe(2 * xs.length + 2);
    let bad16 = 0;
    let badBf = 0;
    for (let i = 0; i < xs.length; i++) {
      if (!Object.is(out[2 * i], roundTo('float16', xs[i]!))) bad16++;
      if (!Object.is(out[2 * i + 1], roundTo('bfloat16', xs[i]!))) badBf++;
    }
    expect([bad16, badBf]).toEqual([0, 0]);
  });

  it('widens the half poison to the float32 patterns poison.ts recognises', () => {
    const r = spawnSync(exe('round'), [], { input: Buffer.alloc(0) });
    const bits = new Uint32Array(new Uint8Array(r.stdout).buffer);
    expect([bits[0], bits[1]]).toEqual([POISON_F16_WIDENED_BITS, POISON_BF16_WIDENED_BITS]);
  });

  it.skipIf(!existsSync(join(CUDA_INCLUDE, 'cuda_fp16.h')))("agrees with CUDA's conversions bit for bit (every half pattern, every 97th float32 pattern)", () => {
    compile(
      'cuda',
      `#include <cstdio>
#include <cstdint>
#include <cstring>
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include "half_bits.h"
int main() {
  long long narrow = 0, widen = 0, checked = 0;
  for (uint64_t u = 0; u <= 0xffffffffull; u += 97) {
    float x;
    const uint32_t b = (uint32_t)u;
    std::memcpy(&x, &b, 4);
    __half h = __float2half_rn(x);
    __nv_bfloat16 g = __float2bfloat16_rn(x);
    uint16_t hb, gb;
    std::memcpy(&hb, &h, 2);
    std::memcpy(&gb, &g, 2);
    narrow += hb != attn_half::f32_to_f16_bits(x);
    narrow += gb != attn_half::f32_to_bf16_bits(x);
    ++checked;
  }
  for (uint32_t u = 0; u < 65536; ++u) {  // NaNs: CUDA canonicalises them; half_bits.h keeps the payload (both NaN)
    const uint16_t b = (uint16_t)u;
    __half h;
    __nv_bfloat16 g;
    std::memcpy(&h, &b, 2);
    std::memcpy(&g, &b, 2);
    const float a = __half2float(h), c = attn_half::f16_bits_to_f32(b);
    const float d = __bfloat162float(g), e = attn_half::bf16_bits_to_f32(b);
    widen += (a != a) ? !(c != c) : std::memcmp(&a, &c, 4) != 0;
    widen += (d != d) ? !(e != e) : std::memcmp(&d, &e, 4) != 0;
  }
  std::printf("%lld %lld %lld\\n", checked, narrow, widen);
}
`,
      [`-I${CUDA_INCLUDE}`],
    );
    const r = spawnSync(exe('cuda'), [], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [checked, narrow, widen] = r.stdout.trim().split(' ').map(Number);
    expect(checked).toBeGreaterThan(44_000_000);
    expect([narrow, widen]).toEqual([0, 0]);
  }, 60_000);
});
