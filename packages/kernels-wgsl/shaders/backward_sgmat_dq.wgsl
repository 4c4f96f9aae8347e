// backward_sgmat_dq.wgsl — stage 3, tiled version 6, the pass over query tiles: dQ = scale·dS·K with S = Q·Kᵀ,
// dP = dO·Vᵀ and dS·K on subgroup matrices (f16 operands staged in workgroup memory, f32 result matrices),
// P and dS formed by the invocations. Deterministic: no atomics, a fixed order of every sum.
// Tiling: a workgroup of W subgroups owns BR query rows; the Q and dO tiles (BR × DP, BR × DVP, zeros past nq, D,
// DV) stay in res. Per key tile of BC keys (K and V tiles into kv):
//  1. S: the (BR/SM_M)·(BC/SM_N) result matrices are dealt to the subgroups (block w + W·u), each over DP/SM_K
//     steps (left: Q rows; right: Kᵀ read column-major from the K tile), stored to sf; the invocations form
//     P = exp((a − a_ref)·scale − c) rounded to f16 (0 where masked) into pf.
//  2. dP: the same blocks from dO and Vᵀ, stored to sf; the invocations form dS = P·(dP − D) in place over pf (f16).
//  3. dQ: the (BR/SM_M)·(DP/SM_N) accumulators are dealt the same way (block w + W·u, AQ per subgroup) and kept
//     across the key loop; each adds dS (left, rows of pf) times the K tile (right, row-major).
// The accumulators go through sf (OCN result columns per pass), scaled, and are written as f16 (rows < nq, cols < D).
// S is formed as in lse_sgmat.wgsl. Constants and storage declarations from the host (src/sgmat.ts). Limits:
// D, DV ≤ 128 (version 5 above); workgroup memory RES_LEN + KV_LEN + PF_LEN f16, SF_LEN + RS_LEN f32.

var<workgroup> res: array<f16, RES_LEN>;
var<workgroup> kv: array<f16, KV_LEN>;
var<workgroup> sf: array<f32, SF_LEN>;
var<workgroup> pf: array<f16, PF_LEN>;
var<workgroup> rs: array<f32, RS_LEN>;

// Q rows at res[0 …] (stride DPS), dO rows at res[BR·DPS …] (stride DVS)
fn stage_rows(t: u32, b: u32, q0: u32) {
  for (var x = t; x < BR * (DP / VQ); x += THREADS) {
    let row = x / (DP / VQ);
    let col = (x % (DP / VQ)) * VQ;
    var v = vec4<f16>();
    if (q0 + row < params.nq && col < D) { v = fetch_q((b * params.nq + q0 + row) * D + col); }
    for (var u = 0u; u < VQ; u++) { res[row * DPS + col + u] = v[u]; }
  }
  for (var x = t; x < BR * (DVP / VV); x += THREADS) {
    let row = x / (DVP / VV);
    let col = (x % (DVP / VV)) * VV;
    var v = vec4<f16>();
    if (q0 + row < params.nq && col < DV) { v = fetch_dout((b * params.nq + q0 + row) * DV + col); }
    for (var u = 0u; u < VV; u++) { res[BR * DPS + row * DVS + col + u] = v[u]; }
  }
}

