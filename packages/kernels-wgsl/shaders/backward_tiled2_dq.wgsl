// backward_tiled2_dq.wgsl — stage 3, tiled version 2, the pass over query tiles: dQ = scale·dS·K, deterministic.
// Constants from the host (src/tiling2.ts): D, DV, BR queries and BC keys per tile, TX × TY invocations, RM × RN
// scores per invocation (rows ty·RM + r, keys tx·RN + c: vec4 reads), EC columns per GEMM chunk, JC keys per K chunk,
// BRP = BR + 4, BCP = BC + 4, DP = D rounded up to 4·TX, CD4 = DP/(4·TX).
// Per key tile: S = Q·Kᵀ by chunks of d and dP = dO·Vᵀ by chunks of dv (the same two chunk buffers [EC][·+4]),
// dS = P·(dP − D) with P = exp(S·scale − lse) (prob(): from the row's a_ref and c, common.wgsl; 0 where masked)
// stored transposed, dst [BC][BRP]; then dQ rows ty·RM + r, columns tx·4·CD4 + … += dS·K with K streamed in
// row-major chunks kc [JC][DP], in key order.
// Causal: key tiles past the last key the workgroup's last query sees are skipped; a fully masked row keeps dQ = 0.
// Limits: any D, DV ≤ 256, nq, nk, bh; workgroup memory 4·(max(EC·(BRP + BCP), JC·DP) + BC·BRP) bytes.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;

