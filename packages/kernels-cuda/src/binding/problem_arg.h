// problem_arg.h — JS values to the C++ problem, variant and stage types, each failure one clear line.
#pragma once
#include <napi.h>
#include <string>
#include <vector>
#include "attention.h"
#include "device_session.h"

namespace attn_binding {

AttnProblem problem_from(const Napi::Value &v);
Variant variant_from(const Napi::Value &v);
std::vector<Stage> stages_from(const Napi::Value &v);

}  // namespace attn_binding
