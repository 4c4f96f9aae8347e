// tiled/emu/runtime.cpp — the emulated CUDA execution model: threads of a block, barriers, warp shuffles,
// mma.sync m16n8k8 .tf32 (a model of the tensor cores' truncating accumulation), cp.async, dynamic shared memory.
//
// Two ways to run the threads of a block (chosen at build time):
//   default: one fiber per CUDA thread on a single OS thread, switched cooperatively at every barrier, shuffle and
//     mma (a dozen instructions per switch on x86-64; ucontext elsewhere). A fiber runs until it waits, so a read
//     that lacks its barrier sees whatever the other threads have not yet written (usually poison). A barrier that
//     not every thread reaches is reported as a deadlock.
//   -DATTN_EMU_THREADS: one std::thread per CUDA thread (slow: the OS switches), for -fsanitize=thread (race
//     reports) and -fsanitize=address (fibers' stacks confuse ASan).
// Barriers are generation counters; the last thread to arrive does the barrier's work (e.g. the whole warp's mma)
// before releasing the others, so every exchange needs one barrier: buffers alternate by generation parity, and no
// thread can be two generations ahead of another.
#include "cuda_runtime.h"
#include "tiled/cp_async.cuh"
#include "tiled/mma_f16.cuh"
#include "tiled/mma_tf32.cuh"
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>
#ifdef ATTN_EMU_THREADS
#include <condition_variable>
#include <mutex>
#include <thread>
#else
#include <sys/mman.h>
#if !defined(__x86_64__)
#include <ucontext.h>
#endif
#endif

namespace attn_tiled { alignas(16) float smem[60000]; }  // the kernels' extern __shared__ float smem[]
thread_local Dim3 threadIdx, blockIdx;
Dim3 blockDim, gridDim;

namespace {

constexpr int kMaxThreads = 1024, kMaxWarps = kMaxThreads / 32;
unsigned gThreads = 0;  // threads per block of the running grid

// ---- barriers ------------------------------------------------------------------------------------------------------
struct Barrier {
  unsigned count = 0, gen = 0;
#ifdef ATTN_EMU_THREADS
  std::mutex m;
  std::condition_variable cv;
#endif
};
Barrier blockBar, warpBars[kMaxWarps];

#ifndef ATTN_EMU_THREADS
// ---- fibers --------------------------------------------------------------------------------------------------------
constexpr size_t kStackBytes = 256 * 1024, kGuardBytes = 4096;

struct Fiber {
#if defined(__x86_64__)
  void *sp = nullptr;
#else
  ucontext_t ctx;
#endif
  char *stack = nullptr;  // kGuardBytes of PROT_NONE, then the stack
  bool done = false;
  const unsigned *waitGen = nullptr;  // runnable when null or *waitGen != waitVal
  unsigned waitVal = 0;
};
Fiber fibers[kMaxThreads], mainFiber;
int cur = -1, nDone = 0;
const std::function<void()> *gBody = nullptr;

#if defined(__x86_64__)
// emu_switch(&from->sp, to->sp): pushes the callee-saved registers, MXCSR and the x87 control word on the current
// stack, saves the stack pointer, loads the other one and pops the same from it (System V AMD64).
extern "C" void emu_switch(void **save, void *load);
asm(R"(
  .text
  .globl emu_switch
  .type emu_switch, @function
emu_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  subq $8, %rsp
  stmxcsr (%rsp)
  fnstcw 4(%rsp)
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  ldmxcsr (%rsp)
  fldcw 4(%rsp)
  addq $8, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size emu_switch, .-emu_switch
  .section .note.GNU-stack,"",@progbits
  .text
)");
void switch_to(Fiber &from, Fiber &to) { emu_switch(&from.sp, to.sp); }
#else
void switch_to(Fiber &from, Fiber &to) { swapcontext(&from.ctx, &to.ctx); }
#endif

[[noreturn]] void deadlock() {
  unsigned blocked = 0;
  for (unsigned t = 0; t < gThreads; ++t) blocked += !fibers[t].done;
  std::printf("emulator: deadlock in block %u: %u threads wait at a barrier that the others never reach\n", blockIdx.x,
              blocked);
  std::exit(2);
}

// Switch to the next runnable fiber after the current one (round robin); return when the current one may run again.
void schedule() {
  const int self = cur;
  for (unsigned i = 1; i <= gThreads; ++i) {
    const int j = (int)((self + i) % gThreads);
    Fiber &f = fibers[j];
    if (f.done || (f.waitGen && *f.waitGen == f.waitVal)) continue;
    f.waitGen = nullptr;
    if (j == self) return;
    cur = j;
    switch_to(fibers[self], f);
    threadIdx.x = (unsigned)self;  // resumed (cur == self again)
    return;
  }
  if (nDone == (int)gThreads) {
    cur = -1;
    switch_to(fibers[self], mainFiber);  // never resumed
  }
  deadlock();
}

void fiber_main() {
  threadIdx.x = (unsigned)cur;
  (*gBody)();
  fibers[cur].done = true;
  ++nDone;
  schedule();
  std::abort();
}

void fiber_start(Fiber &f) {
  if (!f.stack) {
    void *m = mmap(nullptr, kStackBytes + kGuardBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m, kGuardBytes, PROT_NONE) != 0) { std::printf("emulator: no fiber stack\n"); std::exit(2); }
    f.stack = static_cast<char *>(m);
  }
  f.done = false;
  f.waitGen = nullptr;
#if defined(__x86_64__)
  // Frame popped by emu_switch: MXCSR/x87 word, r15 r14 r13 r12 rbx rbp, return address fiber_main, and a dummy
  // return address for fiber_main (so it starts with rsp + 8 aligned to 16, as after a call).
  uintptr_t top = (reinterpret_cast<uintptr_t>(f.stack) + kGuardBytes + kStackBytes) & ~uintptr_t(15);
  uint64_t *sp = reinterpret_cast<uint64_t *>(top);
  *--sp = 0;
  *--sp = reinterpret_cast<uint64_t>(&fiber_main);
  for (int r = 0; r < 6; ++r) *--sp = 0;
  --sp;
  uint32_t csr[2];
  asm volatile("stmxcsr %0" : "=m"(csr[0]));
  asm volatile("fnstcw %0" : "=m"(csr[1]));
  std::memcpy(sp, csr, 8);
  f.sp = sp;
#else
  getcontext(&f.ctx);
  f.ctx.uc_stack.ss_sp = f.stack + kGuardBytes;
  f.ctx.uc_stack.ss_size = kStackBytes;
  f.ctx.uc_link = nullptr;
  makecontext(&f.ctx, fiber_main, 0);
#endif
}
#endif  // !ATTN_EMU_THREADS

