// lse_naive.wgsl — stage 1, naive: the unscaled score matrix Q·Kᵀ [bh, nq, nk] goes to global memory, then a row
// reduction.
//   scores: a 16×16 workgroup covers a 16-query × 16-key block of one bh; each invocation computes one unscaled
//           score a = Q·K (a d-long dot product read straight from global memory) and writes it; masked entries get 0.
//   reduce: a 64-invocation workgroup per query row; invocations stride over the visible keys with an online
//           logsumexp, then one invocation merges the 64 partial states in a fixed order (deterministic) and writes
//           the row's (lse, a_ref, c) (common.wgsl).
// Limits: any d (runtime loop), any nq, nk; Q·Kᵀ must fit one storage binding (the host checks up front).

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(11) var<storage, read_write> s: array<f32>;

@compute @workgroup_size(16, 16)
fn scores(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let tiles_j = (params.nk + 15u) / 16u;
  let tiles = ((params.nq + 15u) / 16u) * tiles_j;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let i = ((item % tiles) / tiles_j) * 16u + lid.y;
  let j = (item % tiles_j) * 16u + lid.x;
  if (i >= params.nq || j >= params.nk) { return; }
  var acc = 0.0;
  if (sees(i, j)) {
    let qo = (b * params.nq + i) * params.d;
    let ko = (b * params.nk + j) * params.d;
    for (var e = 0u; e < params.d; e++) { acc = fma(q[qo + e], k[ko + e], acc); }
  }
  s[(b * params.nq + i) * params.nk + j] = acc;
}

var<workgroup> part_m: array<f32, 64>;
var<workgroup> part_l: array<f32, 64>;

@compute @workgroup_size(64)
fn reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_index) t: u32) {
  let row = work_item(wid, nwg);
  if (row >= params.bh * params.nq) { return; }
  let end = key_end(row % params.nq);
  let base = row * params.nk;
  var st = Lse(LOWEST, 0.0);
  for (var j = t; j < end; j += 64u) { st = lse_push(st, lse_unit(s[base + j])); }
  part_m[t] = st.m;
  part_l[t] = st.l;
  workgroupBarrier();
  if (t == 0u) {
    var tot = Lse(LOWEST, 0.0);
    for (var u = 0u; u < 64u; u++) { tot = lse_merge(tot, Lse(part_m[u], part_l[u])); }
    let out = lse_triple(tot);
    lse[lse_at(0u, row)] = out.x;
    lse[lse_at(1u, row)] = out.y;
    lse[lse_at(2u, row)] = out.z;
  }
}
