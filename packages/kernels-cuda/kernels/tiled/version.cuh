// tiled/version.cuh — which kernel version each tiled stage runs, from the environment (read once per process).
//   ATTN_CUDA_TILED_KERNEL=N   all stages: each runs the newest version <= N it has (lse 3, forward 4, backward 3)
//   ATTN_CUDA_TILED_LSE=N, ATTN_CUDA_TILED_FWD=N, ATTN_CUDA_TILED_BWD=N   per-stage overrides, same rule
// Defaults, from the H100 run of 2026-11-25 (NOTES.md): lse 2 (10–14% faster than v1 at d = 64 and 128, same
// accuracy), forward and backward 1 (v2 no faster at d = 64, 1.2–2× slower at d = 128).
// Version 2 (tensor cores, 3xTF32) exists only for the D = 64 and 128 buckets and only for the stages that have
// one; everything else runs version 1 whatever the setting. Version 3 (forward only, opt-in, not yet measured):
// the same buckets, same fallback.
#pragma once
#include <cstdlib>

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
  static const int lse = env_version("ATTN_CUDA_TILED_LSE", set ? env_version("ATTN_CUDA_TILED_KERNEL", 1, kNewestLse) : 2, kNewestLse);
  static const int fwd = env_version("ATTN_CUDA_TILED_FWD", set ? env_version("ATTN_CUDA_TILED_KERNEL", 1, kNewestFwd) : 1, kNewestFwd);
  static const int bwd = env_version("ATTN_CUDA_TILED_BWD", set ? env_version("ATTN_CUDA_TILED_KERNEL", 1, kNewestBwd) : 1, kNewestBwd);
  return st == Stage::Lse ? lse : st == Stage::Fwd ? fwd : bwd;
}

// Tile shape of lse v3 / forward v4 (their Shape structs): ATTN_CUDA_TILED_CFG=0 (default) or 1.
inline int tile_config() {
  static const char *s = std::getenv("ATTN_CUDA_TILED_CFG");
  static const int cfg = s && s[0] == '1' && !s[1] ? 1 : 0;
  return cfg;
}

}  // namespace attn_tiled
