// CPU emulation shim of cuda_bf16.h (tiled/emu only): the __nv_bfloat16 storage type and the conversions the kernels
// use (kernels/storage.cuh), bit-exact with the device (kernels/half_bits.h: round to nearest even, NaN -> 0x7fff).
#pragma once
#include <cstdint>
#include "half_bits.h"

struct __nv_bfloat16 {
  unsigned short __x;
};
inline __nv_bfloat16 __float2bfloat16_rn(float f) { return __nv_bfloat16{attn_half::f32_to_bf16_bits(f)}; }
inline float __bfloat162float(__nv_bfloat16 h) { return attn_half::bf16_bits_to_f32(h.__x); }
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.__x; }
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short x) { return __nv_bfloat16{x}; }
