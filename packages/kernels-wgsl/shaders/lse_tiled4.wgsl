// lse_tiled4.wgsl — stage 1, tiled version 4: kernel 3 (register-tiled S = Q·Kᵀ over d chunks, per-row tile-wise
// logsumexp, loops over registers unrolled) with the chunks fetched as vec4 one chunk ahead (tiles4.wgsl): the
// global loads of chunk c + 1 are in flight while chunk c is multiplied; each row's (lse, a_ref, c) is written as in
// kernel 2 (common.wgsl).
// Constants from the host (src/tiling2.ts): as kernel 2, plus CHA4 / CHB4 = vec4 slots per invocation of a Qᵀ / Kᵀ
// chunk. Limits: D ≡ 0 mod 4 (other D run kernel 3), D ≤ 256; workgroup memory 4·(EC·(BRP + BCP) + 2·BR·TX) bytes.
// #include tiles4.wgsl

@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

// the GEMM chunks: Qᵀ at sh[0..], Kᵀ at sh[BT4..]
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> part_m: array<f32, BR * TX>;
var<workgroup> part_l: array<f32, BR * TX>;

// A Qᵀ chunk and a Kᵀ chunk (query tile q0, key tile k0, columns e0..e0 + EC) as this invocation's vec4 slots.
struct Chunk {
  q: array<vec4<f32>, CHA4>,
  k: array<vec4<f32>, CHB4>,
}

fn fetch(t: u32, b: u32, q0: u32, k0: u32, e0: u32) -> Chunk {
  var c: Chunk;
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

  var m: array<f32, RM>;
  var l: array<f32, RM>;
  /*@unroll*/ for (var r = 0u; r < RM; r++) { m[r] = LOWEST; l[r] = 0.0; }
  let k_end = key_end(min(q0 + BR, params.nq) - 1u);

  // the chunk in registers, fetched one chunk ahead
  var next = Chunk();
  if (k_end > 0u) { next = fetch(t, b, q0, 0u, 0u); }
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    // kernel 5: a tile every query of which sees every key skips the per-score masks
    let visible = FAST_INTERIOR && all_visible(q0, BR, k0, BC);
    var sc: array<vec4<f32>, RM * RN4>;
    /*@unroll*/ for (var u = 0u; u < RM * RN4; u++) { sc[u] = vec4<f32>(0.0); }
    for (var e0 = 0u; e0 < d_steps(); e0 += EC) {
      workgroupBarrier();
      /*@unroll*/ for (var i = 0u; i < CHA4; i++) {
        let x = t + i * THREADS;
        if (x < BR * EC / 4u) { put_t(0u, BRP, t_row(x, BR), t_col(x, BR), next.q[i]); }
      }
      /*@unroll*/ for (var i = 0u; i < CHB4; i++) {
        let x = t + i * THREADS;
        if (x < BC * EC / 4u) { put_t(4u * BT4, BCP, t_row(x, BC), t_col(x, BC), next.k[i]); }
      }
      workgroupBarrier();
      // fetch the next chunk: the next columns of this key tile, else the first of the next key tile
      var nk0 = k0;
      var ne0 = e0 + EC;
      if (ne0 >= d_steps()) { nk0 = k0 + BC; ne0 = 0u; }
      if (nk0 < k_end) { next = fetch(t, b, q0, nk0, ne0); }
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
    /*@unroll*/ for (var r = 0u; r < RM; r++) {
      let i = q0 + ty * RM + r;
      var tmax = LOWEST;
      var seen = false;
      /*@unroll*/ for (var c = 0u; c < RN; c++) {
        let j = k0 + tx * RN + c;
        if (visible || (i < params.nq && j < params.nk && sees(i, j))) {
          tmax = max(tmax, lse_unit(sc[r * RN4 + c / 4u][c % 4u]));
          seen = true;
        }
      }
      if (seen) {
        let mn = max(m[r], tmax);
        var sum = 0.0;
        /*@unroll*/ for (var c = 0u; c < RN; c++) {
          let j = k0 + tx * RN + c;
          if (visible || (j < params.nk && sees(i, j))) { sum += lse_term(lse_unit(sc[r * RN4 + c / 4u][c % 4u]), mn); }
        }
        l[r] = l[r] * lse_term(m[r], mn) + sum;
        m[r] = mn;
      }
    }
  }

  /*@unroll*/ for (var r = 0u; r < RM; r++) {
    part_m[(ty * RM + r) * TX + tx] = m[r];
    part_l[(ty * RM + r) * TX + tx] = l[r];
  }
  workgroupBarrier();
  for (var row = t; row < BR; row += THREADS) {
    if (q0 + row < params.nq) {
      var tot = Lse(LOWEST, 0.0);
      for (var u = 0u; u < TX; u++) { tot = lse_merge(tot, Lse(part_m[row * TX + u], part_l[row * TX + u])); }
      let out = lse_triple(tot);
      lse[lse_at(0u, b * params.nq + q0 + row)] = out.x;
      lse[lse_at(1u, b * params.nq + q0 + row)] = out.y;
      lse[lse_at(2u, b * params.nq + q0 + row)] = out.z;
    }
  }
}
