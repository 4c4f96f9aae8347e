// tiled/versions.h — the one table of the tiled kernel versions, and the knobs of a variant choice. Plain C++ (no
// CUDA): the launchers dispatch on it (tiled/dispatch.cuh), the binding exports it to JavaScript (the backend's
// kernelVersions and knobs, which parse 'tiled@fwd3', 'tiled@v1', 'tiled@lse2+fwd1+bwd1+shape=1'), the CPU emulator
// runs every row of it, and the README's table is checked against it.
//
// A row names a stage's version, what makes it that version, the head-dim buckets it has kernels for (any other
// bucket runs the stage's version 1, and Session.kernels says so), the storage dtypes it takes (any other is refused,
// never a silent fallback), the knobs it reads, the dtypes for which a plain 'tiled' runs it, and the report that
// measured it. Adding a version: its kernel file, its launcher (Lse<V> / Fwd<V> / Bwd<V> in
// the stage's .cu file), one row here; the README's checklist says the rest.
#pragma once
#include <cstddef>
#include <string>
#include "../dtype.h"

namespace attn_tiled {

enum class Stage : int { kLse = 0, kForward = 1, kBackward = 2 };
constexpr int kStages = 3;

// Head-dim buckets (max(d, dv) rounded up to 32, 64, 128 or 256; tiled/common.cuh head_bucket) as bits.
constexpr unsigned kD32 = 1, kD64 = 2, kD128 = 4, kD256 = 8, kAllBuckets = kD32 | kD64 | kD128 | kD256;
constexpr unsigned bucket_bit(int D) { return D == 32 ? kD32 : D == 64 ? kD64 : D == 128 ? kD128 : D == 256 ? kD256 : 0; }

// Storage dtypes (dtype.h) as bits.
constexpr unsigned kF32 = 1, kF16 = 2, kBF16 = 4, kAllDtypes = kF32 | kF16 | kBF16;
constexpr unsigned dtype_bit(AttnDtype t) { return t == AttnDtype::kFloat16 ? kF16 : t == AttnDtype::kBFloat16 ? kBF16 : kF32; }
inline constexpr AttnDtype kDtypes[] = {AttnDtype::kFloat32, AttnDtype::kFloat16, AttnDtype::kBFloat16};

// Knobs a version reads (bits of TiledVersion::knobs); every other version ignores them.
constexpr unsigned kShapeKnob = 1;   // shape=0|1: the tile shape (query rows per block)
constexpr unsigned kScoresKnob = 2;  // scores=short|long: the score products' mma chains

struct TiledVersion {
  Stage stage;
  int version;
  const char *technique;  // what makes it this version, one line
  unsigned buckets;       // head-dim buckets with a kernel
  unsigned dtypes;        // storage dtypes it takes (kF32 | kF16 | kBF16)
  unsigned knobs;
  unsigned defaultFor;    // the dtypes for which a plain 'tiled' runs it
  const char *measured;   // the report (reports/...) with its timings on a GPU
};

inline constexpr TiledVersion kTiledVersions[] = {
    {Stage::kLse, 1, "SIMT fp32: Q tile in shared memory, register micro-tiles, running (max, sum) per row",
     kAllBuckets, kAllDtypes, 0, 0, "reports/h100/2026-11-25/versions/v-attn_cuda_tiled_kernel-1.json"},
    {Stage::kLse, 2, "scores on tensor cores (mma.sync 3xTF32, short chains), 4 warps x 16 query rows",
     kD64 | kD128, kF32, 0, 0, "reports/h100/2026-11-25"},
    {Stage::kLse, 3, "operands pre-split in mma fragment order, one chain per score, masks only on boundary tiles",
     kD64 | kD128, kF32, kShapeKnob | kScoresKnob, kF32, "reports/h200/2026-11-29"},
    {Stage::kLse, 4, "float16/bfloat16 on tensor cores (mma.sync m16n8k16, f32 accumulate), ldmatrix, cp.async double buffering",
     kD64 | kD128, kF16 | kBF16, kShapeKnob, kF16 | kBF16, "reports/h200/2026-11-29-half2"},
    {Stage::kForward, 1, "SIMT fp32: P = exp(S - lse) parked in shared memory, O in register micro-tiles",
     kAllBuckets, kAllDtypes, 0, 0, "reports/h100/2026-11-25/versions/v-attn_cuda_tiled_kernel-1.json"},
    {Stage::kForward, 2, "tensor cores (mma.sync 3xTF32, short chains), 4 warps x 16 query rows",
     kD64 | kD128, kF32, 0, 0, "reports/h100/2026-11-25"},
    {Stage::kForward, 3, "version 2 with K/V split into TF32 hi/lo once per block, cp.async double buffering, 8 warps",
     kD64 | kD128, kF32, 0, 0, "reports/h100/2026-11-25-v4/versions/time-v3.json"},
    {Stage::kForward, 4, "operands pre-split in mma fragment order, P kept in registers, masks only on boundary tiles",
     kD64 | kD128, kF32, kShapeKnob | kScoresKnob, kF32, "reports/h200/2026-11-29"},
    {Stage::kForward, 5, "float16/bfloat16 on tensor cores (mma.sync m16n8k16), P rounded to half in registers, ldmatrix.trans for V",
     kD64 | kD128, kF16 | kBF16, kShapeKnob, kF16 | kBF16, "reports/h200/2026-11-29-half2"},
    {Stage::kBackward, 1, "SIMT fp32: dK/dV pass then dQ pass, P and dS recomputed per tile in shared memory",
     kAllBuckets, kAllDtypes, 0, 0, "reports/h100/2026-11-25-v4/versions/time-bwd1.json"},
    {Stage::kBackward, 2, "the two passes of version 1 on tensor cores (mma.sync 3xTF32, short chains)",
     kD64 | kD128, kF32, 0, 0, "reports/h100/2026-11-25"},
    {Stage::kBackward, 3, "operands pre-split in mma fragment order, P and dS kept in registers, boundary masks only",
     kD64 | kD128, kF32, kScoresKnob, kF32, "reports/h200/2026-11-29"},
    {Stage::kBackward, 4, "float16/bfloat16 on tensor cores (mma.sync m16n8k16), P and dS rounded to half in registers, two passes",
     kD64 | kD128, kF16 | kBF16, 0, kF16 | kBF16, "reports/h200/2026-11-29-half2"},
};
inline constexpr std::size_t kTiledVersionCount = sizeof(kTiledVersions) / sizeof(kTiledVersions[0]);

struct VariantKnob {
  const char *name;
  const char *values[2];  // the values it takes
  unsigned bit;           // kShapeKnob / kScoresKnob
  const char *description;
};

inline constexpr VariantKnob kVariantKnobs[] = {
    {"shape", {"0", "1"}, kShapeKnob,
     "tile shape of lse3, fwd4, lse4 and fwd5: 0 = the taller query tiles (faster on long sequences), 1 = half as tall; default "
     "automatic: 1 when shape 0's grid fills at most half the block slots of the SMs"},
    {"scores", {"short", "long"}, kScoresKnob,
     "score products of lse3, fwd4 and bwd3: short mma chains (default) or one chain over d (faster, and fails the "
     "accuracy rule at every score magnitude: reports/h100/2026-11-25-v4/versions/long-chains.json)"},
};

constexpr const char *stage_token(Stage s) { return s == Stage::kLse ? "lse" : s == Stage::kForward ? "fwd" : "bwd"; }
constexpr const char *stage_name(Stage s) { return s == Stage::kLse ? "lse" : s == Stage::kForward ? "forward" : "backward"; }

constexpr const TiledVersion *find_version(Stage s, int version) {
  for (const TiledVersion &v : kTiledVersions)
    if (v.stage == s && v.version == version) return &v;
  return nullptr;
}

// The version a plain 'tiled' runs for stage s in dtype t; 0 when the table has none.
constexpr int default_version(Stage s, AttnDtype t) {
  for (const TiledVersion &v : kTiledVersions)
    if (v.stage == s && (v.defaultFor & dtype_bit(t))) return v.version;
  return 0;
}

// The table's own rules: per stage and dtype exactly one default, which takes that dtype; (stage, version) unique; a
// version 1 with a kernel for every bucket and every dtype (the fallback). The launchers add one more at compile time:
// every (row, bucket, dtype) the table declares has a launcher.
constexpr bool table_is_well_formed() {
  for (int s = 0; s < kStages; ++s) {
    const TiledVersion *one = find_version(Stage(s), 1);
    if (!one || one->buckets != kAllBuckets || one->dtypes != kAllDtypes) return false;
    for (AttnDtype t : kDtypes) {
      int defaults = 0;
      for (const TiledVersion &v : kTiledVersions)
        if (v.stage == Stage(s) && (v.defaultFor & dtype_bit(t))) defaults += 1 + ((v.dtypes & dtype_bit(t)) == 0);
      if (defaults != 1) return false;
    }
  }
  for (std::size_t i = 0; i < kTiledVersionCount; ++i)
    for (std::size_t j = i + 1; j < kTiledVersionCount; ++j)
      if (kTiledVersions[i].stage == kTiledVersions[j].stage && kTiledVersions[i].version == kTiledVersions[j].version)
        return false;
  return true;
}
static_assert(table_is_well_formed(),
              "kTiledVersions: per stage one default per dtype, a version 1 over all buckets and dtypes, no duplicates");

// "float32, float16" — the dtypes of a bit set, in the order of kDtypes.
inline std::string dtype_list(unsigned dtypes, const char *sep = ", ") {
  std::string out;
  for (AttnDtype t : kDtypes)
    if (dtypes & dtype_bit(t)) out += (out.empty() ? "" : sep) + std::string(dtype_name(t));
  return out;
}

// Why stage s's version `version` does not take dtype t, one line naming the versions of the stage that do:
// "fwd4 takes float32, not float16 (fwd1: float32, float16, bfloat16; fwd5: float16, bfloat16)". "" when it does.
inline std::string dtype_refusal(Stage s, int version, AttnDtype t) {
  const TiledVersion *row = find_version(s, version);
  if (!row || (row->dtypes & dtype_bit(t))) return "";
  std::string takers;
  for (const TiledVersion &v : kTiledVersions)
    if (v.stage == s && (v.dtypes & dtype_bit(t)))
      takers += (takers.empty() ? "" : "; ") + std::string(stage_token(s)) + std::to_string(v.version) + ": " +
                dtype_list(v.dtypes);
  return std::string(stage_token(s)) + std::to_string(version) + " takes " + dtype_list(row->dtypes) + ", not " +
         dtype_name(t) + " (" + takers + ")";
}

// "D = 64, 128 only (lse1 elsewhere); shape=0|1, scores=short|long", or "" for every bucket and no knobs.
inline std::string version_limits(const TiledVersion &v) {
  std::string out;
  if (v.buckets != kAllBuckets) {
    out = "D =";
    const char *sep = " ";
    for (int D : {32, 64, 128, 256})
      if (v.buckets & bucket_bit(D)) out += sep + std::to_string(D), sep = ", ";
    out += std::string(" only (") + stage_token(v.stage) + "1 elsewhere)";
  }
  const char *sep = out.empty() ? "" : "; ";
  for (const VariantKnob &k : kVariantKnobs)
    if (v.knobs & k.bit) out += sep + std::string(k.name) + "=" + k.values[0] + "|" + k.values[1], sep = ", ";
  return out;
}

// The table as JSON: {"versions": [{stage, version, technique, limits, isDefault, dtypes, defaultFor, buckets, knobs,
// measured}], "knobs": [{name, values, description}]} (KernelVersion and VariantKnob of @attn/reference, plus buckets,
// knobs and measured; isDefault: the default for float32, defaultFor: the dtypes it is the default for, by name). No
// string of the table holds a quote or a backslash.
inline std::string versions_json() {
  auto str = [](const std::string &s) { return "\"" + s + "\""; };
  std::string out = "{\"versions\":[";
  for (std::size_t i = 0; i < kTiledVersionCount; ++i) {
    const TiledVersion &v = kTiledVersions[i];
    std::string buckets, knobs;
    const auto names = [](unsigned dtypes) {
      return dtypes ? "\"" + dtype_list(dtypes, "\",\"") + "\"" : std::string();
    };
    for (int D : {32, 64, 128, 256})
      if (v.buckets & bucket_bit(D)) buckets += (buckets.empty() ? "" : ",") + std::to_string(D);
    for (const VariantKnob &k : kVariantKnobs)
      if (v.knobs & k.bit) knobs += (knobs.empty() ? "" : ",") + str(k.name);
    out += std::string(i ? "," : "") + "{\"stage\":" + str(stage_name(v.stage)) + ",\"version\":" +
           std::to_string(v.version) + ",\"technique\":" + str(v.technique) + ",\"limits\":" + str(version_limits(v)) +
           ",\"isDefault\":" + ((v.defaultFor & kF32) ? "true" : "false") + ",\"dtypes\":[" + names(v.dtypes) +
           "],\"defaultFor\":[" + names(v.defaultFor) + "],\"buckets\":[" + buckets + "],\"knobs\":[" + knobs +
           "],\"measured\":" + str(v.measured) + "}";
  }
  out += "],\"knobs\":[";
  for (std::size_t i = 0; i < sizeof(kVariantKnobs) / sizeof(kVariantKnobs[0]); ++i) {
    const VariantKnob &k = kVariantKnobs[i];
    out += std::string(i ? "," : "") + "{\"name\":" + str(k.name) + ",\"values\":[" + str(k.values[0]) + "," +
           str(k.values[1]) + "],\"description\":" + str(k.description) + "}";
  }
  return out + "]}";
}

}  // namespace attn_tiled

