// backward_tiled4_dkdv.wgsl — stage 3, tiled version 4, the pass over key tiles: kernel 3's dK = scale·dSᵀ·Q,
// dV = Pᵀ·dO (deterministic, register loops unrolled) with every chunk (Kᵀ/Qᵀ and Vᵀ/dOᵀ GEMM chunks, Q and dO row
// chunks) fetched as vec4 one chunk ahead (tiles4.wgsl): S chunks → dP chunks → Q/dO row chunks → the next query
// tile's S chunks. Constants from the host (src/tiling2.ts): as kernel 2, plus CHA4 / CHB4 / CHD4 / CHV4 = vec4
// slots per invocation of an Aᵀ, Bᵀ, Q row and dO row chunk. Limits: D, DV ≡ 0 mod 4 (others run kernel 3), ≤ 256;
// workgroup memory 4·(max(EC·(BRP + BCP), JC·(DP + DVP)) + 2·BC·BRP) bytes.
// #include tiles4.wgsl

@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;

// the GEMM chunks (Kᵀ or Vᵀ at sh[0..], Qᵀ or dOᵀ at sh[BT4..]), and after them the Q chunk at sh[0..] and the dO
// chunk at sh[OC4..]: never live at once
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> pt: array<vec4<f32>, BC * BRP / 4u>;
var<workgroup> dst: array<vec4<f32>, BC * BRP / 4u>;

// A GEMM chunk: rows of the key tile k0 (K or V) and of the query tile q0 (Q or dO), columns e0..e0 + EC, as this
// invocation's vec4 slots of Aᵀ [EC][BR] and Bᵀ [EC][BC].
struct GemmChunk {
  a: array<vec4<f32>, CHA4>,
  b: array<vec4<f32>, CHB4>,
}

fn fetch_kq(t: u32, b: u32, k0: u32, q0: u32, e0: u32) -> GemmChunk {
  var c: GemmChunk;
  /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BR);
    let e = e0 + t_col(x, BR);
    if (x < BR * EC / 4u && k0 + row < params.nk && e < D) { c.a[i] = k[((b * params.nk + k0 + row) * D + e) / 4u]; }
  }
  /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BC);
    let e = e0 + t_col(x, BC);
    if (x < BC * EC / 4u && q0 + row < params.nq && e < D) { c.b[i] = q[((b * params.nq + q0 + row) * D + e) / 4u]; }
  }
  return c;
}

fn fetch_vo(t: u32, b: u32, k0: u32, q0: u32, e0: u32) -> GemmChunk {
  var c: GemmChunk;
  /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BR);
    let e = e0 + t_col(x, BR);
    if (x < BR * EC / 4u && k0 + row < params.nk && e < DV) { c.a[i] = v[((b * params.nk + k0 + row) * DV + e) / 4u]; }
  }
  /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BC);
    let e = e0 + t_col(x, BC);
    if (x < BC * EC / 4u && q0 + row < params.nq && e < DV) { c.b[i] = dout[((b * params.nq + q0 + row) * DV + e) / 4u]; }
  }
  return c;
}

fn put_gemm(t: u32, c: GemmChunk) {
  /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
    let x = t + i * THREADS;
    if (x < BR * EC / 4u) { put_t(0u, BRP, t_row(x, BR), t_col(x, BR), c.a[i]); }
  }
  /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
    let x = t + i * THREADS;
    if (x < BC * EC / 4u) { put_t(4u * BT4, BCP, t_row(x, BC), t_col(x, BC), c.b[i]); }
  }
}

// Rows i0..i0 + JC of the Q and dO tiles at query q0, row-major [JC][DP] and [JC][DVP] (zero past nq, D, DV).
struct RowChunk {
  q: array<vec4<f32>, CHD4>,
  o: array<vec4<f32>, CHV4>,
}

fn fetch_rows(t: u32, b: u32, q0: u32, i0: u32) -> RowChunk {
  var c: RowChunk;
  /*@unroll*/ for (var i = 0u; i < CHD4; i++) {
    let x = t + i * THREADS;
    let row = q0 + i0 + x / (DP / 4u);
    let col = 4u * (x % (DP / 4u));
    if (x < JC * DP / 4u && row < params.nq && col < D) { c.q[i] = q[((b * params.nq + row) * D + col) / 4u]; }
  }
  /*@unroll*/ for (var i = 0u; i < CHV4; i++) {
    let x = t + i * THREADS;
    let row = q0 + i0 + x / (DVP / 4u);
    let col = 4u * (x % (DVP / 4u));
    if (x < JC * DVP / 4u && row < params.nq && col < DV) { c.o[i] = dout[((b * params.nq + row) * DV + col) / 4u]; }
  }
  return c;
}

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
  // the next chunk, in registers
  var next_ab = GemmChunk();
  var next_rows = RowChunk();
  if (q_begin < params.nq) { next_ab = fetch_kq(t, b, k0, q_begin, 0u); }
  for (var q0 = q_begin; q0 < params.nq; q0 += BC) {
    // kernel 5: a tile every query of which sees every key skips the per-score masks
    let visible = FAST_INTERIOR && all_visible(q0, BC, k0, BR);
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
      put_gemm(t, next_ab);
      workgroupBarrier();
      // fetch the next chunk: the next columns of S, else the first dP chunk
      if (e0 + EC < d_steps()) { next_ab = fetch_kq(t, b, k0, q0, e0 + EC); } else { next_ab = fetch_vo(t, b, k0, q0, 0u); }
      /*@unroll-gpu EC*/ for (var ee = 0u; ee < ec_steps(); ee++) {
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
          if (visible || (i < params.nq && j < params.nk && sees(i, j))) { p[w] = prob(sc[r * RN4 + c / 4u][c % 4u], lcol[c].x, lcol[c].y); }
        }
        pt[((tx * RN + c) * BRP + ty * RM) / 4u + u] = p;
      }
    }
    var dp: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { dp[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < dv_steps(); e0 += EC) {
      workgroupBarrier();
      put_gemm(t, next_ab);
      workgroupBarrier();
      // fetch the next chunk: the next columns of dP, else the first Q/dO row chunk
      if (e0 + EC < dv_steps()) { next_ab = fetch_vo(t, b, k0, q0, e0 + EC); } else { next_rows = fetch_rows(t, b, q0, 0u); }
      /*@unroll-gpu EC*/ for (var ee = 0u; ee < ec_steps(); ee++) {
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
      /*@unroll*/ for (var i = 0u; i < CHD4; i++) {
        let x = t + i * THREADS;
        if (x < JC * DP / 4u) { sh[x] = next_rows.q[i]; }
      }
      /*@unroll*/ for (var i = 0u; i < CHV4; i++) {
        let x = t + i * THREADS;
        if (x < JC * DVP / 4u) { sh[OC4 + x] = next_rows.o[i]; }
      }
      workgroupBarrier();
      // fetch the next chunk: the next Q/dO rows, else the first S chunk of the next query tile
      if (i0 + JC < BC) { next_rows = fetch_rows(t, b, q0, i0 + JC); } else if (q0 + BC < params.nq) { next_ab = fetch_kq(t, b, k0, q0 + BC, 0u); }
      /*@unroll-gpu JC*/ for (var ii = 0u; ii < jc_steps(); ii++) {
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
