// tiled/emu/emu.cpp — runs the CUDA kernels on the CPU and judges them: the tiled kernels through their own
// launchers (lse_tiled.cu, forward_tiled.cu, backward_tiled.cu: the version table's dispatch, with ATTN_LAUNCH
// running a kernel on the CPU) under a choice of versions, or the naive ones (kernels/*naive*.cu), all three stages,
// against a float64 reference and a textbook float32 attention (check.h).
// Why: this machine has no GPU; this catches indexing, tail, mask and barrier mistakes, and accuracy lost at large
// scores, before GPU time is spent. The execution model (threads as fibers, barriers, shuffles, the tensor cores'
// truncating mma, cp.async, poisoned shared memory): runtime.cpp. Not emulated: real GPU scheduling, the real exp2 /
// expf approximations, nvcc's FMA contraction where the code does not spell it out (__fmul_rn, fmaf), so
// compute-sanitizer and the verify runs on the GPU still rule.
//
// Build (from this folder), then run:
//   g++ -std=c++20 -O3 -pthread -ffp-contract=off -Ishim -I../.. -o /tmp/attn_emu emu.cpp runtime.cpp check.cpp \
//       -x c++ ../../lse_tiled.cu ../../forward_tiled.cu ../../backward_tiled.cu ../../lse_naive.cu \
//       ../../forward_naive.cu ../../backward_naive.cu ../../naive_pair_dot.cu ../../naive_matmul.cu \
//       ../../backward_delta.cu
//   /tmp/attn_emu list                      the version table and the knobs as JSON (tiled/versions.h)
//   /tmp/attn_emu [seed] [suite] [variant] [dtype]
//     suite: stdin (default: one case per line, "bh nq nk d dv causal [sigma]" — the test passes the odd shapes of
//            @attn/reference, ODD_SHAPES), scores (scaled scores with standard deviation sigma = 1, 8, 128, 1024 on
//            N = 17..160, causal and not), tiles (several full tiles and a tail, N = 97..300, which the odd shapes
//            lack), big (stages 1 and 2 over 2048-4096 keys), bigbwd (all stages, long dQ and dK/dV sums),
//            case:bh,nq,nk,d,dv,causal,sigma (one case)
//     variant: naive, or tiled (the defaults) with a choice after ':' — tiled:lse=2,fwd=3,bwd=1,shape=1,scores=long
//            (each key optional; shape auto|0|1, default auto; the same choice the addon's Session takes, which the
//            TypeScript backend parses from 'tiled@lse2+fwd3+bwd1+shape=1+scores=long').
//     dtype: float32 (default), float16 or bfloat16 — the storage of Q, K, V, dO, O, dQ, dK, dV (kernels/dtype.h):
//            the inputs are rounded to it, the kernels read and write it (the emulator's cuda_fp16.h / cuda_bf16.h,
//            bit-exact with the device), the outputs are widened back, and the textbook computes in it (check.h).
//            A version that does not take the dtype is refused as the addon refuses it (plan_refusal).
//   Each case line names what each stage ran (Session.kernels: "lse3 shape1 | fwd4 shape1 | bwd1 (bwd3 has no D=256
//   bucket)"). Tensor-core model: ATTN_EMU_MMA=exact|trunc, ATTN_EMU_MMA_EXTRA=bits (runtime.cpp). Narrower runs:
//   ATTN_EMU_STAGES=fwd (stages 1 and 2 only), ATTN_EMU_BUCKETS=64,128 (only those head-dim buckets),
//   ATTN_EMU_ORDERS=1..4 (fewer textbook orders), ATTN_EMU_WORST=1 (print the worst element of every output),
//   ATTN_EMU_DIGEST=1 (a hash of the outputs' bits per case: a restructuring must leave it unchanged);
//   ATTN_EMU_DROP_LSE_LO=1 (negative control: lse's low part zeroed after stage 1).
//   Races: add -DATTN_EMU_THREADS -fsanitize=thread (one OS thread per CUDA thread: minutes); out-of-bounds global
//   reads: -DATTN_EMU_THREADS -fsanitize=address,undefined.
// Judging, per output (lse, O, dQ, dK, dV): the rule of check.h — max |kernel − float64| <= 2 x max |textbook −
// float64| + 4 float32 ulps of the output's scale (the largest sum of |terms| behind one element; in a half dtype
// 1 ulp of the dtype, the lse's floor staying float32) — at every sigma,
// where the textbook's error is the largest of four plain float32 attentions that differ only in the order of their
// sums (check.h: at sigma >= 128 one or two near-tied rows set the max, and a single order's error is a lucky or
// unlucky draw); and at sigma = 1 in float32 also the harness's relative L2 gates (lse, O < 1e-5; dQ, dK, dV <
// 1e-4; float32 sizes: in a half dtype the rule alone judges). One line per case, "ok" or "FAIL", with the seed and
// the dtype where it is a half one; then "N failed".
#include "cuda_runtime.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>
#include "check.h"
#include "half_bits.h"
#include "naive.h"
#include "tiled/versions.h"

