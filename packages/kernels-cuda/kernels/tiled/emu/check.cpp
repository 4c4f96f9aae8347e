// tiled/emu/check.cpp — inputs, the float64 reference, the textbook float32 attention and the rule (check.h).
#include "check.h"
#include <algorithm>
#include <cmath>
#include <random>

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
  return x;
}

Tensors64 reference64(const AttnProblem &p, const Inputs &x) {
  const int nq = p.nq, nk = p.nk, d = p.d, dv = p.dv;
  const size_t bh = p.bh;
  Tensors64 r{std::vector<double>(bh * nq), std::vector<double>(bh * nq * dv, 0.0), std::vector<double>(bh * nq * d, 0.0),
              std::vector<double>(bh * nk * d, 0.0), std::vector<double>(bh * nk * dv, 0.0)};
  // sums of |terms| (Tensors64::termScale), per element
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
        double t = 0;
        for (int e = 0; e < d; ++e) t += (double)qi[e] * kj[e];
        s[j] = p.scale * t;
        mx = std::max(mx, s[j]);
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
  r.termScale[0] = maxOf(r.lse);
  r.termScale[1] = maxOf(ao);
  r.termScale[2] = maxOf(adq);
  r.termScale[3] = maxOf(adk);
  r.termScale[4] = maxOf(adv);
  return r;
}

Tensors32 textbook32(const AttnProblem &p, const Inputs &x) {
  const int nq = p.nq, nk = p.nk, d = p.d, dv = p.dv;
  const size_t bh = p.bh;
  Tensors32 r{std::vector<float>(bh * nq), std::vector<float>(bh * nq * dv, 0.f), std::vector<float>(bh * nq * d, 0.f),
              std::vector<float>(bh * nk * d, 0.f), std::vector<float>(bh * nk * dv, 0.f)};
  std::vector<float> P((size_t)nq * nk), dS((size_t)nq * nk);
  for (int b = 0; b < p.bh; ++b) {
    std::fill(P.begin(), P.end(), 0.f);
    std::fill(dS.begin(), dS.end(), 0.f);
    for (int i = 0; i < nq; ++i) {
      const size_t row = (size_t)b * nq + i;
      const int cnt = visible_count(p, i);
      const float *qi = &x.q[row * d], *doi = &x.dO[row * dv];
      float *pi = &P[(size_t)i * nk], *dsi = &dS[(size_t)i * nk];
      float m = -INFINITY;
      for (int j = 0; j < cnt; ++j) {
        const float *kj = &x.k[((size_t)b * nk + j) * d];
        float acc = 0.f;
        for (int e = 0; e < d; ++e) acc = std::fma(qi[e], kj[e], acc);
        pi[j] = acc * p.scale;
        m = std::max(m, pi[j]);
      }
      float l = 0.f;
      for (int j = 0; j < cnt; ++j) {
        pi[j] = std::exp(pi[j] - m);
        l += pi[j];
      }
      r.lse[row] = cnt ? m + std::log(l) : -INFINITY;
      for (int j = 0; j < cnt; ++j) pi[j] /= l;
      float *o = &r.o[row * dv];
      for (int c = 0; c < dv; ++c) {
        float acc = 0.f;
        for (int j = 0; j < cnt; ++j) acc = std::fma(pi[j], x.v[((size_t)b * nk + j) * dv + c], acc);
        o[c] = acc;
      }
      float D = 0.f;
      for (int c = 0; c < dv; ++c) D = std::fma(doi[c], o[c], D);
      for (int j = 0; j < cnt; ++j) {
        const float *vj = &x.v[((size_t)b * nk + j) * dv];
        float dp = 0.f;
        for (int c = 0; c < dv; ++c) dp = std::fma(doi[c], vj[c], dp);
        dsi[j] = pi[j] * (dp - D);
      }
      for (int e = 0; e < d; ++e) {
        float acc = 0.f;
        for (int j = 0; j < cnt; ++j) acc = std::fma(dsi[j], x.k[((size_t)b * nk + j) * d + e], acc);
        r.dq[row * d + e] = acc * p.scale;
      }
    }
    for (int j = 0; j < nk; ++j) {
      const size_t key = (size_t)b * nk + j;
      for (int e = 0; e < d; ++e) {
        float acc = 0.f;
        for (int i = 0; i < nq; ++i) acc = std::fma(dS[(size_t)i * nk + j], x.q[((size_t)b * nq + i) * d + e], acc);
        r.dk[key * d + e] = acc * p.scale;
      }
      for (int c = 0; c < dv; ++c) {
        float acc = 0.f;
        for (int i = 0; i < nq; ++i) acc = std::fma(P[(size_t)i * nk + j], x.dO[((size_t)b * nq + i) * dv + c], acc);
        r.dv[key * dv + c] = acc;
      }
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
    r.maxAbs = std::max(r.maxAbs, e);
    r.refMax = std::max(r.refMax, std::fabs(ref[i]));
    num += e * e;
    den += ref[i] * ref[i];
  }
  r.relL2 = den == 0 ? std::sqrt(num) : std::sqrt(num / den);
  return r;
}

double ulp32(double x) {
  x = std::fabs(x);
  if (x < 0x1p-126) return 0x1p-149;
  int e;
  std::frexp(x, &e);  // x in [2^(e-1), 2^e)
  return std::ldexp(1.0, e - 1 - 23);
}

double rule_floor(double termScale) { return kFloorUlps * ulp32(termScale); }

bool passes_rule(const OutputError &kernel, const OutputError &textbook, double termScale) {
  return kernel.bad == 0 && kernel.maxAbs <= kTextbookFactor * textbook.maxAbs + rule_floor(termScale);
}