// Arrive at b (n participants); the last to arrive runs last() and releases the others.
template <class F>
void arrive(Barrier &b, unsigned n, F &&last) {
#ifdef ATTN_EMU_THREADS
  std::unique_lock<std::mutex> lock(b.m);
  if (++b.count == n) {
    last();
    b.count = 0;
    ++b.gen;
    b.cv.notify_all();
    return;
  }
  const unsigned g = b.gen;
  b.cv.wait(lock, [&] { return b.gen != g; });
#else
  if (++b.count == n) {
    last();
    b.count = 0;
    ++b.gen;
    return;
  }
  Fiber &f = fibers[cur];
  f.waitGen = &b.gen;
  f.waitVal = b.gen;
  schedule();
#endif
}

Barrier &warp_bar() { return warpBars[threadIdx.x / 32]; }
// Parity of the current generation of this thread's warp barrier: which half of a double buffer to use.
unsigned warp_parity() { return warp_bar().gen & 1u; }

float shflBuf[2][kMaxThreads];

// ---- mma.sync m16n8k8 tf32 ---------------------------------------------------------------------------------------
// Accumulation model (env ATTN_EMU_MMA): "trunc" (default) models the tensor core as measured on NVIDIA parts
// (Fasi et al. 2021): the 8 products are exact, the 9 terms (c and the products) are aligned to the largest one and
// truncated to 24 + ATTN_EMU_MMA_EXTRA (default 0) bits below its leading bit, summed, and the sum truncated
// (round toward zero) to fp32. That bias toward zero is what made long mma chains drift on the H100. "exact": fp32
// sum in k order (the old model, which hid the drift).
bool mma_trunc() {
  static const bool t = !getenv("ATTN_EMU_MMA") || strcmp(getenv("ATTN_EMU_MMA"), "exact") != 0;
  return t;
}
int mma_extra() {
  static const int e = getenv("ATTN_EMU_MMA_EXTRA") ? atoi(getenv("ATTN_EMU_MMA_EXTRA")) : 0;
  return e;
}
float trunc_to_float(double x) {
  float f = (float)x;
  if (std::fabs((double)f) > std::fabs(x)) f = std::nextafter(f, 0.f);
  return f;
}
double pow2(int e) {  // 2^e for -1022 <= e <= 1023
  const uint64_t bits = (uint64_t)(e + 1023) << 52;
  double x;
  std::memcpy(&x, &bits, 8);
  return x;
}
// K = 8 (tf32) or 16 (f16, bf16): the products are exact in double either way.
template <int K = 8>
float tc_sum(float c, const float *a, const float *b) {
  double t[K + 1], plain = c;
  t[0] = c;
  for (int kk = 0; kk < K; ++kk) plain += t[kk + 1] = (double)a[kk] * (double)b[kk];  // exact: tf32 x tf32, half x half
  if (!std::isfinite(plain)) return (float)plain;  // NaN (poison read by a kernel) or inf: let it show
  double mx = 0;
  for (double x : t) mx = std::max(mx, std::fabs(x));
  if (mx == 0) return 0.f;
  uint64_t bits;
  std::memcpy(&bits, &mx, 8);
  const int e = (int)((bits >> 52) & 0x7ff) - 1023 - 23 - mma_extra();  // unit 2^e: 24 + extra bits below mx's lead
  const double inv = pow2(-e);
  int64_t units = 0;
  for (double x : t) units += (int64_t)(x * inv);  // truncation toward zero, exact (< 2^29 units)
  return trunc_to_float((double)units * pow2(e));
}

