// forward_tiled4.wgsl — stage 2 given lse, tiled version 4: kernel 3 (register-tiled S = Q·Kᵀ and O += P·V, P never
// leaves the workgroup, register loops unrolled) with every chunk (Qᵀ/Kᵀ GEMM chunks, V chunks) fetched as vec4 one
// chunk ahead (tiles4.wgsl): the loads of the next chunk, of this key tile or the next, are in flight while the
// current one is multiplied. Constants from the host (src/tiling2.ts): as kernel 2, plus CHA4 / CHB4 / CHV4 = vec4
// slots per invocation of a Qᵀ, Kᵀ, V chunk. Limits: D, DV ≡ 0 mod 4 (others run kernel 3), ≤ 256; workgroup memory
// 4·(max(EC·(BRP + BCP), JC·DVP) + BC·BRP) bytes.
// #include tiles4.wgsl

@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> o: array<f32>;

// the GEMM chunks (Qᵀ at sh[0..], Kᵀ at sh[BT4..]), and after them the V chunk at sh[0..]: never live at once
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> pt: array<vec4<f32>, BC * BRP / 4u>;

// A Qᵀ chunk and a Kᵀ chunk (query tile q0, key tile k0, columns e0..e0 + EC) as this invocation's vec4 slots.
struct QkChunk {
  q: array<vec4<f32>, CHA4>,
  k: array<vec4<f32>, CHB4>,
}

fn fetch_qk(t: u32, b: u32, q0: u32, k0: u32, e0: u32) -> QkChunk {
  var c: QkChunk;
  /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BR);
    let e = e0 + t_col(x, BR);
    if (x < BR * EC / 4u && q0 + row < params.nq && e < D) { c.q[i] = q[((b * params.nq + q0 + row) * D + e) / 4u]; }
  }
  /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
    let x = t + i * THREADS;
    let row = t_row(x, BC);
    let e = e0 + t_col(x, BC);
    if (x < BC * EC / 4u && k0 + row < params.nk && e < D) { c.k[i] = k[((b * params.nk + k0 + row) * D + e) / 4u]; }
  }
  return c;
}

// Rows j0..j0 + JC of the V tile at key k0, row-major [JC][DVP] (zero past nk and DV), as this invocation's slots.
fn fetch_v(t: u32, b: u32, k0: u32, j0: u32) -> array<vec4<f32>, CHV4> {
  var c: array<vec4<f32>, CHV4>;
  /*@unroll*/ for (var i = 0u; i < CHV4; i++) {
    let x = t + i * THREADS;
    let j = k0 + j0 + x / (DVP / 4u);
    let col = 4u * (x % (DVP / 4u));
    if (x < JC * DVP / 4u && j < params.nk && col < DV) { c[i] = v[((b * params.nk + j) * DV + col) / 4u]; }
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
  /*@unroll*/ for (var r = 0u; r < RM; r++) {
    let i = q0 + ty * RM + r;
    lrow[r] = vec2<f32>(0.0);
    if (i < params.nq) { lrow[r] = vec2<f32>(lse[lse_at(1u, b * params.nq + i)], lse[lse_at(2u, b * params.nq + i)]); }
  }
  var acc: array<vec4<f32>, RM * CV4>;
  /*@unroll*/ for (var u = 0u; u < RM * CV4; u++) { acc[u] = vec4<f32>(0.0); }

  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  // the next chunk, in registers
  var next_qk = QkChunk();
  var next_v: array<vec4<f32>, CHV4>;
  if (k_end > 0u) { next_qk = fetch_qk(t, b, q0, 0u, 0u); }
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    // kernel 5: a tile every query of which sees every key skips the per-score masks
    let visible = FAST_INTERIOR && all_visible(q0, BR, k0, BC);
    var sc: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { sc[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < d_steps(); e0 += EC) {
      workgroupBarrier();
      /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
        let x = t + i * THREADS;
        if (x < BR * EC / 4u) { put_t(0u, BRP, t_row(x, BR), t_col(x, BR), next_qk.q[i]); }
      }
      /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
        let x = t + i * THREADS;
        if (x < BC * EC / 4u) { put_t(4u * BT4, BCP, t_row(x, BC), t_col(x, BC), next_qk.k[i]); }
      }
      workgroupBarrier();
      // fetch the next chunk: the next columns of this key tile, else the first V chunk
      if (e0 + EC < d_steps()) { next_qk = fetch_qk(t, b, q0, k0, e0 + EC); } else { next_v = fetch_v(t, b, k0, 0u); }
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
    // P, transposed: key tx·RN + c holds the RM probabilities of this invocation's rows as RM4 vec4
    /*@unroll*/ for (var c = 0u; c < RN; c++) {
      let j = k0 + tx * RN + c;
      /*@unroll*/ for (var u = 0u; u < RM4; u++) {
        var p = vec4<f32>(0.0);
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let r = 4u * u + w;
          let i = q0 + ty * RM + r;
          if (visible || (i < params.nq && j < params.nk && sees(i, j))) { p[w] = prob(sc[r * RN4 + c / 4u][c % 4u], lrow[r].x, lrow[r].y); }
        }
        pt[((tx * RN + c) * BRP + ty * RM) / 4u + u] = p;
      }
    }
    for (var j0 = 0u; j0 < BC; j0 += JC) {
      workgroupBarrier();
      /*@unroll*/ for (var i = 0u; i < CHV4; i++) {
        let x = t + i * THREADS;
        if (x < JC * DVP / 4u) { sh[x] = next_v[i]; }
      }
      workgroupBarrier();
      // fetch the next chunk: the next V rows, else the first Qᵀ/Kᵀ chunk of the next key tile
      if (j0 + JC < BC) { next_v = fetch_v(t, b, k0, j0 + JC); } else if (k0 + BC < k_end) { next_qk = fetch_qk(t, b, q0, k0 + BC, 0u); }
      /*@unroll-gpu JC*/ for (var jj = 0u; jj < jc_steps(); jj++) {
        var pa: array<vec4<f32>, RM4>;
        var vb: array<vec4<f32>, CV4>;
        /*@unroll*/ for (var u = 0u; u < RM4; u++) { pa[u] = pt[((j0 + jj) * BRP + ty * RM) / 4u + u]; }
        /*@unroll*/ for (var u = 0u; u < CV4; u++) { vb[u] = sh[(jj * DVP) / 4u + tx * CV4 + u]; }
        /*@unroll*/ for (var r = 0u; r < RM; r++) {
          let pv = vec4<f32>(pa[r / 4u][r % 4u]);
          /*@unroll*/ for (var u = 0u; u < CV4; u++) { acc[r * CV4 + u] = fma(pv, vb[u], acc[r * CV4 + u]); }
        }
      }
    }
  }

  /*@unroll*/ for (var r = 0u; r < RM; r++) {
    let i = q0 + ty * RM + r;
    if (i < params.nq) {
      /*@unroll*/ for (var u = 0u; u < CV4; u++) {
        /*@unroll*/ for (var w = 0u; w < 4u; w++) {
          let col = (tx * CV4 + u) * 4u + w;
          if (col < DV) { o[(b * params.nq + i) * DV + col] = acc[r * CV4 + u][w]; }
        }
      }
    }
  }
}
