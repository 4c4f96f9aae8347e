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

// The softmax of a query row, and why it is kept as three floats. With large scores the softmax is nearly one-hot:
// float32 attention gets the largest P = exp(s − max s) = 1 exactly, while P = exp(s − lse) with lse rounded to one
// float32 carries |lse|·2⁻²⁴ of relative error (3e-5 at |lse| = 500) into every P of the row, hence into O and,
// through D = rowsum(dO∘O) and dS = P·(dP − D), the gradients. So every exp argument is formed from the unscaled dot
// product a = Q·K, exactly as stage 1 computed it (same summation order), against a reference a_ref of the row:
//   P = exp((a − a_ref)·scale − c),
// where a − a_ref is exact near the max and 0 at it, and c = log Σ_j exp((a_j − a_ref)·scale) is 0 for a one-hot row.
// No two-float error term is involved: WGSL lets an implementation reassociate and fuse floating-point operations
// (WGSL spec, "Reassociation and Fusion"), which could fold a Fast2Sum pair away; this form needs neither.
// The 'lse' buffer holds, for rows = bh·nq query rows, three blocks of rows floats:
//   lse[row]            the public logsumexp of the scaled scores, a_ref·scale + c;
//   lse[rows + row]     a_ref (0 when the host wrote the lse);
//   lse[2·rows + row]   c (the lse itself when the host wrote it; then P = exp(a·scale − lse) as plain float32).
// A row that sees no key has (−inf, 0, −inf) and is never evaluated.

// Online state (m, l) of a row in stage 1, in units of u = a·sign(scale), so the largest scaled score is the largest
// u whatever the sign of scale: m = max u, l = Σ exp((u − m)·|scale|); l == 0 means no key yet.
struct Lse {
  m: f32,
  l: f32,
}

// u of an unscaled dot product a (exact)
fn lse_unit(a: f32) -> f32 {
  return a * sign(params.scale);
}

// exp((u − m)·|scale|): exact 0 exponent at the max
fn lse_term(u: f32, m: f32) -> f32 {
  return exp((u - m) * abs(params.scale));
}

fn lse_push(s: Lse, u: f32) -> Lse {
  if (s.l == 0.0) { return Lse(u, 1.0); }
  if (u > s.m) { return Lse(u, s.l * lse_term(s.m, u) + 1.0); }
  return Lse(s.m, s.l + lse_term(u, s.m));
}

fn lse_merge(a: Lse, b: Lse) -> Lse {
  if (b.l == 0.0) { return a; }
  if (a.l == 0.0) { return b; }
  let m = max(a.m, b.m);
  return Lse(m, a.l * lse_term(a.m, m) + b.l * lse_term(b.m, m));
}

// The three floats stage 1 writes for a row: (lse, a_ref, c); (−inf, 0, −inf) when it saw no key.
fn lse_triple(s: Lse) -> vec3<f32> {
  if (s.l == 0.0) { return vec3<f32>(params.neg_inf, 0.0, params.neg_inf); }
  let c = log(s.l);
  return vec3<f32>(s.m * abs(params.scale) + c, s.m * sign(params.scale), c);
}

// Index of part 0 (lse), 1 (a_ref) or 2 (c) of a query row in the 'lse' buffer.
fn lse_at(part: u32, row: u32) -> u32 {
  return part * params.bh * params.nq + row;
}

// P of an unscaled dot product a given its row's a_ref and c (stages 2 and 3).
fn prob(a: f32, a_ref: f32, c: f32) -> f32 {
  return exp(fma(a - a_ref, params.scale, -c));
}

// Whether every query of [i0, i0 + ni) exists and sees every key of [j0, j0 + nj), which also exist: such a tile
// needs no mask (tiled kernel 5 skips the per-score tests there).
fn all_visible(i0: u32, ni: u32, j0: u32, nj: u32) -> bool {
  return i0 + ni <= params.nq && j0 + nj <= params.nk && (params.causal == 0u || j0 + nj - 1u + params.nq <= i0 + params.nk);
}
