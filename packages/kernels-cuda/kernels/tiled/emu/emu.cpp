// tiled/emu/emu.cpp — runs the CUDA kernels on the CPU and judges them: the tiled kernels (the versions that
// tiled/version.cuh's environment selects, dispatched as the launchers do) or the naive ones (their own launchers,
// kernels/*naive*.cu), all three stages, against a float64 reference and a textbook float32 attention (check.h).
// Why: this machine has no GPU; this catches indexing, tail, mask and barrier mistakes, and accuracy lost at large
// scores, before GPU time is spent. The execution model (threads as fibers, barriers, shuffles, the tensor cores'
// truncating mma, cp.async, poisoned shared memory): runtime.cpp. Not emulated: real GPU scheduling, the real exp2 /
// expf approximations, nvcc's FMA contraction where the code does not spell it out (__fmul_rn, fmaf), so
// compute-sanitizer and the verify runs on the GPU still rule.
//
// Build (from this folder), then run:
//   g++ -std=c++20 -O3 -pthread -ffp-contract=off -Ishim -I../.. -o /tmp/attn_emu emu.cpp runtime.cpp check.cpp \
//       -x c++ ../../lse_naive.cu ../../forward_naive.cu ../../backward_naive.cu ../../naive_pair_dot.cu \
//       ../../naive_matmul.cu ../../backward_delta.cu
//   /tmp/attn_emu [seed] [suite] [variant]
//     suite: odd (default: 25 odd shapes, N(0,1) inputs), scores (scaled scores with standard deviation sigma = 1, 8,
//            128, 1024 on N = 17..160, causal and not), big (stages 1 and 2 over 2048-4096 keys), bigbwd (all stages,
//            long dQ and dK/dV sums), case:bh,nq,nk,d,dv,causal,sigma (one case)
//     variant: tiled (default) or naive
//   Tiled versions: ATTN_CUDA_TILED_KERNEL / _LSE / _FWD / _BWD, ATTN_CUDA_TILED_CFG, ATTN_CUDA_TILED_SCORES as on the
//   GPU. Tensor-core model: ATTN_EMU_MMA=exact|trunc, ATTN_EMU_MMA_EXTRA=bits (runtime.cpp). Narrower runs:
//   ATTN_EMU_STAGES=fwd (stages 1 and 2 only), ATTN_EMU_BUCKETS=64,128 (only those head-dim buckets),
//   ATTN_EMU_ORDERS=1..4 (fewer textbook orders), ATTN_EMU_WORST=1 (print the worst element of every output);
//   ATTN_EMU_DROP_LSE_LO=1 (negative control: lse's low part zeroed after stage 1).
//   Races: add -DATTN_EMU_THREADS -fsanitize=thread (one OS thread per CUDA thread: minutes); out-of-bounds global
//   reads: -DATTN_EMU_THREADS -fsanitize=address,undefined.
// Judging, per output (lse, O, dQ, dK, dV): the rule of check.h — max |kernel − float64| <= 2 x max |textbook −
// float64| + 4 float32 ulps of the output's scale (the largest sum of |terms| behind one element) — at every sigma,
// where the textbook's error is the largest of four plain float32 attentions that differ only in the order of their
// sums (check.h: at sigma >= 128 one or two near-tied rows set the max, and a single order's error is a lucky or
// unlucky draw); and at sigma = 1 also the harness's relative L2 gates (lse, O < 1e-5; dQ, dK, dV < 1e-4). One line
// per case, "ok" or "FAIL", with the seed; then "N failed".
#include "cuda_runtime.h"
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include "check.h"
#include "naive.h"
#include "tiled/lse_kernel.cuh"
#include "tiled/forward_kernel.cuh"
#include "tiled/backward_kernel.cuh"
#include "tiled/forward_kernel2.cuh"
#include "tiled/lse_kernel2.cuh"
#include "tiled/backward_kernel2.cuh"
#include "tiled/forward_kernel3.cuh"
#include "tiled/forward_kernel4.cuh"
#include "tiled/lse_kernel3.cuh"
#include "tiled/backward_kernel3.cuh"
#include "tiled/version.cuh"

using namespace attn_tiled;

