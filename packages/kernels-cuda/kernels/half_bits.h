// half_bits.h — float32 <-> float16 / bfloat16 on the host, on bit patterns: round to nearest, ties to even (what
// __float2half_rn / __float2bfloat16_rn compute on the device and in cuda_fp16.hpp's host path, and what
// packages/reference/src/dtype.ts roundTo computes), NaN -> 0x7fff (CUDA's canonical half NaN); widening is exact and
// keeps a NaN's payload (so a poisoned half element widens to a recognisable float32 NaN: poison.cu). Plain C++: the
// binding converts a session's tensors with it, and the CPU emulator's cuda_fp16.h / cuda_bf16.h shims are built on it.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace attn_half {

inline uint32_t f32_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float f32_from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

inline uint16_t f32_to_f16_bits(float f) {
  const uint32_t x = f32_bits(f), sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax > 0x7f800000u) return 0x7fff;                           // NaN
  if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);      // >= 65520 (half-way past 65504): infinity
  if (ax < 0x38800000u) {                                        // below 2^-14: a subnormal (or 0) of unit 2^-24
    const float units = std::nearbyint(f32_from_bits(ax) * 0x1p24f);  // exact scaling, then ties to even
    return (uint16_t)(sign | (uint32_t)units);                   // 1024 units is the smallest normal's pattern
  }
  uint32_t h = ((ax >> 23) - 112u) << 10 | ((ax >> 13) & 0x3ffu);  // exponent rebiased (127 -> 15), 10 bits kept
  const uint32_t rest = ax & 0x1fffu;
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;      // a carry moves into the exponent, as it should
  return (uint16_t)(sign | h);
}

inline float f16_bits_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | mant << 13);  // inf, NaN (payload kept)
  if (exp == 0) return (sign ? -1.f : 1.f) * (float)mant * 0x1p-24f;     // subnormal or zero: exact
  return f32_from_bits(sign | (exp + 112u) << 23 | mant << 13);
}

inline uint16_t f32_to_bf16_bits(float f) {
  const uint32_t x = f32_bits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return 0x7fff;            // NaN
  return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);     // ties to even; overflow rounds into infinity
}

inline float bf16_bits_to_f32(uint16_t b) { return f32_from_bits((uint32_t)b << 16); }

}  // namespace attn_half
