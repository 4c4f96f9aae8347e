// lse_tiled2.wgsl — stage 1, tiled version 2: scores by a register-tiled GEMM over d chunks, never leaving the workgroup.
// Constants from the host (src/tiling2.ts): D, BR queries and BC keys per tile, TX × TY invocations, RM × RN scores
// per invocation (rows ty·RM + r, keys tx·RN + c: contiguous, so read as RM4 / RN4 vec4), EC d-columns per chunk,
// BRP = BR + 4 and BCP = BC + 4 row strides of the transposed chunks, THREADS = TX·TY.
// Per key tile: S = Σ over d chunks of Qᵀ-chunk × Kᵀ-chunk (both [EC][·+4] in workgroup memory, zero-filled past nq,
// nk, d); then per row a tile-wise logsumexp update (one max, one exp per score, one rescale per row and tile). At the
// end the TX partial states of a row are merged in a fixed order (once per workgroup: subgroups would not pay here)
// and the row's (lse, a_ref, c) written (common.wgsl).
// Causal: key tiles past the last key the workgroup's last query sees are skipped; masking is per element.
// Limits: any D ≤ 256, nq, nk, bh; workgroup memory 4·(EC·(BRP + BCP) + 2·BR·TX) bytes.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

// the GEMM chunks: Qᵀ at sh[0..], Kᵀ at sh[BT4..]
var<workgroup> sh: array<vec4<f32>, SH4>;
var<workgroup> part_m: array<f32, BR * TX>;
var<workgroup> part_l: array<f32, BR * TX>;

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
    /*@unroll*/ for (var r = 0u; r < RM; r++) {
      let i = q0 + ty * RM + r;
      var tmax = LOWEST;
      var seen = false;
      /*@unroll*/ for (var c = 0u; c < RN; c++) {
        let j = k0 + tx * RN + c;
        if (i < params.nq && j < params.nk && sees(i, j)) {
          tmax = max(tmax, lse_unit(sc[r * RN4 + c / 4u][c % 4u]));
          seen = true;
        }
      }
      if (seen) {
        let mn = max(m[r], tmax);
        var sum = 0.0;
        /*@unroll*/ for (var c = 0u; c < RN; c++) {
          let j = k0 + tx * RN + c;
          if (j < params.nk && sees(i, j)) { sum += lse_term(lse_unit(sc[r * RN4 + c / 4u][c % 4u]), mn); }
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
