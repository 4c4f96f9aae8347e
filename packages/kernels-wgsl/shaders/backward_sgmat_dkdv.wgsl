// backward_sgmat_dkdv.wgsl — stage 3, tiled version 6, the pass over key tiles: dV = Pᵀ·dO and dK = scale·dSᵀ·Q,
// with S = Q·Kᵀ, dP = dO·Vᵀ and both sums on subgroup matrices (f16 operands staged in workgroup memory, f32 result
// matrices), P and dS formed by the invocations. Deterministic: no atomics, a fixed order of every sum.
// Tiling: a workgroup of W subgroups owns BR keys; the K and V tiles (BR × DP, BR × DVP, zeros past nk, D, DV) stay
// in res. Per query tile of BC queries (from the first that sees a key of the tile; Q and dO tiles into st):
//  1. S, as [queries × keys]: the (BC/SM_M)·(BR/SM_N) result matrices are dealt to the subgroups (block w + W·u),
//     each over DP/SM_K steps (left: Q rows; right: Kᵀ read column-major from the K tile, the same products as the
//     lse and forward kernels), stored to sf; the invocations form P (f16, 0 where masked) into pf.
//  2. dV (AV accumulators per subgroup, dealt the same way over (BR/SM_M)·(DVP/SM_N)) += Pᵀ (left: pf read
//     column-major) · dO tile; dP blocks as in 1 from dO and Vᵀ into sf; the invocations form dS = P·(dP − D) in
//     place over pf (f16).
//  3. dK (AK accumulators per subgroup over (BR/SM_M)·(DP/SM_N)) += dSᵀ (pf column-major) · Q tile.
// dK (scaled) and dV go through sf (OCN result columns per pass) and are written as f16 (keys < nk, cols < D, DV).
// Constants and storage declarations from the host (src/sgmat.ts). Limits: D, DV ≤ 128 (version 5 above);
// workgroup memory RES_LEN + ST_LEN + PF_LEN f16, SF_LEN + RS_LEN f32.

var<workgroup> res: array<f16, RES_LEN>;
var<workgroup> st: array<f16, ST_LEN>;
var<workgroup> sf: array<f32, SF_LEN>;
var<workgroup> pf: array<f16, PF_LEN>;
var<workgroup> rs: array<f32, RS_LEN>;

// K rows at res[0 …] (stride DPS), V rows at res[BR·DPS …] (stride DVS)
fn stage_keys(t: u32, b: u32, k0: u32) {
  for (var x = t; x < BR * (DP / VQ); x += THREADS) {
    let row = x / (DP / VQ);
    let col = (x % (DP / VQ)) * VQ;
    var v = vec4<f16>();
    if (k0 + row < params.nk && col < D) { v = fetch_k((b * params.nk + k0 + row) * D + col); }
    for (var u = 0u; u < VQ; u++) { res[row * DPS + col + u] = v[u]; }
  }
  for (var x = t; x < BR * (DVP / VV); x += THREADS) {
    let row = x / (DVP / VV);
    let col = (x % (DVP / VV)) * VV;
    var v = vec4<f16>();
    if (k0 + row < params.nk && col < DV) { v = fetch_v((b * params.nk + k0 + row) * DV + col); }
    for (var u = 0u; u < VV; u++) { res[BR * DPS + row * DVS + col + u] = v[u]; }
  }
}

// Q rows at st[0 …] (stride DPS), dO rows at st[BC·DPS …] (stride DVS)
fn stage_rows(t: u32, b: u32, q0: u32) {
  for (var x = t; x < BC * (DP / VQ); x += THREADS) {
    let row = x / (DP / VQ);
    let col = (x % (DP / VQ)) * VQ;
    var v = vec4<f16>();
    if (q0 + row < params.nq && col < D) { v = fetch_q((b * params.nq + q0 + row) * D + col); }
    for (var u = 0u; u < VQ; u++) { st[row * DPS + col + u] = v[u]; }
  }
  for (var x = t; x < BC * (DVP / VV); x += THREADS) {
    let row = x / (DVP / VV);
    let col = (x % (DVP / VV)) * VV;
    var v = vec4<f16>();
    if (q0 + row < params.nq && col < DV) { v = fetch_dout((b * params.nq + q0 + row) * DV + col); }
    for (var u = 0u; u < VV; u++) { st[BC * DPS + row * DVS + col + u] = v[u]; }
  }
}