// Per warp, double-buffered by generation parity: every lane's fragments, then every lane's result.
float mmaA[2][kMaxWarps][32][4], mmaB[2][kMaxWarps][32][2], mmaC[2][kMaxWarps][32][4], mmaD[2][kMaxWarps][32][4];

// D = C + A·B for every lane of warp w: A 16 x K, B K x 8 unpacked from the lanes' fragments, C and D in fragment
// order (c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1)) — the accumulation model of both mma shapes.
template <int K>
void mma_accumulate(int par, int w, const float (&A)[16][K], const float (&B)[K][8]) {
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, tt = l % 4;
    for (int e = 0; e < 4; ++e) {
      const int r = g + (e >= 2 ? 8 : 0), col = 2 * tt + (e & 1);
      float bc[K];
      for (int kk = 0; kk < K; ++kk) bc[kk] = B[kk][col];
      const float c = mmaC[par][w][l][e];
      if (mma_trunc()) {
        mmaD[par][w][l][e] = tc_sum<K>(c, A[r], bc);
      } else {
        float sum = c;
        for (int kk = 0; kk < K; ++kk) sum += A[r][kk] * bc[kk];
        mmaD[par][w][l][e] = sum;
      }
    }
  }
}

void mma_warp(int par, int w) {
  float A[16][8], B[8][8];
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, tt = l % 4;
    const float *a = mmaA[par][w][l], *b = mmaB[par][w][l];
    A[g][tt] = a[0], A[g + 8][tt] = a[1], A[g][tt + 4] = a[2], A[g + 8][tt + 4] = a[3];
    B[tt][g] = b[0], B[tt + 4][g] = b[1];
  }
  mma_accumulate<8>(par, w, A, B);
}

// ---- cp.async: each thread's copies are held back until its cp_async_wait_all, so a read of a tile before the wait
// (or before the barrier after it, for other threads' copies) sees poison or the previous tile.
struct PendingCopy { void *dst; const void *src; int size, bytes; };
std::vector<PendingCopy> pendingCopies[kMaxThreads];

void poison_smem(size_t smemBytes) {
  for (size_t i = 0; i < sizeof(attn_tiled::smem) / 4; ++i) {
    const uint32_t x = i < smemBytes / 4 ? 0x7fdead00u : 0x7fbeef00u;
    std::memcpy(&attn_tiled::smem[i], &x, 4);
  }
}

}  // namespace

void emu_syncthreads() { arrive(blockBar, gThreads, [] {}); }
void emu_syncwarp() { arrive(warp_bar(), 32, [] {}); }

