// backward_tiled2_dkdv.wgsl — stage 3, tiled version 2, the pass over key tiles: dK = scale·dSᵀ·Q, dV = Pᵀ·dO,
// deterministic. Constants from the host (src/tiling2.ts): D, DV, BR keys and BC queries per tile, TX × TY
// invocations, RM × RN entries per invocation (keys ty·RM + r, queries tx·RN + c: vec4 reads), EC columns per GEMM
// chunk, JC queries per Q / dO chunk, BRP = BR + 4, BCP = BC + 4, DP / DVP = D / DV rounded up to 4·TX,
// CD4 = DP/(4·TX), CV4 = DVP/(4·TX).
// Per query tile: Sᵀ = K·Qᵀ by chunks of d and dPᵀ = V·dOᵀ by chunks of dv (the same two chunk buffers [EC][·+4]),
// (a_ref, c) and D of the invocation's RN queries in registers; P = exp(S·scale − lse), formed by prob() from a_ref
// and c (common.wgsl), and dS = P·(dP − D) (0 where masked) stored transposed, pt and dst [BC][BRP]; then dK
// (RM × CD4 vec4) += dSᵀ·Q and dV (RM × CV4 vec4) += Pᵀ·dO with Q and dO streamed in row-major chunks [JC][DP],
// [JC][DVP], in query order.
// Causal: query tiles before the first query that sees the workgroup's first key are skipped; a key no query sees
// keeps dK = dV = 0. Limits: any D, DV ≤ 256, nq, nk, bh; workgroup memory
// 4·(max(EC·(BRP + BCP), JC·(DP + DVP)) + 2·BC·BRP) bytes.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;

