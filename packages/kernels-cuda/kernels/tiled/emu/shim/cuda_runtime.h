// CPU emulation shim (tiled/emu only, never on an nvcc include path): just enough of CUDA for the tiled kernels and
// their launchers (kernels/*tiled*.cu, through launch_tiles in tiled/dispatch.cuh) and the naive ones
// (kernels/*naive*.cu, backward_delta.cu), all of which launch through ATTN_LAUNCH (kernels/common.cuh).
#pragma once
#include <cmath>
#include <cstddef>
#include <algorithm>
#include <functional>
typedef int cudaError_t;
typedef void *cudaStream_t;
enum { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorInvalidConfiguration = 9 };
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__
#define ATTN_TILED_EMU 1
struct Dim3 { unsigned x = 0, y = 0, z = 0; };
extern thread_local Dim3 threadIdx, blockIdx;
extern Dim3 blockDim, gridDim;
void emu_syncthreads();
void emu_syncwarp();
float emu_shfl_xor(float v, int o);
inline void __syncthreads() { emu_syncthreads(); }
inline void __syncwarp() { emu_syncwarp(); }
inline float __shfl_xor_sync(unsigned, float v, int o) { return emu_shfl_xor(v, o); }
inline int min(int a, int b) { return a < b ? a : b; }
// Round-to-nearest product and sum that nvcc never fuses into an FMA (the emulator is built with -ffp-contract=off).
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
enum { cudaFuncAttributeMaxDynamicSharedMemorySize = 8 };
template <class K> inline cudaError_t cudaFuncSetAttribute(K, int, int) { return cudaSuccess; }
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
struct alignas(8) uint2 { unsigned x, y; };
inline uint2 make_uint2(unsigned x, unsigned y) { return uint2{x, y}; }
struct alignas(16) uint4 { unsigned x, y, z, w; };
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return uint4{x, y, z, w}; }
struct alignas(16) float4 { float x, y, z, w; };
inline float4 make_float4(float x, float y, float z, float w) { return float4{x, y, z, w}; }
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };
inline cudaError_t cudaGetDevice(int *d) { *d = 0; return cudaSuccess; }
inline cudaError_t cudaDeviceGetAttribute(int *v, cudaDeviceAttr, int) { *v = 132; return cudaSuccess; }

// Runs body once per CUDA thread of every block (tiled/emu/runtime.cpp). smemBytes > 0: the emulated dynamic shared
// memory is poisoned before every block and checked for out-of-bounds writes after the grid.
void emu_run_grid(unsigned grid, unsigned block, size_t smemBytes, const std::function<void()> &body);

// kernel<<<grid, block, smem, stream>>>(args...) as ATTN_LAUNCH(kernel, grid, block, smem, stream)(args...).
template <class Kernel>
inline auto attn_emu_launch(Kernel kernel, unsigned grid, unsigned block, size_t smem) {
  return [=](auto... args) { emu_run_grid(grid, block, smem, [&] { kernel(args...); }); };
}
