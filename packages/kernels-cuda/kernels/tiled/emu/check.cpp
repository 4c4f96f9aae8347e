// tiled/emu/check.cpp — inputs, the float64 reference, the textbook float32 attention and the rule (check.h).
#include "check.h"
#include <algorithm>
#include <cmath>
#include <random>
#include "storage.cuh"

namespace {

int visible_count(const AttnProblem &p, int i) {
  return p.causal ? std::max(0, std::min(p.nk, i + p.nk - p.nq + 1)) : p.nk;
}

}  // namespace

Inputs make_inputs(const AttnProblem &p, double sigma, unsigned seed) {
  std::mt19937 gen(seed);
  std::normal_distribution<float> nd(0, 1);
  const size_t bh = p.bh;
  Inputs x{std::vector<float>(bh * p.nq * p.d), std::vector<float>(bh * p.nk * p.d), std::vector<float>(bh * p.nk * p.dv),
           std::vector<float>(bh * p.nq * p.dv)};
  const float qk = (float)std::sqrt(sigma);
  for (auto &e : x.q) e = qk * nd(gen);
  for (auto &e : x.k) e = qk * nd(gen);
  for (auto &e : x.v) e = nd(gen);
  for (auto &e : x.dO) e = nd(gen);
  for (auto *t : {&x.q, &x.k, &x.v, &x.dO})
    for (auto &e : *t) e = round_to(p.dtype, e);
  return x;
}

float round_to(AttnDtype dtype, float x) {
  return attn::with_dtype(dtype, [x](auto tag) {
    using T = typename decltype(tag)::type;
    return attn::to_float(attn::from_float<T>(x));
  });
}

double ulp_of(AttnDtype dtype, double x) {
  if (dtype == AttnDtype::kFloat32) return ulp32(x);
  const int mantissa = dtype == AttnDtype::kFloat16 ? 10 : 7, minExp = dtype == AttnDtype::kFloat16 ? -14 : -126;
  const double a = std::fabs(x);
  const int e = a > 0 ? std::max((int)std::floor(std::log2(a)), minExp) : minExp;
  return std::ldexp(1.0, e - mantissa);
}