namespace {

struct Case { int bh, nq, nk, d, dv; bool causal; double sigma; };

// Device-side buffers of one run (the outputs poisoned first).
struct Buffers {
  Inputs x;
  Tensors32 out;
  std::vector<float> lseLo, delta, scratch;
  AttnTensors tensors() {
    return AttnTensors{x.q.data(), x.k.data(), x.v.data(), x.dO.data(), out.lse.data(), lseLo.data(), out.o.data(),
                       out.dq.data(), out.dk.data(), out.dv.data(), delta.data(),
                       scratch.empty() ? nullptr : scratch.data(), scratch.size() * sizeof(float)};
  }
};

void poison(std::vector<float> &v) {
  const uint32_t x = 0x7fdead00;
  for (auto &f : v) std::memcpy(&f, &x, 4);
}

void launch(unsigned grid, size_t smemBytes, const std::function<void()> &body, int nt = 256) {
  emu_run_grid(grid, (unsigned)nt, smemBytes, body);
}

// f.template operator()<LONG>() with LONG = long_score_chains(): the launchers' choice of score chains.
template <class F>
void with_chains(F &&f) {
  if (long_score_chains()) f.template operator()<true>(); else f.template operator()<false>();
}

// Negative control (ATTN_EMU_DROP_LSE_LO=1): lse's low part zeroed between stages 1 and 2, i.e. the single-float lse
// the kernels kept before lse_pair.cuh; the rule must then fail at large scores.
void after_lse(Buffers &buf) {
  if (std::getenv("ATTN_EMU_DROP_LSE_LO")) std::fill(buf.lseLo.begin(), buf.lseLo.end(), 0.f);
}

// The three stages of the tiled kernels, dispatched as lse_tiled.cu, forward_tiled.cu and backward_tiled.cu do for
// bucket D (stage 3 unless fwdOnly).
template <int D>
void run_tiled(const AttnProblem &p, Buffers &buf, bool fwdOnly) {
  const float *q = buf.x.q.data(), *k = buf.x.k.data(), *v = buf.x.v.data(), *dO = buf.x.dO.data();
  float *lse = buf.out.lse.data(), *lse_lo = buf.lseLo.data(), *o = buf.out.o.data(), *delta = buf.delta.data();
  float *dq = buf.out.dq.data(), *dk = buf.out.dk.data(), *dv = buf.out.dv.data();
  constexpr bool kMma = D == 64 || D == 128;  // versions 2+ exist for these buckets only
  unsigned g;
  tile_grid(p.bh, ceil_div(p.nq, FwdTraits<D>::BQ), &g);
  if constexpr (kMma) {
    if (stage_version(Stage::Lse) == 3) {
      auto run = [&]<int CFG>() {
        using T3 = Lse3Traits<D, CFG>;
        unsigned g3;
        tile_grid(p.bh, ceil_div(p.nq, T3::BQ), &g3);
        with_chains([&]<bool LONG>() { launch(g3, T3::bytes, [&] { lse_tiled_kernel3<D, CFG, LONG>(p, q, k, lse, lse_lo); }, T3::NT); });
      };
      if (shape_for<Lse3Traits<D, 0>>(p) == 1) run.template operator()<1>(); else run.template operator()<0>();
    } else if (stage_version(Stage::Lse) == 2) {
      unsigned g2;
      tile_grid(p.bh, ceil_div(p.nq, Lse2Traits<D>::BQ), &g2);
      launch(g2, Lse2Traits<D>::bytes, [&] { lse_tiled_kernel2<D>(p, q, k, lse, lse_lo); }, Lse2Traits<D>::NT);
    } else {
      launch(g, LseSmem<D>::bytes, [&] { lse_tiled_kernel1<D>(p, q, k, lse, lse_lo); });
    }
  } else {
    launch(g, LseSmem<D>::bytes, [&] { lse_tiled_kernel1<D>(p, q, k, lse, lse_lo); });
  }
  after_lse(buf);
  if constexpr (kMma) {
    if (stage_version(Stage::Fwd) == 4) {
      auto run = [&]<int CFG>() {
        using T4 = Fwd4Traits<D, CFG>;
        unsigned g4;
        tile_grid(p.bh, ceil_div(p.nq, T4::BQ), &g4);
        with_chains([&]<bool LONG>() { launch(g4, T4::bytes, [&] { forward_tiled_kernel4<D, CFG, LONG>(p, q, k, v, lse, lse_lo, o); }, T4::NT); });
      };
      if (shape_for<Fwd4Traits<D, 0>>(p) == 1) run.template operator()<1>(); else run.template operator()<0>();
    } else if (stage_version(Stage::Fwd) == 3) {
      using T3 = Fwd3Traits<D>;
      unsigned g3;
      tile_grid(p.bh, ceil_div(p.nq, T3::BQ), &g3);
      if (fwd3_vec(p, k, v))
        launch(g3, T3::bytes, [&] { forward_tiled_kernel3<D, true>(p, q, k, v, lse, lse_lo, o); }, T3::NT);
      else
        launch(g3, T3::bytes, [&] { forward_tiled_kernel3<D, false>(p, q, k, v, lse, lse_lo, o); }, T3::NT);
    } else if (stage_version(Stage::Fwd) == 2) {
      unsigned g2;
      tile_grid(p.bh, ceil_div(p.nq, Fwd2Traits<D>::BQ), &g2);
      launch(g2, Fwd2Traits<D>::bytes, [&] { forward_tiled_kernel2<D>(p, q, k, v, lse, lse_lo, o); }, Fwd2Traits<D>::NT);
    } else {
      launch(g, FwdSmem<D>::bytes, [&] { forward_tiled_kernel1<D>(p, q, k, v, lse, lse_lo, o); });
    }
  } else {
    launch(g, FwdSmem<D>::bytes, [&] { forward_tiled_kernel1<D>(p, q, k, v, lse, lse_lo, o); });
  }
  if (fwdOnly) return;
  attn_backward_delta(p, buf.tensors(), nullptr);
  if constexpr (D == 64 || D == 128) {
    if (stage_version(Stage::Bwd) == 3) {
      using KV = BwdKV3Traits<D>;
      using Q3 = BwdQ3Traits<D>;
      with_chains([&]<bool LONG>() {
        tile_grid(p.bh, ceil_div(p.nk, KV::BK), &g);
        launch(g, KV::bytes, [&] { backward_dkdv_tiled_kernel3<D, LONG>(p, q, k, v, dO, lse, lse_lo, delta, dk, dv); }, KV::NT);
        tile_grid(p.bh, ceil_div(p.nq, Q3::BQ), &g);
        launch(g, Q3::bytes, [&] { backward_dq_tiled_kernel3<D, LONG>(p, q, k, v, dO, lse, lse_lo, delta, dq); }, Q3::NT);
      });
      return;
    }
    if (stage_version(Stage::Bwd) == 2) {
      tile_grid(p.bh, ceil_div(p.nk, BwdKV2Traits<D>::BK), &g);
      launch(g, BwdKV2Traits<D>::bytes, [&] { backward_dkdv_tiled_kernel2<D>(p, q, k, v, dO, lse, lse_lo, delta, dk, dv); }, BwdKV2Traits<D>::NT);
      tile_grid(p.bh, ceil_div(p.nq, BwdQ2Traits<D>::BQ), &g);
      launch(g, BwdQ2Traits<D>::bytes, [&] { backward_dq_tiled_kernel2<D>(p, q, k, v, dO, lse, lse_lo, delta, dq); }, BwdQ2Traits<D>::NT);
      return;
    }
  }
  tile_grid(p.bh, ceil_div(p.nk, BwdKVTraits<D>::BK), &g);
  launch(g, BwdKVSmem<D>::bytes, [&] { backward_dkdv_tiled_kernel1<D>(p, q, k, v, dO, lse, lse_lo, delta, dk, dv); });
  tile_grid(p.bh, ceil_div(p.nq, BwdQTraits<D>::BQ), &g);
  launch(g, BwdQSmem<D>::bytes, [&] { backward_dq_tiled_kernel1<D>(p, q, k, v, dO, lse, lse_lo, delta, dq); });
}

// The naive stages through their own launchers (kernels/*naive*.cu).
void run_naive(const AttnProblem &p, Buffers &buf, bool fwdOnly) {
  buf.scratch.assign(attn_naive_scratch_bytes(p) / sizeof(float), 0.f);
  poison(buf.scratch);
  const AttnTensors t = buf.tensors();
  attn_lse_naive(p, t, nullptr);
  after_lse(buf);
  attn_forward_naive(p, t, nullptr);
  if (!fwdOnly) attn_backward_naive(p, t, nullptr);
}

int bucket(const Case &c) {
  const int m = std::max(c.d, c.dv);
  return m <= 32 ? 32 : m <= 64 ? 64 : m <= 128 ? 128 : 256;
}

// Which kernels ran: "naive", or the tiled stage versions of this bucket ("tiled 3/4/3").
std::string kernels_label(bool naive, int D) {
  if (naive) return "naive";
  if (D != 64 && D != 128) return "tiled 1/1/1";
  return "tiled " + std::to_string(stage_version(Stage::Lse)) + "/" + std::to_string(stage_version(Stage::Fwd)) + "/" +
         std::to_string(stage_version(Stage::Bwd));
}

std::vector<Case> odd_cases() {
  std::vector<Case> cases = {
    {2, 1, 1, 1, 1, false}, {2, 1, 1, 1, 1, true}, {2, 17, 17, 5, 7, true}, {1, 129, 129, 64, 64, true},
    {1, 17, 129, 33, 40, true}, {1, 129, 17, 64, 64, true}, {1, 70, 65, 128, 100, false},
    {1, 40, 33, 256, 256, true}, {1, 33, 70, 200, 130, true}, {3, 65, 129, 32, 32, false},
    {1, 100, 100, 96, 96, true}, {2, 257, 300, 256, 256, true}, {1, 300, 257, 64, 64, false}, {1, 300, 257, 128, 128, true},
    {2, 131, 97, 20, 60, true}, {1, 1, 200, 17, 3, true}, {1, 200, 1, 3, 17, true},
    // N = 1 / 17 / 129 in the D = 64 and 128 buckets; d not a multiple of 4 with dv a multiple (mixed copy paths)
    {2, 1, 1, 64, 64, false}, {1, 1, 129, 100, 128, true}, {1, 17, 1, 61, 64, true}, {2, 129, 17, 128, 77, false},
    {1, 17, 129, 66, 36, false}, {1, 129, 129, 128, 128, true},
    // one key: dS = P (dP - delta) cancels to exactly 0, so dQ / dK are judged by their absolute L2 (H100 verify
    // run 5: backward v3 at 1.7e-4, over the 1e-4 gate, with one mma chain per dP)
    {2, 129, 1, 128, 128, false}, {2, 129, 1, 64, 64, true},
  };
  for (auto &c : cases) c.sigma = 1;
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

}  // namespace

int main(int argc, char **argv) {
  const unsigned seed = argc > 1 ? (unsigned)std::atoi(argv[1]) : 1234;
  const std::string suite = argc > 2 ? argv[2] : "odd";
  const std::string variant = argc > 3 ? argv[3] : "tiled";
  if (variant != "tiled" && variant != "naive") { std::printf("variant must be tiled or naive, not %s\n", variant.c_str()); return 2; }
  const bool naive = variant == "naive";
  bool fwdOnly = false;
  std::vector<Case> cases;
  if (suite == "odd") {
    cases = odd_cases();
  } else if (suite == "scores") {
    cases = score_cases();
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
    std::printf("suite must be odd, scores, big, bigbwd or case:bh,nq,nk,d,dv,causal,sigma, not %s\n", suite.c_str());
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
    const AttnProblem p{c.bh, c.nq, c.nk, c.d, c.dv, (float)(1.0 / std::sqrt((double)c.d)), c.causal};
    Buffers buf;
    buf.x = make_inputs(p, c.sigma, seed);
    const size_t rows = (size_t)c.bh * c.nq;
    buf.out = Tensors32{std::vector<float>(rows), std::vector<float>(rows * c.dv), std::vector<float>(rows * c.d),
                        std::vector<float>((size_t)c.bh * c.nk * c.d), std::vector<float>((size_t)c.bh * c.nk * c.dv)};
    buf.lseLo.resize(rows);
    buf.delta.resize(rows);
    for (auto *a : {&buf.out.lse, &buf.lseLo, &buf.out.o, &buf.out.dq, &buf.out.dk, &buf.out.dv, &buf.delta}) poison(*a);
    const int D = bucket(c);
    if (naive) run_naive(p, buf, fwdOnly);
    else if (D == 32) run_tiled<32>(p, buf, fwdOnly);
    else if (D == 64) run_tiled<64>(p, buf, fwdOnly);
    else if (D == 128) run_tiled<128>(p, buf, fwdOnly);
    else run_tiled<256>(p, buf, fwdOnly);

    const Tensors64 ref = reference64(p, buf.x);
    const char *names[5] = {"lse", "o", "dq", "dk", "dv"};
    const std::vector<float> *got[5] = {&buf.out.lse, &buf.out.o, &buf.out.dq, &buf.out.dk, &buf.out.dv};
    const std::vector<double> *want[5] = {&ref.lse, &ref.o, &ref.dq, &ref.dk, &ref.dv};
    // The textbook's error of each output: the largest over the summation orders (check.h).
    OutputError text[5];
    std::vector<float> worstText[5];
    const int nOrders = std::getenv("ATTN_EMU_ORDERS") ? std::atoi(std::getenv("ATTN_EMU_ORDERS")) : 4;
    for (int k = 0; k < nOrders && k < 4; ++k) {
      const Tensors32 t = textbook32(p, buf.x, kSumOrders[k]);
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
      const bool rOk = passes_rule(e, t, ref.termScale[n]);
      const bool lOk = c.sigma != 1 || (e.bad == 0 && e.relL2 < l2Gate[n]);
      ok = ok && rOk && lOk;
      char s[128];
      char fl[48] = "";
      if (!rOk) std::snprintf(fl, sizeof fl, "!(floor %.1e)", rule_floor(ref.termScale[n]));
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
    std::printf("%s %s sigma=%g bh=%d nq=%d nk=%d d=%d dv=%d causal=%d D=%d seed %u | %s%s\n", ok ? "ok  " : "FAIL",
                kernels_label(naive, D).c_str(), c.sigma, c.bh, c.nq, c.nk, c.d, c.dv, c.causal, D, seed, rule.c_str(),
                l2.c_str());
    std::fflush(stdout);
  }
  std::printf("%d failed\n", fails);
  return fails != 0;
}