namespace {

struct Case { int bh, nq, nk, d, dv; bool causal; double sigma; };

void poison(std::vector<float> &v) {
  const uint32_t x = 0x7fdead00;
  for (auto &f : v) std::memcpy(&f, &x, 4);
}

// A tensor in the problem's dtype as the device holds it: float, or the 16-bit patterns of __half / __nv_bfloat16.
struct Stored {
  AttnDtype dtype = AttnDtype::kFloat32;
  std::vector<float> f32;
  std::vector<uint16_t> h16;
  Stored() = default;
  Stored(AttnDtype t, const std::vector<float> &values) : dtype(t) {  // values already rounded to t: exact
    if (t == AttnDtype::kFloat32) f32 = values;
    else
      for (float v : values)
        h16.push_back(t == AttnDtype::kFloat16 ? attn_half::f32_to_f16_bits(v) : attn_half::f32_to_bf16_bits(v));
  }
  // n elements of the dtype's poison (poison.cu): 0x7fdead00, 0x7e5d, 0x7fde
  static Stored poisoned(AttnDtype t, size_t n) {
    Stored s;
    s.dtype = t;
    if (t == AttnDtype::kFloat32) {
      s.f32.resize(n);
      poison(s.f32);
    } else {
      s.h16.assign(n, t == AttnDtype::kFloat16 ? 0x7e5d : 0x7fde);
    }
    return s;
  }
  void *data() { return dtype == AttnDtype::kFloat32 ? (void *)f32.data() : (void *)h16.data(); }
  // The values widened to float exactly (as the session's read does).
  std::vector<float> widened() const {
    if (dtype == AttnDtype::kFloat32) return f32;
    std::vector<float> out(h16.size());
    for (size_t i = 0; i < h16.size(); ++i)
      out[i] = dtype == AttnDtype::kFloat16 ? attn_half::f16_bits_to_f32(h16[i]) : attn_half::bf16_bits_to_f32(h16[i]);
    return out;
  }
};

// Device-side buffers of one run (the outputs poisoned first): inputs and outputs in the problem's dtype, lse, its low
// part and delta float32.
struct Buffers {
  Stored q, k, v, dO, o, dq, dk, dv;
  std::vector<float> lse, lseLo, delta, scratch;
  AttnTensors tensors() {
    return AttnTensors{q.data(), k.data(), v.data(), dO.data(), lse.data(), lseLo.data(), o.data(),
                       dq.data(), dk.data(), dv.data(), delta.data(),
                       scratch.empty() ? nullptr : scratch.data(), scratch.size() * sizeof(float)};
  }
};

// Negative control (ATTN_EMU_DROP_LSE_LO=1): lse's low part zeroed between stages 1 and 2, i.e. the single-float lse
// the kernels kept before lse_pair.cuh; the rule must then fail at large scores.
void after_lse(Buffers &buf) {
  if (std::getenv("ATTN_EMU_DROP_LSE_LO")) std::fill(buf.lseLo.begin(), buf.lseLo.end(), 0.f);
}

// The three stages through the launchers (stage 3 unless fwdOnly); the first launcher error, or cudaSuccess.
cudaError_t run_tiled(const AttnProblem &p, Buffers &buf, const AttnTiledChoice &choice, bool fwdOnly) {
  const AttnTensors t = buf.tensors();
  cudaError_t e = attn_lse_tiled(p, t, choice, nullptr);
  if (e != cudaSuccess) return e;
  after_lse(buf);
  e = attn_forward_tiled(p, t, choice, nullptr);
  if (e != cudaSuccess || fwdOnly) return e;
  return attn_backward_tiled(p, t, choice, nullptr);
}

// The naive stages through their own launchers (kernels/*naive*.cu).
cudaError_t run_naive(const AttnProblem &p, Buffers &buf, bool fwdOnly) {
  buf.scratch.assign(attn_naive_scratch_bytes(p) / sizeof(float), 0.f);
  poison(buf.scratch);
  const AttnTensors t = buf.tensors();
  cudaError_t e = attn_lse_naive(p, t, nullptr);
  if (e != cudaSuccess) return e;
  after_lse(buf);
  e = attn_forward_naive(p, t, nullptr);
  if (e != cudaSuccess || fwdOnly) return e;
  return attn_backward_naive(p, t, nullptr);
}

int bucket(const Case &c) {
  const int m = std::max(c.d, c.dv);
  return m <= 32 ? 32 : m <= 64 ? 64 : m <= 128 ? 128 : 256;
}

// What ran: "naive", or each tiled stage's plan ("lse3 shape0 | fwd4 shape0 | bwd3"), as Session.kernels says it.
std::string kernels_label(const AttnProblem &p, const AttnTiledChoice *choice, bool fwdOnly) {
  if (!choice) return "naive";
  std::string out = attn_tiled::describe_plan(attn_lse_tiled_plan(p, *choice)) + " | " +
                    attn_tiled::describe_plan(attn_forward_tiled_plan(p, *choice));
  if (!fwdOnly) out += " | " + attn_tiled::describe_plan(attn_backward_tiled_plan(p, *choice));
  return out;
}

// Why a stage's plan is refused for p (a version not in the table, or not taking p.dtype: plan_refusal), or "".
std::string refusal(const AttnProblem &p, const AttnTiledChoice &choice, bool fwdOnly) {
  for (const AttnTiledPlan &plan : {attn_lse_tiled_plan(p, choice), attn_forward_tiled_plan(p, choice)})
    if (plan.version == 0) return attn_tiled::plan_refusal(plan);
  if (fwdOnly) return "";
  return attn_tiled::plan_refusal(attn_backward_tiled_plan(p, choice));
}

// "tiled" or "tiled:lse=2,fwd=3,bwd=1,shape=1,scores=long" -> the choice; false on anything else.
bool parse_choice(const std::string &variant, AttnTiledChoice &choice) {
  choice = kAttnTiledDefaults;
  if (variant == "tiled") return true;
  if (variant.rfind("tiled:", 0) != 0) return false;
  std::stringstream list(variant.substr(6));
  std::string item;
  while (std::getline(list, item, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return false;
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    const int n = std::atoi(value.c_str());
    if (key == "lse" || key == "fwd" || key == "bwd") {
      if (n < 1) return false;
      choice.version[key == "lse" ? 0 : key == "fwd" ? 1 : 2] = n;
    } else if (key == "shape" && (value == "auto" || value == "0" || value == "1")) {
      choice.shape = value == "auto" ? -1 : n;
    } else if (key == "scores" && (value == "short" || value == "long")) {
      choice.longScores = value == "long";
    } else {
      return false;
    }
  }
  return true;
}

// One case per line, "bh nq nk d dv causal [sigma]" (sigma 1 when absent); blank lines skipped.
bool read_cases(std::istream &in, std::vector<Case> &cases) {
  std::string line;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::istringstream fields(line);
    Case c{};
    int causal = 0;
    if (!(fields >> c.bh >> c.nq >> c.nk >> c.d >> c.dv >> causal)) return false;
    if (!(fields >> c.sigma)) c.sigma = 1;
    if (c.bh < 1 || c.nq < 1 || c.nk < 1 || c.d < 1 || c.d > 256 || c.dv < 1 || c.dv > 256) return false;
    c.causal = causal != 0;
    cases.push_back(c);
  }
  return true;
}

// Several full tiles of every tile height (16 .. 128 rows) and a tail: the odd shapes stop at N = 129.
std::vector<Case> tile_cases() {
  const Case shapes[] = {{1, 257, 300, 256, 256}, {1, 300, 257, 64, 64}, {1, 300, 257, 128, 128}, {2, 131, 97, 20, 60}};
  std::vector<Case> cases;
  for (bool causal : {false, true})
    for (Case c : shapes) {
      c.causal = causal;
      c.sigma = 1;
      cases.push_back(c);
    }
  return cases;
}

// Scaled scores with standard deviation sigma (max |s| about 4 sigma): every bucket, causal and not.
std::vector<Case> score_cases() {
  const Case shapes[] = {{1, 160, 160, 128, 128}, {1, 129, 129, 64, 64}, {1, 17, 160, 42, 40}, {1, 65, 70, 20, 24},
                         {1, 33, 40, 200, 256}};
  std::vector<Case> cases;
  for (double sigma : {1.0, 8.0, 128.0, 1024.0})
    for (bool causal : {false, true})
      for (Case c : shapes) {
        c.causal = causal;
        c.sigma = sigma;
        cases.push_back(c);
      }
  return cases;
}

uint64_t digest(const std::vector<const std::vector<float> *> &arrays) {
  uint64_t h = 1469598103934665603ull;
  for (const auto *a : arrays)
    for (float f : *a) {
      uint32_t b;
      std::memcpy(&b, &f, 4);
      h = (h ^ b) * 1099511628211ull;
    }
  return h;
}

}  // namespace

