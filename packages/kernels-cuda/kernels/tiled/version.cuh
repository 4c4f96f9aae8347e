// tiled/version.cuh — which kernel version each tiled stage runs, from the environment (read once per process).
//   ATTN_CUDA_TILED_KERNEL=1|2   all stages
//   ATTN_CUDA_TILED_LSE=1|2, ATTN_CUDA_TILED_FWD=1|2, ATTN_CUDA_TILED_BWD=1|2   per-stage overrides
// Defaults, from the H100 run of 2026-11-25 (NOTES.md): lse 2 (10–14% faster than v1 at d = 64 and 128, same
// accuracy), forward and backward 1 (v2 no faster at d = 64, 1.2–2× slower at d = 128).
// Version 2 (tensor cores, 3xTF32) exists only for the D = 64 and 128 buckets and only for the stages that have
// one; everything else runs version 1 whatever the setting.
#pragma once
#include <cstdlib>

namespace attn_tiled {

enum class Stage { Lse, Fwd, Bwd };

inline int env_version(const char *name, int fallback) {
  const char *s = std::getenv(name);
  if (!s || !*s) return fallback;
  return std::atoi(s) == 2 ? 2 : 1;
}

inline int stage_version(Stage st) {
  static const char *any = std::getenv("ATTN_CUDA_TILED_KERNEL");
  static const int all = env_version("ATTN_CUDA_TILED_KERNEL", 1);
  static const int lse = env_version("ATTN_CUDA_TILED_LSE", any && *any ? all : 2);
  static const int fwd = env_version("ATTN_CUDA_TILED_FWD", all);
  static const int bwd = env_version("ATTN_CUDA_TILED_BWD", all);
  return st == Stage::Lse ? lse : st == Stage::Fwd ? fwd : bwd;
}

}  // namespace attn_tiled
