// forward_naive.wgsl — stage 2 given lse, naive: P = exp(S − lse) [bh, nq, nk] (prob(), common.wgsl) goes to global
// memory, then O = P·V.
//   probs: a 16×16 workgroup covers 16 queries × 16 keys of one bh; each invocation computes one score (d-long dot
//          product from global memory) and writes its probability, 0 where masked.
//   pv:    a 16×16 workgroup covers 16 queries × 16 output columns; each invocation sums P[i, j]·V[j, c] over the
//          keys query i sees (V reads coalesced along c).
// Limits: any d, dv (runtime loops), any nq, nk; P must fit one storage binding (the host checks up front).

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;
@group(0) @binding(11) var<storage, read_write> s: array<f32>;

@compute @workgroup_size(16, 16)
fn probs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
  let tiles_j = (params.nk + 15u) / 16u;
  let tiles = ((params.nq + 15u) / 16u) * tiles_j;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let i = ((item % tiles) / tiles_j) * 16u + lid.y;
  let j = (item % tiles_j) * 16u + lid.x;
  if (i >= params.nq || j >= params.nk) { return; }
  var p = 0.0;
  if (sees(i, j)) {
    let qo = (b * params.nq + i) * params.d;
    let ko = (b * params.nk + j) * params.d;
    var acc = 0.0;
    for (var e = 0u; e < params.d; e++) { acc = fma(q[qo + e], k[ko + e], acc); }
    p = prob(acc, lse[lse_at(1u, b * params.nq + i)], lse[lse_at(2u, b * params.nq + i)]);
  }
  s[(b * params.nq + i) * params.nk + j] = p;
}

@compute @workgroup_size(16, 16)
fn pv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
      @builtin(local_invocation_id) lid: vec3<u32>) {
  let tiles_c = (params.dv + 15u) / 16u;
  let tiles = ((params.nq + 15u) / 16u) * tiles_c;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let i = ((item % tiles) / tiles_c) * 16u + lid.y;
  let c = (item % tiles_c) * 16u + lid.x;
  if (i >= params.nq || c >= params.dv) { return; }
  let end = key_end(i);
  let po = (b * params.nq + i) * params.nk;
  let vo = b * params.nk * params.dv + c;
  var acc = 0.0;
  for (var j = 0u; j < end; j++) { acc = fma(s[po + j], v[vo + j * params.dv], acc); }
  o[(b * params.nq + i) * params.dv + c] = acc;
}
