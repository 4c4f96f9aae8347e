// problem_arg.h — JS values to the C++ problem, variant, kernel choice and stage types, each failure one clear line.
#pragma once
#include <napi.h>
#include <string>
#include <vector>
#include "attention.h"
#include "device_session.h"

namespace attn_binding {

AttnProblem problem_from(const Napi::Value &v);
Variant variant_from(const Napi::Value &v);
// undefined -> kAttnTiledDefaults; else {lse, forward, backward: version (0 = default), shape: -1 | 0 | 1,
// longScores: boolean} (what the TypeScript backend parses from 'tiled@…')
AttnTiledChoice choice_from(const Napi::Value &v);
std::vector<Stage> stages_from(const Napi::Value &v);

}  // namespace attn_binding