float emu_shfl_xor(float v, int o) {
  const int t = (int)threadIdx.x;
  const unsigned par = warp_parity();
  shflBuf[par][t] = v;
  arrive(warp_bar(), 32, [] {});
  return shflBuf[par][(t & ~31) | ((t & 31) ^ o)];
}

// cvt.rna.tf32.f32: round to 10 mantissa bits, ties away from zero (finite inputs only here).
uint32_t attn_tiled::to_tf32(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return (u + 0x1000u) & 0xffffe000u;
}

void attn_tiled::mma_tf32(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  const int t = (int)threadIdx.x, w = t / 32, lane = t % 32;
  const unsigned par = warp_parity();
  std::memcpy(mmaA[par][w][lane], a, 16);
  std::memcpy(mmaB[par][w][lane], b, 8);
  std::memcpy(mmaC[par][w][lane], c, 16);
  arrive(warpBars[w], 32, [&] { mma_warp((int)par, w); });
  std::memcpy(c, mmaD[par][w][lane], 16);
}

void attn_tiled::cp_async16(void *dst, const void *src, int bytes) { pendingCopies[threadIdx.x].push_back({dst, src, 16, bytes}); }
void attn_tiled::cp_async4(void *dst, const void *src, int bytes) { pendingCopies[threadIdx.x].push_back({dst, src, 4, bytes}); }
void attn_tiled::cp_async_commit() {}
void attn_tiled::cp_async_wait_all() {
  auto &mine = pendingCopies[threadIdx.x];
  for (const auto &c : mine) {
    if ((uintptr_t)c.dst % c.size || (c.bytes && (uintptr_t)c.src % c.size)) { std::printf("cp.async misaligned\n"); std::exit(1); }
    std::memcpy(c.dst, c.src, c.bytes);
    std::memset((char *)c.dst + c.bytes, 0, c.size - c.bytes);
  }
  mine.clear();
}

void emu_run_grid(unsigned grid, unsigned block, size_t smemBytes, const std::function<void()> &body) {
  if (smemBytes > sizeof(attn_tiled::smem)) { std::printf("emulator: %zu bytes of shared memory, more than it has\n", smemBytes); std::exit(1); }
  if (block == 0 || block % 32 || block > (unsigned)kMaxThreads) { std::printf("emulator: block of %u threads\n", block); std::exit(1); }
  gThreads = block;
  blockDim.x = block;
  gridDim.x = grid;
  blockBar.count = 0;
  for (auto &w : warpBars) w.count = 0;
#ifdef ATTN_EMU_THREADS
  std::vector<std::thread> th;
  for (unsigned t = 0; t < block; ++t)
    th.emplace_back([&, t] {
      threadIdx.x = t;
      for (unsigned b = 0; b < grid; ++b) {
        if (t == 0 && smemBytes) poison_smem(smemBytes);  // between blocks, so stale reads show up as NaN
        emu_syncthreads();
        blockIdx.x = b;
        body();
        emu_syncthreads();
      }
    });
  for (auto &x : th) x.join();
#else
  gBody = &body;
  for (unsigned b = 0; b < grid; ++b) {
    if (smemBytes) poison_smem(smemBytes);
    blockIdx.x = b;
    for (unsigned t = 0; t < block; ++t) fiber_start(fibers[t]);
    nDone = 0;
    cur = 0;
    switch_to(mainFiber, fibers[0]);  // back here when every thread of the block has returned
  }
  gBody = nullptr;
#endif
  if (smemBytes) {
    for (size_t i = smemBytes / 4; i < sizeof(attn_tiled::smem) / 4; ++i) {
      uint32_t x;
      std::memcpy(&x, &attn_tiled::smem[i], 4);
      if (x != 0x7fbeef00u) { std::printf("smem OOB write at %zu (bytes %zu)\n", i, smemBytes); std::exit(1); }
    }
  }
}