@compute @workgroup_size(THREADS)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32/*@sg-param*/) {
  let tiles = (params.nk + BR - 1u) / BR;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return; }
  let b = item / tiles;
  let k0 = (item % tiles) * BR;
  let w = /*@sg-id*/;
  /*@sg-lane*/

  stage_keys(t, b, k0);
  var acc_k: array<SmResult, AK>;
  var acc_v: array<SmResult, AV>;
  /*@unroll-gpu AK*/ for (var u = 0u; u < AK; u++) { acc_k[u] = SmResult(); }
  /*@unroll-gpu AV*/ for (var u = 0u; u < AV; u++) { acc_v[u] = SmResult(); }

  let q_begin = (query_start(k0) / BC) * BC;
  for (var q0 = q_begin; q0 < params.nq; q0 += BC) {
    // st, pf and rs are free: the previous tile's dSᵀ·Q is done
    workgroupBarrier();
    stage_rows(t, b, q0);
    for (var r = t; r < BC; r += THREADS) {
      let i = q0 + r;
      rs[r] = 0.0;
      rs[BC + r] = 0.0;
      rs[2u * BC + r] = 0.0;
      if (i < params.nq) {
        rs[r] = lse[lse_at(1u, b * params.nq + i)];
        rs[BC + r] = lse[lse_at(2u, b * params.nq + i)];
        rs[2u * BC + r] = delta[b * params.nq + i];
      }
    }
    workgroupBarrier();
    /*@unroll-gpu SB*/ for (var u = 0u; u < SB; u++) {
      let bi = w + u * W;
      if (bi < BCM * BRN) {
        let rb = bi / BRN;
        let cb = bi % BRN;
        var s = SmResult();
        /*@unroll-gpu DKS*/ for (var kk = 0u; kk < DKS; kk++) {
          let ql = subgroupMatrixLoad<SmLeft, row_major>(&st, rb * SM_M * DPS + kk * SM_K, DPS);
          let kt = subgroupMatrixLoad<SmRight, col_major>(&res, cb * SM_N * DPS + kk * SM_K, DPS);
          s = subgroupMatrixMultiplyAccumulate(ql, kt, s);
        }
        subgroupMatrixStore<row_major>(&sf, rb * SM_M * BRS + cb * SM_N, s, BRS);
      }
    }
    workgroupBarrier();
    for (var x = t; x < BC * BR; x += THREADS) {
      let r = x / BR;
      let j = x % BR;
      let i = q0 + r;
      var p = 0.0;
      if (i < params.nq && k0 + j < params.nk && sees(i, k0 + j)) { p = prob(sf[r * BRS + j], rs[r], rs[BC + r]); }
      pf[r * BRP + j] = f16(p);
    }
    workgroupBarrier();
    /*@unroll-gpu AV*/ for (var u = 0u; u < AV; u++) {
      let bi = w + u * W;
      if (bi < BRM * DVNS) {
        let kb = bi / DVNS;
        let cb = bi % DVNS;
        /*@unroll-gpu BCK*/ for (var jq = 0u; jq < BCK; jq++) {
          let pt = subgroupMatrixLoad<SmLeft, col_major>(&pf, jq * SM_K * BRP + kb * SM_M, BRP);
          let orr = subgroupMatrixLoad<SmRight, row_major>(&st, BC * DPS + jq * SM_K * DVS + cb * SM_N, DVS);
          acc_v[u] = subgroupMatrixMultiplyAccumulate(pt, orr, acc_v[u]);
        }
      }
    }
    /*@unroll-gpu SB*/ for (var u = 0u; u < SB; u++) {
      let bi = w + u * W;
      if (bi < BCM * BRN) {
        let rb = bi / BRN;
        let cb = bi % BRN;
        var s = SmResult();
        /*@unroll-gpu DVKS*/ for (var kk = 0u; kk < DVKS; kk++) {
          let ol = subgroupMatrixLoad<SmLeft, row_major>(&st, BC * DPS + rb * SM_M * DVS + kk * SM_K, DVS);
          let vt = subgroupMatrixLoad<SmRight, col_major>(&res, BR * DPS + cb * SM_N * DVS + kk * SM_K, DVS);
          s = subgroupMatrixMultiplyAccumulate(ol, vt, s);
        }
        subgroupMatrixStore<row_major>(&sf, rb * SM_M * BRS + cb * SM_N, s, BRS);
      }
    }
    workgroupBarrier();
    // dS = P·(dP − D) over P's own entries (masked ones stay 0), rounded to f16
    for (var x = t; x < BC * BR; x += THREADS) {
      let r = x / BR;
      let j = x % BR;
      pf[r * BRP + j] = f16(f32(pf[r * BRP + j]) * (sf[r * BRS + j] - rs[2u * BC + r]));
    }
    workgroupBarrier();
    /*@unroll-gpu AK*/ for (var u = 0u; u < AK; u++) {
      let bi = w + u * W;
      if (bi < BRM * DNS) {
        let kb = bi / DNS;
        let cb = bi % DNS;
        /*@unroll-gpu BCK*/ for (var jq = 0u; jq < BCK; jq++) {
          let gt = subgroupMatrixLoad<SmLeft, col_major>(&pf, jq * SM_K * BRP + kb * SM_M, BRP);
          let qr = subgroupMatrixLoad<SmRight, row_major>(&st, jq * SM_K * DPS + cb * SM_N, DPS);
          acc_k[u] = subgroupMatrixMultiplyAccumulate(gt, qr, acc_k[u]);
        }
      }
    }
  }

  // dK (scaled) then dV through sf, OCN result columns per pass (row stride ECS)
  /*@unroll-gpu OCHD*/ for (var cc = 0u; cc < OCHD; cc++) {
    workgroupBarrier();
    /*@unroll-gpu AK*/ for (var u = 0u; u < AK; u++) {
      let bi = w + u * W;
      let cb = bi % DNS;
      if (bi < BRM * DNS && cb >= cc * OCN && cb < cc * OCN + OCN) {
        subgroupMatrixStore<row_major>(&sf, (bi / DNS) * SM_M * ECS + (cb - cc * OCN) * SM_N, acc_k[u], ECS);
      }
    }
    workgroupBarrier();
    for (var x = t; x < BR * OCN * SM_N; x += THREADS) {
      let r = x / (OCN * SM_N);
      let c = x % (OCN * SM_N);
      let j = k0 + r;
      let col = cc * OCN * SM_N + c;
      if (j < params.nk && col < D) { dk[(b * params.nk + j) * D + col] = f16(sf[r * ECS + c] * params.scale); }
    }
  }
  /*@unroll-gpu OCHV*/ for (var cc = 0u; cc < OCHV; cc++) {
    workgroupBarrier();
    /*@unroll-gpu AV*/ for (var u = 0u; u < AV; u++) {
      let bi = w + u * W;
      let cb = bi % DVNS;
      if (bi < BRM * DVNS && cb >= cc * OCN && cb < cc * OCN + OCN) {
        subgroupMatrixStore<row_major>(&sf, (bi / DVNS) * SM_M * ECS + (cb - cc * OCN) * SM_N, acc_v[u], ECS);
      }
    }
    workgroupBarrier();
    for (var x = t; x < BR * OCN * SM_N; x += THREADS) {
      let r = x / (OCN * SM_N);
      let c = x % (OCN * SM_N);
      let j = k0 + r;
      let col = cc * OCN * SM_N + c;
      if (j < params.nk && col < DV) { dv[(b * params.nk + j) * DV + col] = f16(sf[r * ECS + c]); }
    }
  }
}
