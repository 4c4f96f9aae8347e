// backward_tiled_dkdv.wgsl — stage 3, tiled, the pass over key tiles: dK = scale·dSᵀ·Q and dV = Pᵀ·dO, deterministic.
// Constants from the host (src/tiling.ts): D, DV, BR keys per workgroup, BC queries per streamed tile, TX × TY
// invocations, RM = BR/TY, RN = BC/TX, CD = ceil(D/TX), CV = ceil(DV/TX), THREADS = TX·TY, KP = BC + 1.
// Loop bounds d_steps(), dv_steps(), tile_steps(left) also come from the host: constants (unrolled) on a GPU, runtime
// values on a CPU adapter, where unrolling only makes compiles slow.
// Tiling: a workgroup owns BR keys of one bh: K and V tiles (row-major). It streams queries in tiles of BC: Qᵀ and dOᵀ
// (rows padded to KP), with (a_ref, c) and D. Per tile each invocation computes an RM × RN block (keys ty + TY·r,
// queries tx + TX·c) of Sᵀ = K·Qᵀ and dPᵀ = V·dOᵀ; P = exp(S − lse) (prob(), common.wgsl) and dS = P·(dP − D) (0 where
// masked) go to BR × BC tiles, then each invocation accumulates dK (RM × CD) and dV (RM × CV) for its keys and columns
// tx + TX·c in query order.
// Causal: query tiles before the first query that sees the workgroup's first key are skipped; a key no query sees
// keeps dK = dV = 0. Limits: D, DV ≤ 256 (workgroup memory 4·(BR·(D + DV) + (D + DV)·KP + 3·BC + 2·BR·BC) bytes,
// picked to fit the adapter); any nq, nk, bh.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;

var<workgroup> ks: array<f32, BR * D>;
var<workgroup> vs: array<f32, BR * DV>;
var<workgroup> qt: array<f32, D * KP>;
var<workgroup> dot_t: array<f32, DV * KP>;
var<workgroup> lse_s: array<vec2<f32>, BC>;
var<workgroup> del_s: array<f32, BC>;
var<workgroup> ps: array<f32, BR * BC>;
var<workgroup> dss: array<f32, BR * BC>;

@compute @workgroup_size(TX, TY)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let tiles = (params.nk + BR - 1u) / BR;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let k0 = (item % tiles) * BR;
  let tx = lid.x;
  let ty = lid.y;

  for (var x = t; x < BR * D; x += THREADS) {
    let j = k0 + x / D;
    var val = 0.0;
    if (j < params.nk) { val = k[(b * params.nk + j) * D + x % D]; }
    ks[x] = val;
  }
  for (var x = t; x < BR * DV; x += THREADS) {
    let j = k0 + x / DV;
    var val = 0.0;
    if (j < params.nk) { val = v[(b * params.nk + j) * DV + x % DV]; }
    vs[x] = val;
  }

  var acc_k: array<array<f32, CD>, RM>;
  var acc_v: array<array<f32, CV>, RM>;
  let q_begin = (query_start(k0) / BC) * BC;
  for (var q0 = q_begin; q0 < params.nq; q0 += BC) {
    workgroupBarrier();
    for (var x = t; x < BC * D; x += THREADS) {
      let i = x / D;
      var val = 0.0;
      if (q0 + i < params.nq) { val = q[(b * params.nq + q0 + i) * D + x % D]; }
      qt[(x % D) * KP + i] = val;
    }
    for (var x = t; x < BC * DV; x += THREADS) {
      let i = x / DV;
      var val = 0.0;
      if (q0 + i < params.nq) { val = dout[(b * params.nq + q0 + i) * DV + x % DV]; }
      dot_t[(x % DV) * KP + i] = val;
    }
    for (var x = t; x < BC; x += THREADS) {
      var l = vec2<f32>(0.0);
      var g = 0.0;
      if (q0 + x < params.nq) {
        l = vec2<f32>(lse[lse_at(1u, b * params.nq + q0 + x)], lse[lse_at(2u, b * params.nq + q0 + x)]);
        g = delta[b * params.nq + q0 + x];
      }
      lse_s[x] = l;
      del_s[x] = g;
    }
    workgroupBarrier();

    // zeroed explicitly: a var declared in a loop body is not reliably re-zeroed per iteration by every compiler
    var sc: array<array<f32, RN>, RM>;
    for (var r = 0u; r < RM; r++) { for (var c = 0u; c < RN; c++) { sc[r][c] = 0.0; } }
    var dp: array<array<f32, RN>, RM>;
    for (var r = 0u; r < RM; r++) { for (var c = 0u; c < RN; c++) { dp[r][c] = 0.0; } }
    for (var e = 0u; e < d_steps(); e++) {
      var qv: array<f32, RN>;
      for (var c = 0u; c < RN; c++) { qv[c] = qt[e * KP + tx + TX * c]; }
      for (var r = 0u; r < RM; r++) {
        let kk = ks[(ty + TY * r) * D + e];
        for (var c = 0u; c < RN; c++) { sc[r][c] = fma(kk, qv[c], sc[r][c]); }
      }
    }
    for (var e = 0u; e < dv_steps(); e++) {
      var gv: array<f32, RN>;
      for (var c = 0u; c < RN; c++) { gv[c] = dot_t[e * KP + tx + TX * c]; }
      for (var r = 0u; r < RM; r++) {
        let vv = vs[(ty + TY * r) * DV + e];
        for (var c = 0u; c < RN; c++) { dp[r][c] = fma(vv, gv[c], dp[r][c]); }
      }
    }
    for (var r = 0u; r < RM; r++) {
      let j = k0 + ty + TY * r;
      for (var c = 0u; c < RN; c++) {
        let il = tx + TX * c;
        let i = q0 + il;
        var p = 0.0;
        var g = 0.0;
        if (i < params.nq && j < params.nk && sees(i, j)) {
          p = prob(sc[r][c], lse_s[il].x, lse_s[il].y);
          g = p * (dp[r][c] - del_s[il]);
        }
        ps[(ty + TY * r) * BC + il] = p;
        dss[(ty + TY * r) * BC + il] = g;
      }
    }
    workgroupBarrier();

    for (var i = 0u; i < tile_steps(params.nq - q0); i++) {
      var pr: array<f32, RM>;
      var gr: array<f32, RM>;
      for (var r = 0u; r < RM; r++) {
        pr[r] = ps[(ty + TY * r) * BC + i];
        gr[r] = dss[(ty + TY * r) * BC + i];
      }
      for (var c = 0u; c < CD; c++) {
        let col = tx + TX * c;
        if (col < D) {
          let qq = qt[col * KP + i];
          for (var r = 0u; r < RM; r++) { acc_k[r][c] = fma(gr[r], qq, acc_k[r][c]); }
        }
      }
      for (var c = 0u; c < CV; c++) {
        let col = tx + TX * c;
        if (col < DV) {
          let gg = dot_t[col * KP + i];
          for (var r = 0u; r < RM; r++) { acc_v[r][c] = fma(pr[r], gg, acc_v[r][c]); }
        }
      }
    }
  }

  for (var r = 0u; r < RM; r++) {
    let j = k0 + ty + TY * r;
    if (j < params.nk) {
      for (var c = 0u; c < CD; c++) {
        let col = tx + TX * c;
        if (col < D) { dk[(b * params.nk + j) * D + col] = acc_k[r][c] * params.scale; }
      }
      for (var c = 0u; c < CV; c++) {
        let col = tx + TX * c;
        if (col < DV) { dv[(b * params.nk + j) * DV + col] = acc_v[r][c]; }
      }
    }
  }
}
