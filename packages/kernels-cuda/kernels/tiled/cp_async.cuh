// tiled/cp_async.cuh — asynchronous global → shared copies (sm_80+ cp.async) with zero fill, for double-buffered
// tiles. A copy of `bytes` < size source bytes fills the rest of the destination with zeros (bytes = 0 reads
// nothing), so tails past nrows / gcols need no separate stores. Issue, commit, then wait before reading; the
// wait covers only this thread's copies, so a __syncthreads must follow before other threads read the tile.
// Outside nvcc's device pass the CPU emulation (tiled/emu) defines them: copies are deferred until the wait, so a
// missing wait or barrier reads poison there.
#pragma once
#include <cstdint>

namespace attn_tiled {

#if defined(__CUDA_ARCH__)
__device__ __forceinline__ void cp_async16(void *dst, const void *src, int bytes) {
  const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(d), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_async4(void *dst, const void *src, int bytes) {
  const unsigned d = (unsigned)__cvta_generic_to_shared(dst);
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(d), "l"(src), "r"(bytes) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::: "memory"); }
__device__ __forceinline__ void cp_async_wait_all() { asm volatile("cp.async.wait_group 0;\n" ::: "memory"); }
#elif defined(ATTN_TILED_EMU)
void cp_async16(void *dst, const void *src, int bytes);
void cp_async4(void *dst, const void *src, int bytes);
void cp_async_commit();
void cp_async_wait_all();
#else
// nvcc's host pass: never called on the host.
inline void cp_async16(void *, const void *, int) {}
inline void cp_async4(void *, const void *, int) {}
inline void cp_async_commit() {}
inline void cp_async_wait_all() {}
#endif

// Starts copying rows row0 .. row0+R-1 (C columns) of g [nrows][gcols] into s [R][C] (dense, stride C), zeros past
// nrows / gcols. vec: 16-byte copies, allowed when gcols % 4 == 0 and g is 16-byte aligned; else 4-byte copies.
template <int R, int C, int NT>
__device__ __forceinline__ void load_tile_async(float *s, const float *__restrict__ g, int row0, int nrows, int gcols,
                                                bool vec) {
  static_assert(C % 4 == 0, "C must be a multiple of 4");
  if (vec) {
    for (int idx = threadIdx.x; idx < R * C / 4; idx += NT) {
      const int r = idx / (C / 4), c = idx % (C / 4) * 4, gr = row0 + r;
      const int left = gcols - c, bytes = gr < nrows && left > 0 ? (left >= 4 ? 16 : 4 * left) : 0;
      cp_async16(s + r * C + c, bytes ? g + (size_t)gr * gcols + c : g, bytes);
    }
  } else {
    for (int idx = threadIdx.x; idx < R * C; idx += NT) {
      const int r = idx / C, c = idx % C, gr = row0 + r;
      const int bytes = gr < nrows && c < gcols ? 4 : 0;
      cp_async4(s + idx, bytes ? g + (size_t)gr * gcols + c : g, bytes);
    }
  }
}

}  // namespace attn_tiled
