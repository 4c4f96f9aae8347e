#include "problem_arg.h"

#include <climits>
#include <cmath>

namespace attn_binding {

namespace {

int int_field(const Napi::Object &o, const char *name) {
  const Napi::Value v = o.Get(name);
  const double x = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : NAN;
  if (!(x >= 1 && x <= INT_MAX && std::floor(x) == x)) {
    throw Napi::TypeError::New(o.Env(), std::string("problem.") + name + " must be an integer in [1, 2^31-1]");
  }
  return static_cast<int>(x);
}

}  // namespace

AttnProblem problem_from(const Napi::Value &v) {
  if (!v.IsObject()) {
    throw Napi::TypeError::New(v.Env(), "problem must be an object {bh, nq, nk, d, dv, scale, causal[, dtype]}");
  }
  const Napi::Object o = v.As<Napi::Object>();
  AttnProblem p{};
  p.bh = int_field(o, "bh");
  p.nq = int_field(o, "nq");
  p.nk = int_field(o, "nk");
  p.d = int_field(o, "d");
  p.dv = int_field(o, "dv");
  const Napi::Value scale = o.Get("scale");
  if (!scale.IsNumber() || !std::isfinite(scale.As<Napi::Number>().DoubleValue())) {
    throw Napi::TypeError::New(v.Env(), "problem.scale must be a finite number");
  }
  p.scale = static_cast<float>(scale.As<Napi::Number>().DoubleValue());
  p.causal = o.Get("causal").ToBoolean().Value();
  const Napi::Value dtype = o.Get("dtype");
  const std::string name = dtype.IsString() ? dtype.As<Napi::String>().Utf8Value() : dtype.IsUndefined() ? "float32" : "";
  if (name == "float32") p.dtype = AttnDtype::kFloat32;
  else if (name == "float16") p.dtype = AttnDtype::kFloat16;
  else if (name == "bfloat16") p.dtype = AttnDtype::kBFloat16;
  else throw Napi::TypeError::New(v.Env(), "problem.dtype must be 'float32', 'float16' or 'bfloat16'");
  return p;
}

Variant variant_from(const Napi::Value &v) {
  const std::string s = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (s == "naive") return Variant::kNaive;
  if (s == "tiled") return Variant::kTiled;
  throw Napi::TypeError::New(v.Env(), "variant must be 'naive' or 'tiled'");
}

AttnTiledChoice choice_from(const Napi::Value &v) {
  AttnTiledChoice c = kAttnTiledDefaults;
  if (v.IsUndefined()) return c;
  const char *shape = "choice must be {lse, forward, backward: integer >= 0, shape: -1 | 0 | 1, longScores: boolean}";
  if (!v.IsObject()) throw Napi::TypeError::New(v.Env(), shape);
  const Napi::Object o = v.As<Napi::Object>();
  const char *names[3] = {"lse", "forward", "backward"};
  for (int s = 0; s < 3; s++) {
    const Napi::Value x = o.Get(names[s]);
    const double n = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : -1;
    if (!(n >= 0 && n <= 1000 && std::floor(n) == n)) throw Napi::TypeError::New(v.Env(), shape);
    c.version[s] = static_cast<int>(n);
  }
  const Napi::Value sh = o.Get("shape");
  const double n = sh.IsNumber() ? sh.As<Napi::Number>().DoubleValue() : -2;
  if (n != -1 && n != 0 && n != 1) throw Napi::TypeError::New(v.Env(), shape);
  c.shape = static_cast<int>(n);
  const Napi::Value ls = o.Get("longScores");
  if (!ls.IsBoolean()) throw Napi::TypeError::New(v.Env(), shape);
  c.longScores = ls.As<Napi::Boolean>().Value();
  return c;
}

std::vector<Stage> stages_from(const Napi::Value &v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "stages must be an array of 'lse' | 'forward' | 'backward'");
  const Napi::Array a = v.As<Napi::Array>();
  std::vector<Stage> out;
  for (uint32_t i = 0; i < a.Length(); i++) {
    const Napi::Value s = a.Get(i);
    const std::string name = s.IsString() ? s.As<Napi::String>().Utf8Value() : "";
    if (name == "lse") out.push_back(Stage::kLse);
    else if (name == "forward") out.push_back(Stage::kForward);
    else if (name == "backward") out.push_back(Stage::kBackward);
    else throw Napi::TypeError::New(v.Env(), "unknown stage '" + name + "' (stages: lse, forward, backward)");
  }
  return out;
}

}  // namespace attn_binding