// the GEMM chunks (Qᵀ or dOᵀ at sh[0..], Kᵀ or Vᵀ at sh[BT4..]), and after them the K chunk at sh[0..]
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> dst: array<vec4<f32>, BC * BRP / 4u>;

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

  var lrow: array<vec2<f32>, RM>;
  var drow: array<f32, RM>;
  /*@unroll*/ for (var r = 0u; r < RM; r++) {
    let i = q0 + ty * RM + r;
    lrow[r] = vec2<f32>(0.0);
    drow[r] = 0.0;
    if (i < params.nq) {
      lrow[r] = vec2<f32>(lse[lse_at(1u, b * params.nq + i)], lse[lse_at(2u, b * params.nq + i)]);
      drow[r] = delta[b * params.nq + i];
    }
  }
  var acc: array<vec4<f32>, RM * CD4>;
  /*@unroll*/ for (var u = 0u; u < RM * CD4; u++) { acc[u] = vec4<f32>(0.0); }

  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
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
        if (q0 + row < params.nq && e < D) { val = q[(b * params.nq + q0 + row) * D + e]; }
        let s = (e - e0) * BRP + row;
        sh[s / 4u][s % 4u] = val;
      }
      for (var x = t; x < BC * EC; x += THREADS) {
        let row = (x / 8u) % BC;
        let e = e0 + x % 8u + 8u * (x / (8u * BC));
        var val = 0.0;
        if (k0 + row < params.nk && e < D) { val = k[(b * params.nk + k0 + row) * D + e]; }
        let s = (e - e0) * BCP + row;
        sh[BT4 + s / 4u][s % 4u] = val;
      }
      workgroupBarrier();
      for (var ee = 0u; ee < ec_steps(); ee++) {
        var a: array<vec4<f32>, RM4>;
        var kb: array<vec4<f32>, RN4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) { a[u] = sh[(ee * BRP + ty * RM) / 4u + u]; }
        /*@unroll*/ for (var u = 0u; u < RN4; u++) { kb[u] = sh[BT4 + (ee * BCP + tx * RN) / 4u + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let av = vec4<f32>(a[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < RN4; u++) { sc[r * RN4 + u] = fma(av, kb[u], sc[r * RN4 + u]); }
        }
      }
    }
    // P, transposed (key tx·RN + c holds this invocation's RM rows as RM4 vec4), written now so the scores'
    // registers are free during the dP GEMM
    /*@unroll*/ for (var c = 0u; c < RN; c++) {
      let j = k0 + tx * RN + c;
      /*@unroll*/ for (var u = 0u; u < RM4; u++) {
        var p = vec4<f32>(0.0);
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let r = 4u * u + w;
          let i = q0 + ty * RM + r;
          if (i < params.nq && j < params.nk && sees(i, j)) { p[w] = prob(sc[r * RN4 + c / 4u][c % 4u], lrow[r].x, lrow[r].y); }
        }
        dst[((tx * RN + c) * BRP + ty * RM) / 4u + u] = p;
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
        if (q0 + row < params.nq && e < DV) { val = dout[(b * params.nq + q0 + row) * DV + e]; }
        let s = (e - e0) * BRP + row;
        sh[s / 4u][s % 4u] = val;
      }
      for (var x = t; x < BC * EC; x += THREADS) {
        let row = (x / 8u) % BC;
        let e = e0 + x % 8u + 8u * (x / (8u * BC));
        var val = 0.0;
        if (k0 + row < params.nk && e < DV) { val = v[(b * params.nk + k0 + row) * DV + e]; }
        let s = (e - e0) * BCP + row;
        sh[BT4 + s / 4u][s % 4u] = val;
      }
      workgroupBarrier();
      for (var ee = 0u; ee < ec_steps(); ee++) {
        var a: array<vec4<f32>, RM4>;
        var vb: array<vec4<f32>, RN4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) { a[u] = sh[(ee * BRP + ty * RM) / 4u + u]; }
        /*@unroll*/ for (var u = 0u; u < RN4; u++) { vb[u] = sh[BT4 + (ee * BCP + tx * RN) / 4u + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let av = vec4<f32>(a[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < RN4; u++) { dp[r * RN4 + u] = fma(av, vb[u], dp[r * RN4 + u]); }
        }
      }
    }
    // dS = P·(dP − D), in place over this invocation's own P entries (no barrier needed)
    /*@unroll*/ for (var c = 0u; c < RN; c++) {
      /*@unroll*/ for (var u = 0u; u < RM4; u++) {
        let at_c = ((tx * RN + c) * BRP + ty * RM) / 4u + u;
        let p = dst[at_c];
        var g = vec4<f32>(0.0);
        /*@unroll*/ for (var w = 0u; w < 4u; w++) { g[w] = p[w] * (dp[(4u * u + w) * RN4 + c / 4u][c % 4u] - drow[4u * u + w]); }
        dst[at_c] = g;
      }
    }
    for (var j0 = 0u; j0 < BC; j0 += JC) {
      workgroupBarrier();
      for (var x = t; x < JC * DP; x += THREADS) {
        let j = k0 + j0 + x / DP;
        let col = x % DP;
        var val = 0.0;
        if (j < params.nk && col < D) { val = k[(b * params.nk + j) * D + col]; }
        sh[x / 4u][x % 4u] = val;
      }
      workgroupBarrier();
      for (var jj = 0u; jj < jc_steps(); jj++) {
        var ga: array<vec4<f32>, RM4>;
        var kb: array<vec4<f32>, CD4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) { ga[u] = dst[((j0 + jj) * BRP + ty * RM) / 4u + u]; }
        /*@unroll*/ for (var u = 0u; u < CD4; u++) { kb[u] = sh[(jj * DP) / 4u + tx * CD4 + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let gv = vec4<f32>(ga[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < CD4; u++) { acc[r * CD4 + u] = fma(gv, kb[u], acc[r * CD4 + u]); }
        }
      }
    }
  }

  /*@unroll*/ for (var r = 0u; r < RM; r++) {
    let i = q0 + ty * RM + r;
    if (i < params.nq) {
      /*@unroll*/ for (var u = 0u; u < CD4; u++) {
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let col = (tx * CD4 + u) * 4u + w;
          if (col < D) { dq[(b * params.nq + i) * D + col] = acc[r * CD4 + u][w] * params.scale; }
        }
      }
    }
  }
}
