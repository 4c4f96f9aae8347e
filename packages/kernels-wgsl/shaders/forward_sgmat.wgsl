// forward_sgmat.wgsl — stage 2 given lse, tiled version 6: S = Q·Kᵀ and O += P·V on subgroup matrices (f16
// operands staged in workgroup memory, f32 result matrices), the elementwise work by the invocations.
// Tiling: a workgroup of W subgroups owns BR = W·SM_M query rows; subgroup w owns rows w·SM_M … w·SM_M + SM_M − 1.
//  1. The Q tile (BR × DP, zeros past nq and D) is staged in kv; subgroup w keeps its DP/SM_K left matrices of Q
//     (qf) for the whole key loop, and its DVP/SM_N result matrices of O (acc).
//  2. Per key tile of BC keys: the K tile (BC × DP) and the V tile (BC × DVP), zeros past nk, D and DV, into kv
//     (every invocation copies vec4 slots); subgroup w forms its BC/SM_N result matrices of S (right matrices: Kᵀ,
//     read column-major from the K tile) and stores them to sf; every invocation turns entries of sf into
//     P = exp((a − a_ref)·scale − c), 0 where masked (causal, past nq or nk), rounded to f16 into pf; subgroup w
//     adds its rows of P (left) times the V tile (right) into acc.
//  3. acc goes through sf (OCN result columns per pass) and the invocations write O as f16 (rows < nq, cols < DV).
// S is the unscaled Q·K with the same matrix shapes and order as lse_sgmat.wgsl, so a − a_ref is 0 at a row's max.
// Constants and the storage declarations from the host (src/sgmat.ts). Limits: D, DV ≤ 128 (version 5 above);
// workgroup memory: KV_LEN f16 + BR·BCS f32 + BR·BCP f16 + 2·BR f32.

var<workgroup> kv: array<f16, KV_LEN>;
var<workgroup> sf: array<f32, SF_LEN>;
var<workgroup> pf: array<f16, PF_LEN>;
var<workgroup> rs: array<f32, RS_LEN>;

// Rows r0 … r0 + rows − 1 of a [bh, n, width] f16 tensor into kv at `base` (row stride `stride`, DPAD columns,
// zeros past n and width); one vec4 slot (VW elements) per invocation step.
fn stage_q(t: u32, b: u32, r0: u32) {
  for (var x = t; x < BR * (DP / VQ); x += THREADS) {
    let row = x / (DP / VQ);
    let col = (x % (DP / VQ)) * VQ;
    var v = vec4<f16>();
    if (r0 + row < params.nq && col < D) { v = fetch_q((b * params.nq + r0 + row) * D + col); }
    for (var u = 0u; u < VQ; u++) { kv[row * DPS + col + u] = v[u]; }
  }
}

fn stage_k(t: u32, b: u32, k0: u32) {
  for (var x = t; x < BC * (DP / VQ); x += THREADS) {
    let row = x / (DP / VQ);
    let col = (x % (DP / VQ)) * VQ;
    var v = vec4<f16>();
    if (k0 + row < params.nk && col < D) { v = fetch_k((b * params.nk + k0 + row) * D + col); }
    for (var u = 0u; u < VQ; u++) { kv[row * DPS + col + u] = v[u]; }
  }
}

// the V tile after the K tile: kv[BC·DPS …], row stride DVS
fn stage_v(t: u32, b: u32, k0: u32) {
  for (var x = t; x < BC * (DVP / VV); x += THREADS) {
    let row = x / (DVP / VV);
    let col = (x % (DVP / VV)) * VV;
    var v = vec4<f16>();
    if (k0 + row < params.nk && col < DV) { v = fetch_v((b * params.nk + k0 + row) * DV + col); }
    for (var u = 0u; u < VV; u++) { kv[BC * DPS + row * DVS + col + u] = v[u]; }
  }
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32/*@sg-param*/) {
  let tiles = (params.nq + BR - 1u) / BR;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let q0 = (item % tiles) * BR;
  let w = /*@sg-id*/;
  /*@sg-lane*/

  for (var r = t; r < BR; r += THREADS) {
    let i = q0 + r;
    rs[r] = 0.0;
    rs[BR + r] = 0.0;
    if (i < params.nq) {
      rs[r] = lse[lse_at(1u, b * params.nq + i)];
      rs[BR + r] = lse[lse_at(2u, b * params.nq + i)];
    }
  }
  stage_q(t, b, q0);
  workgroupBarrier();
  var qf: array<SmLeft, DKS>;
  /*@unroll-gpu DKS*/ for (var kk = 0u; kk < DKS; kk++) {
    qf[kk] = subgroupMatrixLoad<SmLeft, row_major>(&kv, w * SM_M * DPS + kk * SM_K, DPS);
  }
  var acc: array<SmResult, DVNS>;
  /*@unroll-gpu DVNS*/ for (var u = 0u; u < DVNS; u++) { acc[u] = SmResult(); }

  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    // kv is free: Q is in qf, the previous tile's P·V is done
    workgroupBarrier();
    stage_k(t, b, k0);
    stage_v(t, b, k0);
    workgroupBarrier();
    /*@unroll-gpu BCN*/ for (var jn = 0u; jn < BCN; jn++) {
      var s = SmResult();
      /*@unroll-gpu DKS*/ for (var kk = 0u; kk < DKS; kk++) {
        let kt = subgroupMatrixLoad<SmRight, col_major>(&kv, jn * SM_N * DPS + kk * SM_K, DPS);
        s = subgroupMatrixMultiplyAccumulate(qf[kk], kt, s);
      }
      subgroupMatrixStore<row_major>(&sf, w * SM_M * BCS + jn * SM_N, s, BCS);
    }
    workgroupBarrier();
    for (var x = t; x < BR * BC; x += THREADS) {
      let r = x / BC;
      let j = x % BC;
      let i = q0 + r;
      var p = 0.0;
      if (i < params.nq && k0 + j < params.nk && sees(i, k0 + j)) { p = prob(sf[r * BCS + j], rs[r], rs[BR + r]); }
      pf[r * BCP + j] = f16(p);
    }
    workgroupBarrier();
    /*@unroll-gpu BCK*/ for (var jk = 0u; jk < BCK; jk++) {
      let pl = subgroupMatrixLoad<SmLeft, row_major>(&pf, w * SM_M * BCP + jk * SM_K, BCP);
      /*@unroll-gpu DVNS*/ for (var u = 0u; u < DVNS; u++) {
        let vr = subgroupMatrixLoad<SmRight, row_major>(&kv, BC * DPS + jk * SM_K * DVS + u * SM_N, DVS);
        acc[u] = subgroupMatrixMultiplyAccumulate(pl, vr, acc[u]);
      }
    }
  }

  // O through sf, OCN result columns per pass, row stride ECS
  /*@unroll-gpu OCHV*/ for (var cc = 0u; cc < OCHV; cc++) {
    workgroupBarrier();
    /*@unroll-gpu OCN*/ for (var u = 0u; u < OCN; u++) {
      if (cc * OCN + u < DVNS) {
        subgroupMatrixStore<row_major>(&sf, w * SM_M * ECS + u * SM_N, acc[min(cc * OCN + u, DVNS - 1u)], ECS);
      }
    }
    workgroupBarrier();
    for (var x = t; x < BR * OCN * SM_N; x += THREADS) {
      let r = x / (OCN * SM_N);
      let c = x % (OCN * SM_N);
      let i = q0 + r;
      let col = cc * OCN * SM_N + c;
      if (i < params.nq && col < DV) { o[(b * params.nq + i) * DV + col] = f16(sf[r * ECS + c]); }
    }
  }
}