Tensors64 reference64(const AttnProblem &p, const Inputs &x) {
  const int nq = p.nq, nk = p.nk, d = p.d, dv = p.dv;
  const size_t bh = p.bh;
  Tensors64 r{std::vector<double>(bh * nq), std::vector<double>(bh * nq * dv, 0.0), std::vector<double>(bh * nq * d, 0.0),
              std::vector<double>(bh * nk * d, 0.0), std::vector<double>(bh * nk * dv, 0.0)};
  // sums of |terms| (Tensors64::termScale), per element; lse: the largest score's, scale sum_c |q_c k_c|
  double lseTerms = 0;
  std::vector<double> ao(bh * nq * dv, 0.0), adq(bh * nq * d, 0.0), adk(bh * nk * d, 0.0), adv(bh * nk * dv, 0.0);
  for (int b = 0; b < p.bh; ++b)
    for (int i = 0; i < nq; ++i) {
      const size_t row = (size_t)b * nq + i;
      const int cnt = visible_count(p, i);
      const float *qi = &x.q[row * d], *doi = &x.dO[row * dv];
      std::vector<double> s(cnt);
      double mx = -INFINITY;
      for (int j = 0; j < cnt; ++j) {
        const float *kj = &x.k[((size_t)b * nk + j) * d];
        double t = 0, ta = 0;
        for (int e = 0; e < d; ++e) {
          t += (double)qi[e] * kj[e];
          ta += std::fabs((double)qi[e] * kj[e]);
        }
        s[j] = p.scale * t;
        mx = std::max(mx, s[j]);
        lseTerms = std::max(lseTerms, p.scale * ta);
      }
      double L = -INFINITY;
      if (cnt) {
        double sum = 0;
        for (int j = 0; j < cnt; ++j) sum += std::exp(s[j] - mx);
        L = mx + std::log(sum);
      }
      r.lse[row] = L;
      double *o = &r.o[row * dv];
      for (int j = 0; j < cnt; ++j) {
        const double w = std::exp(s[j] - L);
        const float *vj = &x.v[((size_t)b * nk + j) * dv];
        for (int c = 0; c < dv; ++c) {
          o[c] += w * vj[c];
          ao[row * dv + c] += w * std::fabs(vj[c]);
        }
      }
      double D = 0, Dabs = 0;
      for (int c = 0; c < dv; ++c) {
        D += (double)doi[c] * o[c];
        Dabs += std::fabs((double)doi[c] * o[c]);
      }
      for (int j = 0; j < cnt; ++j) {
        const size_t key = (size_t)b * nk + j;
        const float *kj = &x.k[key * d], *vj = &x.v[key * dv];
        double pr = std::exp(s[j] - L), dp = 0, dpAbs = 0;
        for (int c = 0; c < dv; ++c) {
          dp += (double)doi[c] * vj[c];
          dpAbs += std::fabs((double)doi[c] * vj[c]);
        }
        const double ds = pr * (dp - D), dsAbs = pr * (dpAbs + Dabs);
        for (int e = 0; e < d; ++e) {
          r.dq[row * d + e] += p.scale * ds * kj[e];
          r.dk[key * d + e] += p.scale * ds * qi[e];
          adq[row * d + e] += p.scale * dsAbs * std::fabs(kj[e]);
          adk[key * d + e] += p.scale * dsAbs * std::fabs(qi[e]);
        }
        for (int c = 0; c < dv; ++c) {
          r.dv[key * dv + c] += pr * doi[c];
          adv[key * dv + c] += pr * std::fabs(doi[c]);
        }
      }
    }
  auto maxOf = [](const std::vector<double> &a) {
    double m = 0;
    for (double x : a)
      if (std::isfinite(x)) m = std::max(m, std::fabs(x));
    return m;
  };
  r.termScale[0] = std::max(maxOf(r.lse), lseTerms);
  r.termScale[1] = maxOf(ao);
  r.termScale[2] = maxOf(adq);
  r.termScale[3] = maxOf(adk);
  r.termScale[4] = maxOf(adv);
  return r;
}

namespace {

// sum_i a[i sa] b[i sb], i < n, in float32 (fmaf) in one of the orders a plain implementation may use.
float dot32(const float *a, size_t sa, const float *b, size_t sb, int n, SumOrder o) {
  float acc = 0.f;
  switch (o) {
    case SumOrder::kForward:
      for (int i = 0; i < n; ++i) acc = std::fma(a[i * sa], b[i * sb], acc);
      return acc;
    case SumOrder::kReverse:
      for (int i = n - 1; i >= 0; --i) acc = std::fma(a[i * sa], b[i * sb], acc);
      return acc;
    case SumOrder::kPairwise:
      if (n <= 8) return dot32(a, sa, b, sb, n, SumOrder::kForward);
      return dot32(a, sa, b, sb, n / 2, o) + dot32(a + n / 2 * sa, sa, b + n / 2 * sb, sb, n - n / 2, o);
    case SumOrder::kBlocked8:
      for (int i0 = 0; i0 < n; i0 += 8) acc += dot32(a + i0 * sa, sa, b + i0 * sb, sb, std::min(8, n - i0), SumOrder::kForward);
      return acc;
  }
  return acc;
}

}  // namespace

