// common.wgsl — prepended by the host (src/shader-source.ts) to every stage shader, after the generated constants.
// Problem shape and the bottom-right causal rule (query i sees key j iff j <= i + nk - nq), in u32 without negatives.

struct Params {
  bh: u32,
  nq: u32,
  nk: u32,
  d: u32,
  dv: u32,
  causal: u32,
  scale: f32,
  // -inf, supplied at run time: a constant -inf is a shader-creation error in WGSL
  neg_inf: f32,
}
@group(0) @binding(0) var<uniform> params: Params;

// Start of the running max: finite, so no inf ever enters the arithmetic.
const LOWEST: f32 = -3.0e38;

fn sees(i: u32, j: u32) -> bool {
  return params.causal == 0u || j + params.nq <= i + params.nk;
}

// One past the last key query i sees (0 when it sees none).
fn key_end(i: u32) -> u32 {
  if (params.causal == 0u) { return params.nk; }
  if (i + params.nk < params.nq) { return 0u; }
  return min(params.nk, i + params.nk + 1u - params.nq);
}

// First query that sees key j (nq when none does).
fn query_start(j: u32) -> u32 {
  if (params.causal == 0u || j + params.nq <= params.nk) { return 0u; }
  return min(params.nq, j + params.nq - params.nk);
}

// Work items are flattened over a 2-D grid so BH·tiles may exceed 65535 workgroups per dimension.
fn work_item(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Online logsumexp state (m, l): lse = m + log(l); l == 0 means no key yet.
struct Lse {
  m: f32,
  l: f32,
}

fn lse_push(s: Lse, x: f32) -> Lse {
  if (s.l == 0.0) { return Lse(x, 1.0); }
  if (x > s.m) { return Lse(x, s.l * exp(s.m - x) + 1.0); }
  return Lse(s.m, s.l + exp(x - s.m));
}

fn lse_merge(a: Lse, b: Lse) -> Lse {
  if (b.l == 0.0) { return a; }
  if (a.l == 0.0) { return b; }
  let m = max(a.m, b.m);
  return Lse(m, a.l * exp(a.m - m) + b.l * exp(b.m - m));
}

fn lse_value(s: Lse) -> f32 {
  if (s.l == 0.0) { return params.neg_inf; }
  return s.m + log(s.l);
}

// Whether every query of [i0, i0 + ni) exists and sees every key of [j0, j0 + nj), which also exist: such a tile
// needs no mask (tiled kernel 5 skips the per-score tests there).
fn all_visible(i0: u32, ni: u32, j0: u32, nj: u32) -> bool {
  return i0 + ni <= params.nq && j0 + nj <= params.nk && (params.causal == 0u || j0 + nj - 1u + params.nq <= i0 + params.nk);
}
