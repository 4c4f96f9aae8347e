// CPU emulation shim of cuda_fp16.h (tiled/emu only): the __half storage type and the conversions the kernels use
// (kernels/storage.cuh), bit-exact with the device (kernels/half_bits.h: round to nearest even, NaN -> 0x7fff).
#pragma once
#include <cstdint>
#include "half_bits.h"

struct __half {
  unsigned short __x;
};
inline __half __float2half_rn(float f) { return __half{attn_half::f32_to_f16_bits(f)}; }
inline float __half2float(__half h) { return attn_half::f16_bits_to_f32(h.__x); }
inline unsigned short __half_as_ushort(__half h) { return h.__x; }
inline __half __ushort_as_half(unsigned short x) { return __half{x}; }
