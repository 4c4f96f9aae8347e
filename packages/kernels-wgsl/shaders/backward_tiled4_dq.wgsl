// backward_tiled4_dq.wgsl — stage 3, tiled version 4, the pass over query tiles: kernel 3's dQ = scale·dS·K
// (deterministic, register loops unrolled) with every chunk (Qᵀ/Kᵀ and dOᵀ/Vᵀ GEMM chunks, K row chunks) fetched
// as vec4 one chunk ahead (tiles4.wgsl): S chunks → dP chunks → K chunks → the next key tile's S chunks.
// Constants from the host (src/tiling2.ts): as kernel 2, plus CHA4 / CHB4 / CHD4 = vec4 slots per invocation of an
// Aᵀ, Bᵀ and a K row chunk. Limits: D, DV ≡ 0 mod 4 (others run kernel 3), ≤ 256; workgroup memory
// 4·(max(EC·(BRP + BCP), JC·DP) + BC·BRP) bytes.
// #include tiles4.wgsl

@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;

// the GEMM chunks (Qᵀ or dOᵀ at sh[0..], Kᵀ or Vᵀ at sh[BT4..]), and after them the K chunk at sh[0..]
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> dst: array<vec4<f32>, BC * BRP / 4u>;

// A GEMM chunk: rows of the query tile q0 (Q or dO) and of the key tile k0 (K or V), columns e0..e0 + EC, as this
// invocation's vec4 slots of Aᵀ [EC][BR] and Bᵀ [EC][BC].
struct GemmChunk {
  a: array<vec4<f32>, CHA4>,
  b: array<vec4<f32>, CHB4>,
}

fn fetch_qk(t: u32, b: u32, q0: u32, k0: u32, e0: u32) -> GemmChunk {
  var c: GemmChunk;
  /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BR);
    let e = e0 + t_col(x, BR);
    if (x < BR * EC / 4u && q0 + row < params.nq && e < D) { c.a[i] = q[((b * params.nq + q0 + row) * D + e) / 4u]; }
  }
  /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BC);
    let e = e0 + t_col(x, BC);
    if (x < BC * EC / 4u && k0 + row < params.nk && e < D) { c.b[i] = k[((b * params.nk + k0 + row) * D + e) / 4u]; }
  }
  return c;
}

fn fetch_ov(t: u32, b: u32, q0: u32, k0: u32, e0: u32) -> GemmChunk {
  var c: GemmChunk;
  /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BR);
    let e = e0 + t_col(x, BR);
    if (x < BR * EC / 4u && q0 + row < params.nq && e < DV) { c.a[i] = dout[((b * params.nq + q0 + row) * DV + e) / 4u]; }
  }
  /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BC);
    let e = e0 + t_col(x, BC);
    if (x < BC * EC / 4u && k0 + row < params.nk && e < DV) { c.b[i] = v[((b * params.nk + k0 + row) * DV + e) / 4u]; }
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

// Rows j0..j0 + JC of the K tile at key k0, row-major [JC][DP] (zero past nk and D), as this invocation's slots.
fn fetch_krows(t: u32, b: u32, k0: u32, j0: u32) -> array<vec4<f32>, CHD4> {
  var c: array<vec4<f32>, CHD4>;
  /*@unroll*/ for (var i = 0u; i < CHD4; i++) {
    let x = t + i * THREADS;
    let j = k0 + j0 + x / (DP / 4u);
    let col = 4u * (x % (DP / 4u));
    if (x < JC * DP / 4u && j < params.nk && col < D) { c[i] = k[((b * params.nk + j) * D + col) / 4u]; }
  }
  return c;
}

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
  // the next chunk, in registers
  var next_ab = GemmChunk();
  var next_k: array<vec4<f32>, CHD4>;
  if (k_end > 0u) { next_ab = fetch_qk(t, b, q0, 0u, 0u); }
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    // kernel 5: a tile every query of which sees every key skips the per-score masks
    let visible = FAST_INTERIOR && all_visible(q0, BR, k0, BC);
    var sc: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { sc[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < d_steps(); e0 += EC) {
      workgroupBarrier();
      put_gemm(t, next_ab);
      workgroupBarrier();
      // fetch the next chunk: the next columns of S, else the first dP chunk
      if (e0 + EC < d_steps()) { next_ab = fetch_qk(t, b, q0, k0, e0 + EC); } else { next_ab = fetch_ov(t, b, q0, k0, 0u); }
      /*@unroll-gpu EC*/ for (var ee = 0u; ee < ec_steps(); ee++) {
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
          if (visible || (i < params.nq && j < params.nk && sees(i, j))) { p[w] = prob(sc[r * RN4 + c / 4u][c % 4u], lrow[r].x, lrow[r].y); }
        }
        dst[((tx * RN + c) * BRP + ty * RM) / 4u + u] = p;
      }
    }
    var dp: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { dp[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < dv_steps(); e0 += EC) {
      workgroupBarrier();
      put_gemm(t, next_ab);
      workgroupBarrier();
      // fetch the next chunk: the next columns of dP, else the first K row chunk
      if (e0 + EC < dv_steps()) { next_ab = fetch_ov(t, b, q0, k0, e0 + EC); } else { next_k = fetch_krows(t, b, k0, 0u); }
      /*@unroll-gpu EC*/ for (var ee = 0u; ee < ec_steps(); ee++) {
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
      /*@unroll*/ for (var i = 0u; i < CHD4; i++) {
        let x = t + i * THREADS;
        if (x < JC * DP / 4u) { sh[x] = next_k[i]; }
      }
      workgroupBarrier();
      // fetch the next chunk: the next K rows, else the first S chunk of the next key tile
      if (j0 + JC < BC) { next_k = fetch_krows(t, b, k0, j0 + JC); } else if (k0 + BC < k_end) { next_ab = fetch_qk(t, b, q0, k0 + BC, 0u); }
      /*@unroll-gpu JC*/ for (var jj = 0u; jj < jc_steps(); jj++) {
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
