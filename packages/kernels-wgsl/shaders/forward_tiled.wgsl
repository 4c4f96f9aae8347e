// forward_tiled.wgsl — stage 2 given lse, tiled: scores and probabilities never leave the workgroup.
// Constants from the host (src/tiling.ts): D, DV (head dims), BR queries per workgroup, BC keys per streamed tile,
// TX × TY invocations, RM = BR/TY, RN = BC/TX, CV = ceil(DV/TX), THREADS = TX·TY, KP = BC + 1.
// Loop bounds d_steps(), dv_steps(), tile_steps(left) also come from the host: constants (unrolled) on a GPU, runtime
// values on a CPU adapter, where unrolling only makes compiles slow.
// Tiling: a workgroup owns BR queries of one bh (Q tile row-major in workgroup memory) and streams keys in tiles of
// BC: Kᵀ (rows padded to KP) and V (row-major), zero-filled past nk. Per tile each invocation computes an RM × RN
// block of scores in registers, P = exp(S − lse) (prob(), common.wgsl; 0 where masked) goes to a BR × BC tile in
// workgroup memory, then each invocation accumulates O for rows ty + TY·r and columns tx + TX·c (RM × CV registers).
// No rescaling: lse is known.
// Causal: key tiles past the last key the workgroup's last query sees are skipped; masking is per element, so a
// fully masked row keeps O = 0. Limits: D, DV ≤ 256 (workgroup memory 4·(BR·D + D·KP + BC·DV + BR·BC) bytes,
// picked to fit the adapter); any nq, nk, bh.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

var<workgroup> qs: array<f32, BR * D>;
var<workgroup> kt: array<f32, D * KP>;
var<workgroup> vs: array<f32, BC * DV>;
var<workgroup> ps: array<f32, BR * BC>;

@compute @workgroup_size(TX, TY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let tiles = (params.nq + BR - 1u) / BR;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let q0 = (item % tiles) * BR;
  let tx = lid.x;
  let ty = lid.y;

  for (var x = t; x < BR * D; x += THREADS) {
    let i = q0 + x / D;
    var val = 0.0;
    if (i < params.nq) { val = q[(b * params.nq + i) * D + x % D]; }
    qs[x] = val;
  }
  var lrow: array<vec2<f32>, RM>;
  for (var r = 0u; r < RM; r++) {
    let i = q0 + ty + TY * r;
    if (i < params.nq) { lrow[r] = vec2<f32>(lse[lse_at(1u, b * params.nq + i)], lse[lse_at(2u, b * params.nq + i)]); }
  }

  var acc: array<array<f32, CV>, RM>;
  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    workgroupBarrier();
    for (var x = t; x < BC * D; x += THREADS) {
      let j = x / D;
      let e = x % D;
      var val = 0.0;
      if (k0 + j < params.nk) { val = k[(b * params.nk + k0 + j) * D + e]; }
      kt[e * KP + j] = val;
    }
    for (var x = t; x < BC * DV; x += THREADS) {
      let j = k0 + x / DV;
      var val = 0.0;
      if (j < params.nk) { val = v[(b * params.nk + j) * DV + x % DV]; }
      vs[x] = val;
    }
    workgroupBarrier();

    // zeroed explicitly: a var declared in a loop body is not reliably re-zeroed per iteration by every compiler
    var sc: array<array<f32, RN>, RM>;
    for (var r = 0u; r < RM; r++) { for (var c = 0u; c < RN; c++) { sc[r][c] = 0.0; } }
    for (var e = 0u; e < d_steps(); e++) {
      var kv: array<f32, RN>;
      for (var c = 0u; c < RN; c++) { kv[c] = kt[e * KP + tx + TX * c]; }
      for (var r = 0u; r < RM; r++) {
        let qv = qs[(ty + TY * r) * D + e];
        for (var c = 0u; c < RN; c++) { sc[r][c] = fma(qv, kv[c], sc[r][c]); }
      }
    }
    for (var r = 0u; r < RM; r++) {
      let i = q0 + ty + TY * r;
      for (var c = 0u; c < RN; c++) {
        let j = k0 + tx + TX * c;
        var p = 0.0;
        if (i < params.nq && j < params.nk && sees(i, j)) { p = prob(sc[r][c], lrow[r].x, lrow[r].y); }
        ps[(ty + TY * r) * BC + tx + TX * c] = p;
      }
    }
    workgroupBarrier();

    for (var j = 0u; j < tile_steps(params.nk - k0); j++) {
      var pr: array<f32, RM>;
      for (var r = 0u; r < RM; r++) { pr[r] = ps[(ty + TY * r) * BC + j]; }
      for (var c = 0u; c < CV; c++) {
        let col = tx + TX * c;
        if (col < DV) {
          let vv = vs[j * DV + col];
          for (var r = 0u; r < RM; r++) { acc[r][c] = fma(pr[r], vv, acc[r][c]); }
        }
      }
    }
  }

  for (var r = 0u; r < RM; r++) {
    let i = q0 + ty + TY * r;
    if (i < params.nq) {
      for (var c = 0u; c < CV; c++) {
        let col = tx + TX * c;
        if (col < DV) { o[(b * params.nq + i) * DV + col] = acc[r][c]; }
      }
    }
  }
}
