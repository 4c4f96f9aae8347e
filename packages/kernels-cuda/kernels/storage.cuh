// storage.cuh — the storage types of the dtypes (dtype.h) and the two conversions every kernel uses: a stored element
// to float (exact: every float16 and bfloat16 number is a float32 number) and a float to storage, rounded to nearest,
// ties to even (__float2half_rn, __float2bfloat16_rn; what packages/reference/src/dtype.ts roundTo computes). Kernels
// templated on the storage type T read with load_f, compute in float32, and round once when they store an output.
#pragma once
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <type_traits>
#include "attention.h"

namespace attn {

// float, __half, __nv_bfloat16: one of the three storage types.
template <class T>
inline constexpr bool is_storage_v =
    std::is_same_v<T, float> || std::is_same_v<T, __half> || std::is_same_v<T, __nv_bfloat16>;

template <class T>
__host__ __device__ __forceinline__ float to_float(T x) {
  static_assert(is_storage_v<T>, "storage type: float, __half or __nv_bfloat16");
  if constexpr (std::is_same_v<T, float>) return x;
  else if constexpr (std::is_same_v<T, __half>) return __half2float(x);
  else return __bfloat162float(x);
}

// x rounded to T, to nearest, ties to even.
template <class T>
__host__ __device__ __forceinline__ T from_float(float x) {
  static_assert(is_storage_v<T>, "storage type: float, __half or __nv_bfloat16");
  if constexpr (std::is_same_v<T, float>) return x;
  else if constexpr (std::is_same_v<T, __half>) return __float2half_rn(x);
  else return __float2bfloat16_rn(x);
}

template <class T>
__device__ __forceinline__ float load_f(const T *p) { return to_float<T>(*p); }

template <class T>
__device__ __forceinline__ void store_f(T *p, float x) { *p = from_float<T>(x); }

// The dtype of a storage type.
template <class T>
inline constexpr AttnDtype dtype_of_v = std::is_same_v<T, __half>          ? AttnDtype::kFloat16
                                        : std::is_same_v<T, __nv_bfloat16> ? AttnDtype::kBFloat16
                                                                           : AttnDtype::kFloat32;

// Tag of a storage type: with_dtype calls f(StorageTag<T>{}); `using T = typename decltype(tag)::type;` inside.
template <class T>
struct StorageTag {
  using type = T;
};

// f(StorageTag<T>{}) for the storage type T of `dtype` (like with_bucket in tiled/dispatch.cuh).
template <class F>
inline auto with_dtype(AttnDtype dtype, F &&f) {
  switch (dtype) {
    case AttnDtype::kFloat16: return f(StorageTag<__half>{});
    case AttnDtype::kBFloat16: return f(StorageTag<__nv_bfloat16>{});
    default: return f(StorageTag<float>{});
  }
}

}  // namespace attn
