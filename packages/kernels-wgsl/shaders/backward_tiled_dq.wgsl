// backward_tiled_dq.wgsl — stage 3, tiled, the pass over query tiles: dQ = scale·dS·K, deterministic (no atomics).
// Constants from the host (src/tiling.ts): D, DV, BR queries per workgroup, BC keys per streamed tile, TX × TY
// invocations, RM = BR/TY, RN = BC/TX, CD = ceil(D/TX), THREADS = TX·TY, KP = BC + 1.
// Loop bounds d_steps(), dv_steps(), tile_steps(left) also come from the host: constants (unrolled) on a GPU, runtime
// values on a CPU adapter, where unrolling only makes compiles slow.
// Tiling: a workgroup owns BR queries of one bh: Q and dO tiles (row-major), (a_ref, c) and D in registers. It
// streams keys in tiles of BC: Kᵀ and Vᵀ (rows padded to KP, so both the score loop, along keys, and the dQ loop,
// along columns, read without bank conflicts). Per tile each invocation computes an RM × RN block of S = Q·Kᵀ and
// dP = dO·Vᵀ, dS = P·(dP − D) with P = exp(S − lse) (prob(), common.wgsl; 0 where masked) goes to a BR × BC tile,
// then each invocation accumulates dQ for rows ty + TY·r and columns tx + TX·c (RM × CD registers) in key order.
// Causal: key tiles past the last key the workgroup's last query sees are skipped; a fully masked row keeps dQ = 0.
// Limits: D, DV ≤ 256 (workgroup memory 4·(BR·(D + DV) + (D + DV)·KP + BR·BC) bytes, picked to fit the adapter).

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;

var<workgroup> qs: array<f32, BR * D>;
var<workgroup> dos: array<f32, BR * DV>;
var<workgroup> kt: array<f32, D * KP>;
var<workgroup> vt: array<f32, DV * KP>;
var<workgroup> dss: array<f32, BR * BC>;

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
  for (var x = t; x < BR * DV; x += THREADS) {
    let i = q0 + x / DV;
    var val = 0.0;
    if (i < params.nq) { val = dout[(b * params.nq + i) * DV + x % DV]; }
    dos[x] = val;
  }
  var lrow: array<vec2<f32>, RM>;
  var drow: array<f32, RM>;
  for (var r = 0u; r < RM; r++) {
    let i = q0 + ty + TY * r;
    if (i < params.nq) {
      lrow[r] = vec2<f32>(lse[lse_at(1u, b * params.nq + i)], lse[lse_at(2u, b * params.nq + i)]);
      drow[r] = delta[b * params.nq + i];
    }
  }

  var acc: array<array<f32, CD>, RM>;
  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    workgroupBarrier();
    for (var x = t; x < BC * D; x += THREADS) {
      let j = x / D;
      var val = 0.0;
      if (k0 + j < params.nk) { val = k[(b * params.nk + k0 + j) * D + x % D]; }
      kt[(x % D) * KP + j] = val;
    }
    for (var x = t; x < BC * DV; x += THREADS) {
      let j = x / DV;
      var val = 0.0;
      if (k0 + j < params.nk) { val = v[(b * params.nk + k0 + j) * DV + x % DV]; }
      vt[(x % DV) * KP + j] = val;
    }
    workgroupBarrier();

    // zeroed explicitly: a var declared in a loop body is not reliably re-zeroed per iteration by every compiler
    var sc: array<array<f32, RN>, RM>;
    for (var r = 0u; r < RM; r++) { for (var c = 0u; c < RN; c++) { sc[r][c] = 0.0; } }
    var dp: array<array<f32, RN>, RM>;
    for (var r = 0u; r < RM; r++) { for (var c = 0u; c < RN; c++) { dp[r][c] = 0.0; } }
    for (var e = 0u; e < d_steps(); e++) {
      var kv: array<f32, RN>;
      for (var c = 0u; c < RN; c++) { kv[c] = kt[e * KP + tx + TX * c]; }
      for (var r = 0u; r < RM; r++) {
        let qv = qs[(ty + TY * r) * D + e];
        for (var c = 0u; c < RN; c++) { sc[r][c] = fma(qv, kv[c], sc[r][c]); }
      }
    }
    for (var e = 0u; e < dv_steps(); e++) {
      var vv: array<f32, RN>;
      for (var c = 0u; c < RN; c++) { vv[c] = vt[e * KP + tx + TX * c]; }
      for (var r = 0u; r < RM; r++) {
        let g = dos[(ty + TY * r) * DV + e];
        for (var c = 0u; c < RN; c++) { dp[r][c] = fma(g, vv[c], dp[r][c]); }
      }
    }
    for (var r = 0u; r < RM; r++) {
      let i = q0 + ty + TY * r;
      for (var c = 0u; c < RN; c++) {
        let j = k0 + tx + TX * c;
        var g = 0.0;
        if (i < params.nq && j < params.nk && sees(i, j)) {
          g = prob(sc[r][c], lrow[r].x, lrow[r].y) * (dp[r][c] - drow[r]);
        }
        dss[(ty + TY * r) * BC + tx + TX * c] = g;
      }
    }
    workgroupBarrier();

    for (var j = 0u; j < tile_steps(params.nk - k0); j++) {
      var gr: array<f32, RM>;
      for (var r = 0u; r < RM; r++) { gr[r] = dss[(ty + TY * r) * BC + j]; }
      for (var c = 0u; c < CD; c++) {
        let col = tx + TX * c;
        if (col < D) {
          let kk = kt[col * KP + j];
          for (var r = 0u; r < RM; r++) { acc[r][c] = fma(gr[r], kk, acc[r][c]); }
        }
      }
    }
  }

  for (var r = 0u; r < RM; r++) {
    let i = q0 + ty + TY * r;
    if (i < params.nq) {
      for (var c = 0u; c < CD; c++) {
        let col = tx + TX * c;
        if (col < D) { dq[(b * params.nq + i) * D + col] = acc[r][c] * params.scale; }
      }
    }
  }
}
