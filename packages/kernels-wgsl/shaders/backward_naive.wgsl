// backward_naive.wgsl — stage 3 given lse and D, naive: P and dS [bh, nq, nk] in global memory.
//   probs:  as forward_naive's: one invocation per (query, key) of a 16×16 block writes P (prob(), common.wgsl; 0
//           where masked).
//   dscore: one invocation per (query, key) computes dP = dO_i·V_j and writes dS = P·(dP − D_i) (0 where masked).
//   dq:     a 16×16 workgroup covers 16 queries × 16 columns of d: dQ[i, c] = scale·Σ_j dS[i, j]·K[j, c].
//   dkdv:   a 16×16 workgroup covers 16 keys × 16 columns of max(d, dv): dK[j, c] = scale·Σ_i dS[i, j]·Q[i, c] and
//           dV[j, c] = Σ_i P[i, j]·dO[i, c], over the queries that see key j. Every sum runs in a fixed order.
// Limits: any d, dv, nq, nk; P and dS must each fit one storage binding (the host checks up front).

@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<f32>;
@group(0) @binding(8) var<storage, read_write> dk: array<f32>;
@group(0) @binding(9) var<storage, read_write> dv: array<f32>;
@group(0) @binding(10) var<storage, read> delta: array<f32>;
@group(0) @binding(11) var<storage, read_write> s: array<f32>;
@group(0) @binding(12) var<storage, read_write> ds: array<f32>;

struct Cell {
  b: u32,
  i: u32,
  j: u32,
  ok: bool,
}

// (bh, query, key) of one invocation of a 16×16 block; ok is false past the edges.
fn cell(wid: vec3<u32>, nwg: vec3<u32>, lid: vec3<u32>, rows: u32, cols: u32) -> Cell {
  let tiles_j = (cols + 15u) / 16u;
  let tiles = ((rows + 15u) / 16u) * tiles_j;
  let item = work_item(wid, nwg);
  if (item >= params.bh * tiles) { return Cell(0u, 0u, 0u, false); }
  let i = ((item % tiles) / tiles_j) * 16u + lid.y;
  let j = (item % tiles_j) * 16u + lid.x;
  return Cell(item / tiles, i, j, i < rows && j < cols);
}

@compute @workgroup_size(16, 16)
fn probs(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
         @builtin(local_invocation_id) lid: vec3<u32>) {
  let x = cell(wid, nwg, lid, params.nq, params.nk);
  if (!x.ok) { return; }
  var p = 0.0;
  if (sees(x.i, x.j)) {
    let qo = (x.b * params.nq + x.i) * params.d;
    let ko = (x.b * params.nk + x.j) * params.d;
    var acc = 0.0;
    for (var e = 0u; e < params.d; e++) { acc = fma(q[qo + e], k[ko + e], acc); }
    p = prob(acc, lse[lse_at(1u, x.b * params.nq + x.i)], lse[lse_at(2u, x.b * params.nq + x.i)]);
  }
  s[(x.b * params.nq + x.i) * params.nk + x.j] = p;
}

@compute @workgroup_size(16, 16)
fn dscore(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let x = cell(wid, nwg, lid, params.nq, params.nk);
  if (!x.ok) { return; }
  let at = (x.b * params.nq + x.i) * params.nk + x.j;
  var g = 0.0;
  if (sees(x.i, x.j)) {
    let oo = (x.b * params.nq + x.i) * params.dv;
    let vo = (x.b * params.nk + x.j) * params.dv;
    var dp = 0.0;
    for (var c = 0u; c < params.dv; c++) { dp = fma(dout[oo + c], v[vo + c], dp); }
    g = s[at] * (dp - delta[x.b * params.nq + x.i]);
  }
  ds[at] = g;
}

@compute @workgroup_size(16, 16)
fn dq_pass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
           @builtin(local_invocation_id) lid: vec3<u32>) {
  let x = cell(wid, nwg, lid, params.nq, params.d);
  if (!x.ok) { return; }
  let c = x.j;
  let end = key_end(x.i);
  let so = (x.b * params.nq + x.i) * params.nk;
  let ko = x.b * params.nk * params.d + c;
  var acc = 0.0;
  for (var j = 0u; j < end; j++) { acc = fma(ds[so + j], k[ko + j * params.d], acc); }
  dq[(x.b * params.nq + x.i) * params.d + c] = acc * params.scale;
}

@compute @workgroup_size(16, 16)
fn dkdv_pass(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
  let x = cell(wid, nwg, lid, params.nk, max(params.d, params.dv));
  if (!x.ok) { return; }
  let j = x.i;
  let c = x.j;
  let start = query_start(j);
  let sb = x.b * params.nq * params.nk + j;
  if (c < params.d) {
    let qb = x.b * params.nq * params.d + c;
    var acc = 0.0;
    for (var i = start; i < params.nq; i++) { acc = fma(ds[sb + i * params.nk], q[qb + i * params.d], acc); }
    dk[(x.b * params.nk + j) * params.d + c] = acc * params.scale;
  }
  if (c < params.dv) {
    let ob = x.b * params.nq * params.dv + c;
    var acc = 0.0;
    for (var i = start; i < params.nq; i++) { acc = fma(s[sb + i * params.nk], dout[ob + i * params.dv], acc); }
    dv[(x.b * params.nk + j) * params.dv + c] = acc;
  }
}