// What a tiled session asks for (the variant 'tiled@…', parsed by the TypeScript backend against the table above):
// a version per stage (indexed by Stage; 0: the table's default), the lse3 / fwd4 tile shape (-1: automatic) and the
// score chains. Plain data, passed by the binding to every launch.
struct AttnTiledChoice {
  int version[attn_tiled::kStages];
  int shape;
  bool longScores;
};
inline constexpr AttnTiledChoice kAttnTiledDefaults = {{0, 0, 0}, -1, false};

// What one tiled stage runs for one problem under a choice (attn_*_tiled_plan in attention.h); the launcher runs
// exactly this.
// A requested version that is not in the table, or that does not take the problem's dtype, is refused: version = 0,
// and plan_refusal says why in one line (never a silent fallback to another version).
struct AttnTiledPlan {
  attn_tiled::Stage stage;
  int requested;    // the version asked for (the dtype's default where the choice said 0)
  int version;      // the version that runs: requested, or 1 where requested has no kernel for the bucket; 0: refused
  int bucket;       // head-dim bucket, 32 / 64 / 128 / 256
  int shape;        // tile shape (versions with the shape knob), else -1
  bool longScores;  // one chain per score (versions with the scores knob)
  AttnDtype dtype;  // the problem's storage dtype
};