// the GEMM chunks (Kᵀ or Vᵀ at sh[0..], Qᵀ or dOᵀ at sh[BT4..]), and after them the Q chunk at sh[0..] and the dO
// chunk at sh[OC4..]: never live at once
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> pt: array<vec4<f32>, BC * BRP / 4u>;
var<workgroup> dst: array<vec4<f32>, BC * BRP / 4u>;

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

  var acc_k: array<vec4<f32>, RM * CD4>;
  /*@unroll*/ for (var u = 0u; u < RM * CD4; u++) { acc_k[u] = vec4<f32>(0.0); }
  var acc_v: array<vec4<f32>, RM * CV4>;
  /*@unroll*/ for (var u = 0u; u < RM * CV4; u++) { acc_v[u] = vec4<f32>(0.0); }

  let q_begin = (query_start(k0) / BC) * BC;
  for (var q0 = q_begin; q0 < params.nq; q0 += BC) {
    var lcol: array<vec2<f32>, RN>;
    var dcol: array<f32, RN>;
    /*@unroll*/ for (var c = 0u; c < RN; c++) {
      let i = q0 + tx * RN + c;
      lcol[c] = vec2<f32>(0.0);
      dcol[c] = 0.0;
      if (i < params.nq) {
        lcol[c] = vec2<f32>(lse[lse_at(1u, b * params.nq + i)], lse[lse_at(2u, b * params.nq + i)]);
        dcol[c] = delta[b * params.nq + i];
      }
    }
    var sc: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { sc[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < d_steps(); e0 += EC) {
      workgroupBarrier();
      // lanes take 8 consecutive columns of 4 rows: 32-byte global segments, and the transposed stores land in 32
      // distinct banks (row stride ≡ 4 mod 32)
      for (var x = t; x < BR * EC; x += THREADS) {
        let row = (x / 8u) % BR;
        let e = e0 + x % 8u + 8u * (x / (8u * BR));
        var val = 0.0;
        if (k0 + row < params.nk && e < D) { val = k[(b * params.nk + k0 + row) * D + e]; }
        let s = (e - e0) * BRP + row;
        sh[s / 4u][s % 4u] = val;
      }
      for (var x = t; x < BC * EC; x += THREADS) {
        let row = (x / 8u) % BC;
        let e = e0 + x % 8u + 8u * (x / (8u * BC));
        var val = 0.0;
        if (q0 + row < params.nq && e < D) { val = q[(b * params.nq + q0 + row) * D + e]; }
        let s = (e - e0) * BCP + row;
        sh[BT4 + s / 4u][s % 4u] = val;
      }
      workgroupBarrier();
      for (var ee = 0u; ee < ec_steps(); ee++) {
        var a: array<vec4<f32>, RM4>;
        var qb: array<vec4<f32>, RN4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) { a[u] = sh[(ee * BRP + ty * RM) / 4u + u]; }
        /*@unroll*/ for (var u = 0u; u < RN4; u++) { qb[u] = sh[BT4 + (ee * BCP + tx * RN) / 4u + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let av = vec4<f32>(a[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < RN4; u++) { sc[r * RN4 + u] = fma(av, qb[u], sc[r * RN4 + u]); }
        }
      }
    }
    // P, transposed (query tx·RN + c holds this invocation's RM keys as RM4 vec4), written now so the scores'
    // registers are free during the dP GEMM
    /*@unroll*/ for (var c = 0u; c < RN; c++) {
      let i = q0 + tx * RN + c;
      /*@unroll*/ for (var u = 0u; u < RM4; u++) {
        var p = vec4<f32>(0.0);
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let r = 4u * u + w;
          let j = k0 + ty * RM + r;
          if (i < params.nq && j < params.nk && sees(i, j)) { p[w] = prob(sc[r * RN4 + c / 4u][c % 4u], lcol[c].x, lcol[c].y); }
        }
        pt[((tx * RN + c) * BRP + ty * RM) / 4u + u] = p;
      }
    }
    var dp: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { dp[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < dv_steps(); e0 += EC) {
      workgroupBarrier();
      for (var x = t; x < BR * EC; x += THREADS) {
        let row = (x / 8u) % BR;
        let e = e0 + x % 8u + 8u * (x / (8u * BR));
        var val = 0.0;
        if (k0 + row < params.nk && e < DV) { val = v[(b * params.nk + k0 + row) * DV + e]; }
        let s = (e - e0) * BRP + row;
        sh[s / 4u][s % 4u] = val;
      }
      for (var x = t; x < BC * EC; x += THREADS) {
        let row = (x / 8u) % BC;
        let e = e0 + x % 8u + 8u * (x / (8u * BC));
        var val = 0.0;
        if (q0 + row < params.nq && e < DV) { val = dout[(b * params.nq + q0 + row) * DV + e]; }
        let s = (e - e0) * BCP + row;
        sh[BT4 + s / 4u][s % 4u] = val;
      }
      workgroupBarrier();
      for (var ee = 0u; ee < ec_steps(); ee++) {
        var a: array<vec4<f32>, RM4>;
        var gb: array<vec4<f32>, RN4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) { a[u] = sh[(ee * BRP + ty * RM) / 4u + u]; }
        /*@unroll*/ for (var u = 0u; u < RN4; u++) { gb[u] = sh[BT4 + (ee * BCP + tx * RN) / 4u + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let av = vec4<f32>(a[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < RN4; u++) { dp[r * RN4 + u] = fma(av, gb[u], dp[r * RN4 + u]); }
        }
      }
    }
    // dS = P·(dP − D) from this invocation's own P entries (no barrier needed)
    /*@unroll*/ for (var c = 0u; c < RN; c++) {
      /*@unroll*/ for (var u = 0u; u < RM4; u++) {
        let at_c = ((tx * RN + c) * BRP + ty * RM) / 4u + u;
        let p = pt[at_c];
        var g = vec4<f32>(0.0);
        /*@unroll*/ for (var w = 0u; w < 4u; w++) { g[w] = p[w] * (dp[(4u * u + w) * RN4 + c / 4u][c % 4u] - dcol[c]); }
        dst[at_c] = g;
      }
    }
    for (var i0 = 0u; i0 < BC; i0 += JC) {
      workgroupBarrier();
      for (var x = t; x < JC * DP; x += THREADS) {
        let i = q0 + i0 + x / DP;
        let col = x % DP;
        var val = 0.0;
        if (i < params.nq && col < D) { val = q[(b * params.nq + i) * D + col]; }
        sh[x / 4u][x % 4u] = val;
      }
      for (var x = t; x < JC * DVP; x += THREADS) {
        let i = q0 + i0 + x / DVP;
        let col = x % DVP;
        var val = 0.0;
        if (i < params.nq && col < DV) { val = dout[(b * params.nq + i) * DV + col]; }
        sh[OC4 + x / 4u][x % 4u] = val;
      }
      workgroupBarrier();
      for (var ii = 0u; ii < jc_steps(); ii++) {
        var pa: array<vec4<f32>, RM4>;
        var ga: array<vec4<f32>, RM4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) {
          pa[u] = pt[((i0 + ii) * BRP + ty * RM) / 4u + u];
          ga[u] = dst[((i0 + ii) * BRP + ty * RM) / 4u + u];
        }
        var qb: array<vec4<f32>, CD4>;
        /*@unroll*/ for (var u = 0u; u < CD4; u++) { qb[u] = sh[(ii * DP) / 4u + tx * CD4 + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let gv = vec4<f32>(ga[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < CD4; u++) { acc_k[r * CD4 + u] = fma(gv, qb[u], acc_k[r * CD4 + u]); }
        }
        var ob: array<vec4<f32>, CV4>;
        /*@unroll*/ for (var u = 0u; u < CV4; u++) { ob[u] = sh[OC4 + (ii * DVP) / 4u + tx * CV4 + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let pv = vec4<f32>(pa[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < CV4; u++) { acc_v[r * CV4 + u] = fma(pv, ob[u], acc_v[r * CV4 + u]); }
        }
      }
    }
  }

  /*@unroll*/ for (var r = 0u; r < RM; r++) {
    let j = k0 + ty * RM + r;
    if (j < params.nk) {
      /*@unroll*/ for (var u = 0u; u < CD4; u++) {
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let col = (tx * CD4 + u) * 4u + w;
          if (col < D) { dk[(b * params.nk + j) * D + col] = acc_k[r * CD4 + u][w] * params.scale; }
        }
      }
      /*@unroll*/ for (var u = 0u; u < CV4; u++) {
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let col = (tx * CV4 + u) * 4u + w;
          if (col < DV) { dv[(b * params.nk + j) * DV + col] = acc_v[r * CV4 + u][w]; }
        }
      }
    }
  }
}