// K rows at kv[0 …] (stride DPS), V rows at kv[BC·DPS …] (stride DVS)
fn stage_keys(t: u32, b: u32, k0: u32) {
  for (var x = t; x < BC * (DP / VQ); x += THREADS) {
    let row = x / (DP / VQ);
    let col = (x % (DP / VQ)) * VQ;
    var v = vec4<f16>();
    if (k0 + row < params.nk && col < D) { v = fetch_k((b * params.nk + k0 + row) * D + col); }
    for (var u = 0u; u < VQ; u++) { kv[row * DPS + col + u] = v[u]; }
  }
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
    rs[2u * BR + r] = 0.0;
    if (i < params.nq) {
      rs[r] = lse[lse_at(1u, b * params.nq + i)];
      rs[BR + r] = lse[lse_at(2u, b * params.nq + i)];
      rs[2u * BR + r] = delta[b * params.nq + i];
    }
  }
  stage_rows(t, b, q0);
  var acc: array<SmResult, AQ>;
  /*@unroll-gpu AQ*/ for (var u = 0u; u < AQ; u++) { acc[u] = SmResult(); }

  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    // kv and pf are free: the previous tile's dS·K is done
    workgroupBarrier();
    stage_keys(t, b, k0);
    workgroupBarrier();
    /*@unroll-gpu SB*/ for (var u = 0u; u < SB; u++) {
      let bi = w + u * W;
      if (bi < BRM * BCN) {
        let rb = bi / BCN;
        let cb = bi % BCN;
        var s = SmResult();
        /*@unroll-gpu DKS*/ for (var kk = 0u; kk < DKS; kk++) {
          let ql = subgroupMatrixLoad<SmLeft, row_major>(&res, rb * SM_M * DPS + kk * SM_K, DPS);
          let kt = subgroupMatrixLoad<SmRight, col_major>(&kv, cb * SM_N * DPS + kk * SM_K, DPS);
          s = subgroupMatrixMultiplyAccumulate(ql, kt, s);
        }
        subgroupMatrixStore<row_major>(&sf, rb * SM_M * BCS + cb * SM_N, s, BCS);
      }
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
    /*@unroll-gpu SB*/ for (var u = 0u; u < SB; u++) {
      let bi = w + u * W;
      if (bi < BRM * BCN) {
        let rb = bi / BCN;
        let cb = bi % BCN;
        var s = SmResult();
        /*@unroll-gpu DVKS*/ for (var kk = 0u; kk < DVKS; kk++) {
          let ol = subgroupMatrixLoad<SmLeft, row_major>(&res, BR * DPS + rb * SM_M * DVS + kk * SM_K, DVS);
          let vt = subgroupMatrixLoad<SmRight, col_major>(&kv, BC * DPS + cb * SM_N * DVS + kk * SM_K, DVS);
          s = subgroupMatrixMultiplyAccumulate(ol, vt, s);
        }
        subgroupMatrixStore<row_major>(&sf, rb * SM_M * BCS + cb * SM_N, s, BCS);
      }
    }
    workgroupBarrier();
    // dS = P·(dP − D) over P's own entries (masked ones stay 0), rounded to f16
    for (var x = t; x < BR * BC; x += THREADS) {
      let r = x / BC;
      let j = x % BC;
      pf[r * BCP + j] = f16(f32(pf[r * BCP + j]) * (sf[r * BCS + j] - rs[2u * BR + r]));
    }
    workgroupBarrier();
    /*@unroll-gpu AQ*/ for (var u = 0u; u < AQ; u++) {
      let bi = w + u * W;
      if (bi < BRM * DNS) {
        let rb = bi / DNS;
        let cb = bi % DNS;
        /*@unroll-gpu BCK*/ for (var jk = 0u; jk < BCK; jk++) {
          let gl = subgroupMatrixLoad<SmLeft, row_major>(&pf, rb * SM_M * BCP + jk * SM_K, BCP);
          let kr = subgroupMatrixLoad<SmRight, row_major>(&kv, jk * SM_K * DPS + cb * SM_N, DPS);
          acc[u] = subgroupMatrixMultiplyAccumulate(gl, kr, acc[u]);
        }
      }
    }
  }

  // dQ through sf, OCN result columns per pass (row stride ECS), scaled
  /*@unroll-gpu OCHD*/ for (var cc = 0u; cc < OCHD; cc++) {
    workgroupBarrier();
    /*@unroll-gpu AQ*/ for (var u = 0u; u < AQ; u++) {
      let bi = w + u * W;
      let cb = bi % DNS;
      if (bi < BRM * DNS && cb >= cc * OCN && cb < cc * OCN + OCN) {
        subgroupMatrixStore<row_major>(&sf, (bi / DNS) * SM_M * ECS + (cb - cc * OCN) * SM_N, acc[u], ECS);
      }
    }
    workgroupBarrier();
    for (var x = t; x < BR * OCN * SM_N; x += THREADS) {
      let r = x / (OCN * SM_N);
      let c = x % (OCN * SM_N);
      let i = q0 + r;
      let col = cc * OCN * SM_N + c;
      if (i < params.nq && col < D) { dq[(b * params.nq + i) * D + col] = f16(sf[r * ECS + c] * params.scale); }
    }
  }
}
