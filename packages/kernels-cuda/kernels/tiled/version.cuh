// tiled/version.cuh — which kernel version each tiled stage runs, from the environment (read once per process).
//   ATTN_CUDA_TILED_KERNEL=N   all stages: each runs the newest version <= N it has (lse 3, forward 4, backward 3)
//   ATTN_CUDA_TILED_LSE=N, ATTN_CUDA_TILED_FWD=N, ATTN_CUDA_TILED_BWD=N   per-stage overrides, same rule
// Defaults, from the H100 runs of 2026-11-25 (NOTES.md): lse 3, forward 4 and backward 3 (pre-split fragment-order
// operands: lse + forward 1.9–2.4×, backward 1.5–1.9× faster than lse 2 + forward 1 + backward 1 at N = 4096).
// Versions >= 2 (tensor cores, 3xTF32) exist only for the D = 64 and 128 buckets; D = 32 and 256 run version 1
// whatever the setting.
#pragma once
#include <cstdlib>
#include <cstring>
#include "common.cuh"

namespace attn_tiled {

enum class Stage { Lse, Fwd, Bwd };

// The newest version <= the requested one that the stage has; unset: the fallback; not a positive number: 1.
inline int env_version(const char *name, int fallback, int newest) {
  const char *s = std::getenv(name);
  if (!s || !*s) return fallback;
  const int want = std::atoi(s);
  return want < 1 ? 1 : want < newest ? want : newest;
}

inline int stage_version(Stage st) {
  constexpr int kNewestLse = 3, kNewestFwd = 4, kNewestBwd = 3;
  static const char *any = std::getenv("ATTN_CUDA_TILED_KERNEL");
  static const bool set = any && *any;
  static const int lse = env_version("ATTN_CUDA_TILED_LSE", set ? env_version("ATTN_CUDA_TILED_KERNEL", 1, kNewestLse) : 3, kNewestLse);
  static const int fwd = env_version("ATTN_CUDA_TILED_FWD", set ? env_version("ATTN_CUDA_TILED_KERNEL", 1, kNewestFwd) : 4, kNewestFwd);
  static const int bwd = env_version("ATTN_CUDA_TILED_BWD", set ? env_version("ATTN_CUDA_TILED_KERNEL", 1, kNewestBwd) : 3, kNewestBwd);
  return st == Stage::Lse ? lse : st == Stage::Fwd ? fwd : bwd;
}

// Tile shape of lse v3 / forward v4 (their Shape structs): ATTN_CUDA_TILED_CFG=0|1 forces one. Unset: shape 0 (the
// faster on the H100) unless its grid fills at most half of the block slots the SMs offer at once (blocks0 <=
// sms x resident0 / 2: short sequences), then shape 1, whose query tiles are half as tall.
inline int tile_config(long long blocks0, int resident0, int sms) {
  static const char *s = std::getenv("ATTN_CUDA_TILED_CFG");
  if (s && *s) return s[0] == '1' && !s[1] ? 1 : 0;
  return 2 * blocks0 <= (long long)sms * resident0 ? 1 : 0;
}

// The shape of a kernel for problem p: tile_config's rule over the grid of its shape 0 (traits T0: BQ, kMinBlocks).
template <class T0>
inline int shape_for(const AttnProblem &p) {
  return tile_config((long long)p.bh * ceil_div(p.nq, T0::BQ), T0::kMinBlocks, sm_count());
}

// Score products of lse v3 / forward v4 / backward v3 as one long mma chain over d (ATTN_CUDA_TILED_SCORES=long:
// faster, less exact) instead of short chains (default). tf32_frags.cuh, mma3_score.
inline bool long_score_chains() {
  static const char *s = std::getenv("ATTN_CUDA_TILED_SCORES");
  static const bool on = s && std::strcmp(s, "long") == 0;
  return on;
}

}  // namespace attn_tiled