int main(int argc, char **argv) {
  const std::string first = argc > 1 ? argv[1] : "";
  if (first == "list") {
    std::printf("%s\n", attn_tiled::versions_json().c_str());
    return 0;
  }
  const unsigned seed = argc > 1 ? (unsigned)std::atoi(argv[1]) : 1234;
  const std::string suite = argc > 2 ? argv[2] : "stdin";
  const std::string variant = argc > 3 ? argv[3] : "tiled";
  const std::string dtypeName = argc > 4 ? argv[4] : "float32";
  const bool naive = variant == "naive";
  AttnDtype dtype = AttnDtype::kFloat32;
  if (dtypeName == "float16") dtype = AttnDtype::kFloat16;
  else if (dtypeName == "bfloat16") dtype = AttnDtype::kBFloat16;
  else if (dtypeName != "float32") {
    std::printf("dtype must be float32, float16 or bfloat16, not %s\n", dtypeName.c_str());
    return 2;
  }
  AttnTiledChoice choice = kAttnTiledDefaults;
  if (!naive && !parse_choice(variant, choice)) {
    std::printf("variant must be naive, tiled or tiled:lse=N,fwd=N,bwd=N,shape=auto|0|1,scores=short|long, not %s\n",
                variant.c_str());
    return 2;
  }
  bool fwdOnly = false;
  std::vector<Case> cases;
  if (suite == "stdin") {
    if (!read_cases(std::cin, cases)) {
      std::printf("stdin: one case per line, \"bh nq nk d dv causal [sigma]\" with d, dv <= 256\n");
      return 2;
    }
  } else if (suite == "scores") {
    cases = score_cases();
  } else if (suite == "tiles") {
    cases = tile_cases();
  } else if (suite == "big") {  // long mma chains, few rows (the emulation is slow): stages 1 and 2 over 2048-4096 keys
    fwdOnly = true;
    cases = {{1, 64, 2048, 64, 64, false, 1}, {1, 64, 4096, 128, 128, false, 1}, {1, 64, 4096, 64, 64, false, 1}};
  } else if (suite == "bigbwd") {  // dQ summed over 4096 keys, dK/dV over 2048 queries
    cases = {{1, 64, 4096, 64, 64, false, 1}, {1, 2048, 64, 64, 64, false, 1}, {1, 2048, 64, 128, 128, false, 1}};
  } else if (suite.rfind("case:", 0) == 0) {  // one case: case:bh,nq,nk,d,dv,causal,sigma
    Case c{};
    int causal = 0;
    if (std::sscanf(suite.c_str() + 5, "%d,%d,%d,%d,%d,%d,%lf", &c.bh, &c.nq, &c.nk, &c.d, &c.dv, &causal, &c.sigma) != 7 ||
        c.bh < 1 || c.nq < 1 || c.nk < 1 || c.d < 1 || c.d > 256 || c.dv < 1 || c.dv > 256) {
      std::printf("case:bh,nq,nk,d,dv,causal,sigma with d, dv <= 256, not %s\n", suite.c_str() + 5);
      return 2;
    }
    c.causal = causal != 0;
    cases = {c};
  } else {
    std::printf("suite must be stdin, scores, tiles, big, bigbwd or case:bh,nq,nk,d,dv,causal,sigma, not %s\n",
                suite.c_str());
    return 2;
  }

  // ATTN_EMU_STAGES=fwd: stages 1 and 2 only; ATTN_EMU_BUCKETS=64,128: only cases of those head-dim buckets.
  if (const char *st = std::getenv("ATTN_EMU_STAGES")) fwdOnly = fwdOnly || std::strcmp(st, "fwd") == 0;
  if (const char *bk = std::getenv("ATTN_EMU_BUCKETS")) {
    std::vector<Case> kept;
    const std::string list = std::string(",") + bk + ",";
    for (const Case &c : cases)
      if (list.find("," + std::to_string(bucket(c)) + ",") != std::string::npos) kept.push_back(c);
    cases = kept;
  }
  int fails = 0;
  for (const Case &c : cases) {
    const AttnProblem p{c.bh, c.nq, c.nk, c.d, c.dv, (float)(1.0 / std::sqrt((double)c.d)), c.causal, dtype};
    const Inputs x = make_inputs(p, c.sigma, seed);  // rounded to the dtype
    const size_t rows = (size_t)c.bh * c.nq;
    Buffers buf;
    buf.q = Stored(dtype, x.q);
    buf.k = Stored(dtype, x.k);
    buf.v = Stored(dtype, x.v);
    buf.dO = Stored(dtype, x.dO);
    buf.o = Stored::poisoned(dtype, rows * c.dv);
    buf.dq = Stored::poisoned(dtype, rows * c.d);
    buf.dk = Stored::poisoned(dtype, (size_t)c.bh * c.nk * c.d);
    buf.dv = Stored::poisoned(dtype, (size_t)c.bh * c.nk * c.dv);
    buf.lse.resize(rows);
    buf.lseLo.resize(rows);
    buf.delta.resize(rows);
    for (auto *a : {&buf.lse, &buf.lseLo, &buf.delta}) poison(*a);
    const int D = bucket(c);
    const std::string refused = naive ? "" : refusal(p, choice, fwdOnly);
    if (!refused.empty()) {
      std::printf("refused: %s\n", refused.c_str());
      return 2;
    }
    const std::string ran = kernels_label(p, naive ? nullptr : &choice, fwdOnly);
    const cudaError_t launched = naive ? run_naive(p, buf, fwdOnly) : run_tiled(p, buf, choice, fwdOnly);
    if (launched != cudaSuccess) {
      std::printf("FAIL %s: a launcher returned error %d (bh=%d nq=%d nk=%d d=%d dv=%d causal=%d)\n", ran.c_str(),
                  (int)launched, c.bh, c.nq, c.nk, c.d, c.dv, c.causal);
      ++fails;
      continue;
    }

    const Tensors64 ref = reference64(p, x);
    const char *names[5] = {"lse", "o", "dq", "dk", "dv"};
    const Tensors32 out{buf.lse, buf.o.widened(), buf.dq.widened(), buf.dk.widened(), buf.dv.widened()};
    const std::vector<float> *got[5] = {&out.lse, &out.o, &out.dq, &out.dk, &out.dv};
    const std::vector<double> *want[5] = {&ref.lse, &ref.o, &ref.dq, &ref.dk, &ref.dv};
    // The textbook's error of each output: the largest over the summation orders (check.h).
    OutputError text[5];
    std::vector<float> worstText[5];
    const int nOrders = std::getenv("ATTN_EMU_ORDERS") ? std::atoi(std::getenv("ATTN_EMU_ORDERS")) : 4;
    for (int k = 0; k < nOrders && k < 4; ++k) {
      const Tensors32 t = textbook32(p, x, kSumOrders[k]);
      const std::vector<float> *tb[5] = {&t.lse, &t.o, &t.dq, &t.dk, &t.dv};
      for (int n = 0; n < 5; ++n) {
        const OutputError e = output_error(*tb[n], *want[n]);
        if (k == 0 || e.maxAbs > text[n].maxAbs) {
          const double l2 = k == 0 ? 0 : text[n].l2;
          text[n] = e;
          text[n].l2 = std::max(e.l2, l2);
          worstText[n] = *tb[n];
        } else {
          text[n].l2 = std::max(text[n].l2, e.l2);
        }
      }
    }
    const double l2Gate[5] = {1e-5, 1e-5, 1e-4, 1e-4, 1e-4};
    const int nOut = fwdOnly ? 2 : 5;
    bool ok = true;
    std::string rule = "maxAbs kernel/textbook:", l2 = " | relL2:";
    for (int n = 0; n < nOut; ++n) {
      const OutputError e = output_error(*got[n], *want[n]), t = text[n];
      const AttnDtype outDtype = n == 0 ? AttnDtype::kFloat32 : dtype;  // the lse stays float32
      const bool rOk = passes_rule(e, t, ref.termScale[n], outDtype);
      const bool lOk = c.sigma != 1 || dtype != AttnDtype::kFloat32 || (e.bad == 0 && e.relL2 < l2Gate[n]);
      ok = ok && rOk && lOk;
      char s[128];
      char fl[48] = "";
      if (!rOk) std::snprintf(fl, sizeof fl, "!(floor %.1e)", rule_floor(ref.termScale[n], outDtype));
      std::snprintf(s, sizeof s, " %s %.2e/%.2e%s%s", names[n], e.maxAbs, t.maxAbs, fl,
                    e.bad ? (" bad " + std::to_string(e.bad)).c_str() : "");
      rule += s;
      std::snprintf(s, sizeof s, " %s %.2e%s", names[n], e.relL2, lOk ? "" : "!");
      l2 += s;
    }
    fails += !ok;
    if (std::getenv("ATTN_EMU_WORST"))
      for (int n = 0; n < nOut; ++n) {
        const size_t i = output_error(*got[n], *want[n]).worst;
        std::printf("  worst %s [%zu]: kernel %.9g textbook %.9g float64 %.9g\n", names[n], i, (*got[n])[i],
                    worstText[n][i], (*want[n])[i]);
      }
    const std::string inDtype = dtype == AttnDtype::kFloat32 ? "" : std::string(" ") + dtype_name(dtype);
    std::printf("%s %s sigma=%g bh=%d nq=%d nk=%d d=%d dv=%d causal=%d D=%d%s seed %u | %s%s\n", ok ? "ok  " : "FAIL",
                ran.c_str(), c.sigma, c.bh, c.nq, c.nk, c.d, c.dv, c.causal, D, inDtype.c_str(), seed, rule.c_str(),
                l2.c_str());
    if (std::getenv("ATTN_EMU_DIGEST")) {
      std::vector<const std::vector<float> *> outs(got, got + nOut);
      outs.push_back(&buf.lseLo);
      std::printf("  digest %016llx\n", (unsigned long long)digest(outs));
    }
    std::fflush(stdout);
  }
  std::printf("%d failed\n", fails);
  return fails != 0;
}