namespace attn_tiled {

// Why a plan was refused (version = 0), one line: "no tiled kernel version fwd9", "fwd4 takes float32, not float16
// (fwd1: float32, float16, bfloat16)", "no tiled lse version takes float16"; "" when it was not.
inline std::string plan_refusal(const AttnTiledPlan &plan) {
  if (plan.version != 0) return "";
  const std::string token = stage_token(plan.stage);
  if (plan.requested == 0) return std::string("no tiled ") + token + " version takes " + dtype_name(plan.dtype);
  const std::string dtype = dtype_refusal(plan.stage, plan.requested, plan.dtype);
  return dtype.empty() ? "no tiled kernel version " + token + std::to_string(plan.requested) : dtype;
}

// "lse3 shape0", "fwd4 shape1 scores=long", "bwd1 (bwd3 has no D=256 bucket)": what Session.kernels records
// ("refused: …" for a refused plan, which no session runs).
inline std::string describe_plan(const AttnTiledPlan &plan) {
  const std::string token = stage_token(plan.stage);
  if (plan.version == 0) return "refused: " + plan_refusal(plan);
  std::string out = token + std::to_string(plan.version);
  if (plan.shape >= 0) out += " shape" + std::to_string(plan.shape);
  if (plan.longScores) out += " scores=long";
  if (plan.version != plan.requested)
    out += " (" + token + std::to_string(plan.requested) + " has no D=" + std::to_string(plan.bucket) + " bucket)";
  return out;
}

}  // namespace attn_tiled