Tensors32 textbook32(const AttnProblem &p, const Inputs &x, SumOrder order) {
  const int nq = p.nq, nk = p.nk, d = p.d, dv = p.dv;
  const size_t bh = p.bh;
  Tensors32 r{std::vector<float>(bh * nq), std::vector<float>(bh * nq * dv, 0.f), std::vector<float>(bh * nq * d, 0.f),
              std::vector<float>(bh * nk * d, 0.f), std::vector<float>(bh * nk * dv, 0.f)};
  std::vector<float> P((size_t)nq * nk), dS((size_t)nq * nk);
  const float one = 1.f;
  const auto st = [&](float v) { return round_to(p.dtype, v); };  // stored in the dtype (float32: v)
  for (int b = 0; b < p.bh; ++b) {
    std::fill(P.begin(), P.end(), 0.f);
    std::fill(dS.begin(), dS.end(), 0.f);
    const float *kb = &x.k[(size_t)b * nk * d], *vb = &x.v[(size_t)b * nk * dv];
    const float *qb = &x.q[(size_t)b * nq * d], *dob = &x.dO[(size_t)b * nq * dv];
    for (int i = 0; i < nq; ++i) {
      const size_t row = (size_t)b * nq + i;
      const int cnt = visible_count(p, i);
      const float *qi = &qb[(size_t)i * d], *doi = &dob[(size_t)i * dv];
      float *pi = &P[(size_t)i * nk], *dsi = &dS[(size_t)i * nk];
      float m = -INFINITY;
      for (int j = 0; j < cnt; ++j) {
        pi[j] = dot32(qi, 1, &kb[(size_t)j * d], 1, d, order) * p.scale;
        m = std::max(m, pi[j]);
      }
      for (int j = 0; j < cnt; ++j) pi[j] = std::exp(pi[j] - m);
      const float l = dot32(pi, 1, &one, 0, cnt, order);
      r.lse[row] = cnt ? m + std::log(l) : -INFINITY;
      for (int j = 0; j < cnt; ++j) pi[j] = st(pi[j] / l);
      float *o = &r.o[row * dv];
      for (int c = 0; c < dv; ++c) o[c] = st(dot32(pi, 1, &vb[c], dv, cnt, order));
      const float D = dot32(doi, 1, o, 1, dv, order);
      for (int j = 0; j < cnt; ++j) dsi[j] = st(pi[j] * (dot32(doi, 1, &vb[(size_t)j * dv], 1, dv, order) - D));
      for (int e = 0; e < d; ++e) r.dq[row * d + e] = st(dot32(dsi, 1, &kb[e], d, cnt, order) * p.scale);
    }
    for (int j = 0; j < nk; ++j) {
      const size_t key = (size_t)b * nk + j;
      for (int e = 0; e < d; ++e) r.dk[key * d + e] = st(dot32(&dS[j], nk, &qb[e], d, nq, order) * p.scale);
      for (int c = 0; c < dv; ++c) r.dv[key * dv + c] = st(dot32(&P[j], nk, &dob[c], dv, nq, order));
    }
  }
  return r;
}

OutputError output_error(const std::vector<float> &x, const std::vector<double> &ref) {
  OutputError r;
  double num = 0, den = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(ref[i])) {
      if (!((double)x[i] == ref[i])) ++r.bad;
      continue;
    }
    if (!std::isfinite(x[i])) {
      ++r.bad;
      continue;
    }
    const double e = std::fabs((double)x[i] - ref[i]);
    if (e > r.maxAbs) {
      r.maxAbs = e;
      r.worst = i;
    }
    r.refMax = std::max(r.refMax, std::fabs(ref[i]));
    num += e * e;
    den += ref[i] * ref[i];
    ++r.n;
  }
  r.relL2 = den == 0 ? std::sqrt(num) : std::sqrt(num / den);
  r.l2 = std::sqrt(num);
  return r;
}

double ulp32(double x) {
  x = std::fabs(x);
  if (x < 0x1p-126) return 0x1p-149;
  int e;
  std::frexp(x, &e);  // x in [2^(e-1), 2^e)
  return std::ldexp(1.0, e - 1 - 23);
}

double rule_floor(double termScale, AttnDtype dtype) {
  return dtype == AttnDtype::kFloat32 ? kFloorUlps * ulp32(termScale) : kHalfFloorUlps * ulp_of(dtype, termScale);
}

bool passes_rule(const OutputError &kernel, const OutputError &textbook, double termScale, AttnDtype dtype) {
  const double floor = rule_floor(termScale, dtype);
  return kernel.bad == 0 && kernel.maxAbs <= kTextbookFactor * textbook.maxAbs + floor &&
         kernel.l2 <= kTextbookFactor * textbook.l2 + floor * std::sqrt((double)kernel.n);
}
