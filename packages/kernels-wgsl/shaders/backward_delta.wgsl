// backward_delta.wgsl — stage 3 pre-pass, shared by both variants: D_i = Σ_c dO[i, c]·O[i, c], one float per query.
// One invocation per query row (64 per workgroup); the pass is O(bh·nq·dv), negligible next to the main passes.
// Limits: any dv, nq.

@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> o: array<f32>;
@group(0) @binding(10) var<storage, read_write> delta: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row = work_item(wid, nwg) * 64u + t;
  if (row >= params.bh * params.nq) { return; }
  let base = row * params.dv;
  var acc = 0.0;
  for (var c = 0u; c < params.dv; c++) { acc = fma(dout[base + c], o[base + c], acc); }
  delta[row] = acc;
}