// ---- mma.sync m16n8k16 (f16, bf16 operands; f32 accumulate), ldmatrix, cvt.rn to halves ---------------------------
// The same accumulation model as the tf32 mma (mma_accumulate, tc_sum: 16 exact products and c aligned to the largest,
// truncated).
namespace {

float half_bits_to_float(uint16_t h, bool bf16) {
  if (bf16) {
    const uint32_t u = (uint32_t)h << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
  }
  _Float16 x;
  std::memcpy(&x, &h, 2);
  return (float)x;
}

uint16_t float_to_half_bits(float f, bool bf16) {  // round to nearest even, NaN stays NaN
  if (bf16) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40u);
    return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
  }
  const _Float16 x = (_Float16)f;  // GCC's conversion rounds to nearest even
  uint16_t h;
  std::memcpy(&h, &x, 2);
  return h;
}

uint32_t hA[2][kMaxWarps][32][4], hB[2][kMaxWarps][32][2];
const uint16_t *ldsmRow[2][kMaxWarps][32];

void mma_h_warp(int par, int w, bool bf16) {
  float A[16][16], B[16][8];
  auto lo = [&](uint32_t x) { return half_bits_to_float((uint16_t)(x & 0xffffu), bf16); };
  auto hi = [&](uint32_t x) { return half_bits_to_float((uint16_t)(x >> 16), bf16); };
  for (int l = 0; l < 32; ++l) {
    const int g = l / 4, tt = l % 4;
    const uint32_t *a = hA[par][w][l], *b = hB[par][w][l];
    for (int i = 0; i < 4; ++i) {
      const int r = g + (i % 2) * 8, c = 2 * tt + (i / 2) * 8;
      A[r][c] = lo(a[i]), A[r][c + 1] = hi(a[i]);
    }
    for (int i = 0; i < 2; ++i) B[2 * tt + i * 8][g] = lo(b[i]), B[2 * tt + i * 8 + 1][g] = hi(b[i]);
  }
  mma_accumulate<16>(par, w, A, B);
}

// Lane l gave row l % 8 of matrix l / 8; each lane gets, per matrix, the two halves of row lane / 4 at columns
// 2 (lane % 4) and + 1 — or, transposed, of column lane / 4 at rows 2 (lane % 4) and + 1.
void ldsm(uint32_t (&r)[4], const void *row, bool trans) {
  const int t = (int)threadIdx.x, w = t / 32, lane = t % 32;
  if ((uintptr_t)row % 16) { std::printf("ldmatrix: row address not 16-byte aligned\n"); std::exit(1); }
  const unsigned par = warp_parity();
  ldsmRow[par][w][lane] = static_cast<const uint16_t *>(row);
  arrive(warpBars[w], 32, [] {});
  for (int m = 0; m < 4; ++m) {
    const uint16_t *const *rows = &ldsmRow[par][w][8 * m];
    uint16_t x, y;
    if (trans) {
      x = rows[2 * (lane % 4)][lane / 4];
      y = rows[2 * (lane % 4) + 1][lane / 4];
    } else {
      x = rows[lane / 4][2 * (lane % 4)];
      y = rows[lane / 4][2 * (lane % 4) + 1];
    }
    r[m] = (uint32_t)x | (uint32_t)y << 16;
  }
}

}  // namespace

template <bool BF16>
void attn_tiled::mma_h(float (&c)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  const int t = (int)threadIdx.x, w = t / 32, lane = t % 32;
  const unsigned par = warp_parity();
  std::memcpy(hA[par][w][lane], a, 16);
  std::memcpy(hB[par][w][lane], b, 8);
  std::memcpy(mmaC[par][w][lane], c, 16);
  arrive(warpBars[w], 32, [&] { mma_h_warp((int)par, w, BF16); });
  std::memcpy(c, mmaD[par][w][lane], 16);
}
template void attn_tiled::mma_h<false>(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]);
template void attn_tiled::mma_h<true>(float (&)[4], const uint32_t (&)[4], const uint32_t (&)[2]);

void attn_tiled::ldsm_x4(uint32_t (&r)[4], const void *row) { ldsm(r, row, false); }
void attn_tiled::ldsm_x4_t(uint32_t (&r)[4], const void *row) { ldsm(r, row, true); }

template <bool BF16>
uint32_t attn_tiled::pack_h(float x, float y) {
  return (uint32_t)float_to_half_bits(x, BF16) | (uint32_t)float_to_half_bits(y, BF16) << 16;
}
template uint32_t attn_tiled::pack_h<false>(float, float);
template uint32_t attn_tiled::pack_h<true>(float, float);
