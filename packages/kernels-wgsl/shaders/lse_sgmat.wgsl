// lse_sgmat.wgsl — stage 1, tiled version 6: S = Q·Kᵀ on subgroup matrices (f16 operands staged in workgroup
// memory, f32 result matrices), the row-wise logsumexp by the invocations.
// Tiling: a workgroup of W subgroups owns BR = W·SM_M query rows; subgroup w owns rows w·SM_M … w·SM_M + SM_M − 1.
//  1. The Q tile (BR × DP, zeros past nq and D) is staged in kv; subgroup w keeps its DP/SM_K left matrices (qf).
//  2. Per key tile of BC keys: the K tile (BC × DP, zeros past nk and D) into kv; subgroup w forms its BC/SM_N
//     result matrices of S (right matrices: Kᵀ, read column-major from the K tile) and stores them to sf; each
//     invocation owns RPI slots, a slot being one query row's CW = BC/PARTS contiguous keys, and folds them into the
//     slot's running (max, sum) in units u = a·sign(scale) (common.wgsl), masked entries skipped.
//  3. The slots' (max, sum) go through sf and invocation r < BR merges its row's PARTS slots in order and writes
//     (lse, a_ref, c) (common.wgsl lse_triple).
// S here is formed exactly as in forward_sgmat.wgsl and the backward's: same matrix shapes, same order over d.
// Constants and the storage declarations from the host (src/sgmat.ts). Limits: D ≤ 128 (version 5 above);
// workgroup memory: KV_LEN f16 + SF_LEN f32.

var<workgroup> kv: array<f16, KV_LEN>;
var<workgroup> sf: array<f32, SF_LEN>;

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

  stage_q(t, b, q0);
  workgroupBarrier();
  var qf: array<SmLeft, DKS>;
  /*@unroll-gpu DKS*/ for (var kk = 0u; kk < DKS; kk++) {
    qf[kk] = subgroupMatrixLoad<SmLeft, row_major>(&kv, w * SM_M * DPS + kk * SM_K, DPS);
  }
  var m: array<f32, RPI>;
  var l: array<f32, RPI>;
  for (var v = 0u; v < RPI; v++) { m[v] = LOWEST; l[v] = 0.0; }

  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    // kv is free: Q is in qf, the previous tile's S is in sf
    workgroupBarrier();
    stage_k(t, b, k0);
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
    for (var v = 0u; v < RPI; v++) {
      let x = t + v * THREADS;
      if (x < BR * PARTS) {
        let r = x / PARTS;
        let j0 = (x % PARTS) * CW;
        let i = q0 + r;
        var tmax = LOWEST;
        var seen = false;
        for (var c = 0u; c < CW; c++) {
          let j = k0 + j0 + c;
          if (i < params.nq && j < params.nk && sees(i, j)) {
            tmax = max(tmax, lse_unit(sf[r * BCS + j0 + c]));
            seen = true;
          }
        }
        if (seen) {
          let mn = max(m[v], tmax);
          var sum = 0.0;
          for (var c = 0u; c < CW; c++) {
            let j = k0 + j0 + c;
            if (i < params.nq && j < params.nk && sees(i, j)) { sum += lse_term(lse_unit(sf[r * BCS + j0 + c]), mn); }
          }
          l[v] = l[v] * lse_term(m[v], mn) + sum;
          m[v] = mn;
        }
      }
    }
  }

  // every slot's (max, sum) into sf: max at [x], sum at [BR·PARTS + x]
  workgroupBarrier();
  for (var v = 0u; v < RPI; v++) {
    let x = t + v * THREADS;
    if (x < BR * PARTS) {
      sf[x] = m[v];
      sf[BR * PARTS + x] = l[v];
    }
  }
  workgroupBarrier();
  for (var r = t; r < BR; r += THREADS) {
    if (q0 + r < params.nq) {
      var tot = Lse(LOWEST, 0.0);
      for (var p = 0u; p < PARTS; p++) { tot = lse_merge(tot, Lse(sf[r * PARTS + p], sf[BR * PARTS + r * PARTS + p])); }
      let out = lse_triple(tot);
      let row = b * params.nq + q0 + r;
      lse[lse_at(0u, row)] = out.x;
      lse[lse_at(1u, row)] = out.y;
      lse[lse_at(2u, row)] = out.z;
    }
  }
}
