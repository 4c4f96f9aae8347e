// lse_tiled.wgsl — stage 1, tiled: scores never leave the workgroup.
// Constants from the host (src/tiling.ts): D (head dim), BR queries per workgroup, BC keys per streamed tile,
// TX × TY invocations, RM = BR/TY query rows and RN = BC/TX keys per invocation, THREADS = TX·TY, KP = BC + 1.
// Loop bounds d_steps(), dv_steps(), tile_steps(left) also come from the host: constants (unrolled) on a GPU, runtime
// values on a CPU adapter, where unrolling only makes compiles slow.
// Tiling: a workgroup owns BR queries of one bh (Q tile in workgroup memory, row-major) and streams the keys in
// tiles of BC (Kᵀ in workgroup memory, rows padded to KP against bank conflicts, zero-filled past nk).
// Each invocation computes an RM × RN block of scores (rows ty + TY·r, keys tx + TX·c) from registers and keeps an
// online logsumexp per row over its own keys; at the end the TX partial states of a row are merged in a fixed order
// and the row's (lse, a_ref, c) written (common.wgsl).
// Causal: key tiles past the last key the workgroup's last query sees are skipped; masking is per element.
// Limits: D ≤ 256 (workgroup memory 4·(BR·D + D·KP + 2·BR·TX) bytes, picked to fit the adapter); any nq, nk, bh.

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

var<workgroup> qs: array<f32, BR * D>;
var<workgroup> kt: array<f32, D * KP>;
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

  for (var x = t; x < BR * D; x += THREADS) {
    let i = q0 + x / D;
    var val = 0.0;
    if (i < params.nq) { val = q[(b * params.nq + i) * D + x % D]; }
    qs[x] = val;
  }

  var st: array<Lse, RM>;
  for (var r = 0u; r < RM; r++) { st[r] = Lse(LOWEST, 0.0); }
  let k_end = key_end(min(q0 + BR, params.nq) - 1u);
  for (var k0 = 0u; k0 < k_end; k0 += BC) {
    workgroupBarrier();
    for (var x = t; x < BC * D; x += THREADS) {
      let j = x / D;
      let e = x % D;
      var val = 0.0;
      if (k0 + j < params.nk) { val = k[(b * params.nk + k0 + j) * D + e]; }
      kt[e * KP + j] = val;
    }
    workgroupBarrier();

    // zeroed explicitly: a var declared in a loop body is not reliably re-zeroed per iteration by every compiler
    var sc: array<array<f32, RN>, RM>;
    for (var r = 0u; r < RM; r++) { for (var c = 0u; c < RN; c++) { sc[r][c] = 0.0; } }
    for (var e = 0u; e < d_steps(); e++) {
      var kv: array<f32, RN>;
      for (var c = 0u; c < RN; c++) { kv[c] = kt[e * KP + tx + TX * c]; }
      for (var r = 0u; r < RM; r++) {
        let qv = qs[(ty + TY * r) * D + e];
        for (var c = 0u; c < RN; c++) { sc[r][c] = fma(qv, kv[c], sc[r][c]); }
      }
    }
    for (var r = 0u; r < RM; r++) {
      let i = q0 + ty + TY * r;
      for (var c = 0u; c < RN; c++) {
        let j = k0 + tx + TX * c;
        if (i < params.nq && j < params.nk && sees(i, j)) { st[r] = lse_push(st[r], lse_unit(sc[r][c])); }
      }
    }
  }

  for (var r = 0u; r < RM; r++) {
    part_m[(ty + TY * r) * TX + tx] = st[r].m;
    part_l[(ty + TY * r) * TX + tx] = st[r].l;
  }
  workgroupBarrier();
  if (tx == 0u) {
    for (var r = 0u; r < RM; r++) {
      let row = ty + TY * r;
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
}
