// tiles4.wgsl — included by the tiled kernel-4 shaders (`// #include tiles4.wgsl`): how a chunk of a row-major
// [rows][D] tensor travels global → registers → workgroup memory as vec4 (kernel 4 needs D and DV ≡ 0 mod 4;
// other head dims run kernel 3). Each invocation owns fixed vec4 slots x = t + THREADS·i of a chunk; a chunk's loads
// are issued one chunk ahead (into registers, while the current chunk is multiplied) and stored after the barrier.

// Transposed chunks [EC][R + 4] (the GEMM operands): slot x holds 4 consecutive columns of one row. Two slots per
// row side by side, 16 rows per 32 lanes: each lane reads 16 bytes, pairs of lanes one 32-byte segment, and the 4
// transposing stores of a warp hit 32 distinct banks (row stride ≡ 4 mod 32: bank = 16·(x % 2) + row + const).
fn t_row(x: u32, rows: u32) -> u32 { return (x / 2u) % rows; }
fn t_col(x: u32, rows: u32) -> u32 { return 4u * (x % 2u + 2u * (x / (2u * rows))); }

// Store slot value `val` (columns c..c+3 of `row`) into the transposed chunk at float offset `base`, row stride `rp`.
fn put_t(base: u32, rp: u32, row: u32, c: u32, val: vec4<f32>) {
  /*@unroll*/ for (var w = 0u; w < 4u; w++) {
    let s = base + (c + w) * rp + row;
    sh[s / 4u][s % 4u] = val[w];
  }
}

const NONE: u32 = 0xffffffffu;

// Slot x of a transposed chunk of `rows` rows from row r0 of a row-major [n][width] head, columns e0..e0 + EC: the
// vec4 index it reads within the head, or NONE past the chunk's slots, n or width (the slot then stays zero).
fn t_src(x: u32, rows: u32, r0: u32, n: u32, e0: u32, width: u32) -> u32 {
  let row = r0 + t_row(x, rows);
  let e = e0 + t_col(x, rows);
  if (x < rows * EC / 4u && row < n && e < width) { return (row * width + e) / 4u; }
  return NONE;
}

// Slot x of a row-major chunk [JC][wp] (wp: width rounded up to 4·TX) from row r0 of a [n][width] head: as t_src.
fn r_src(x: u32, r0: u32, n: u32, width: u32, wp: u32) -> u32 {
  let row = r0 + x / (wp / 4u);
  let col = 4u * (x % (wp / 4u));
  if (x < JC * wp / 4u && row < n && col < width) { return (row * width + col) / 4u; }
  return NONE;
}

// A GEMM chunk as this invocation's vec4 slots: Aᵀ [EC][BR] (rows of the resident tile), Bᵀ [EC][BC] (streamed).
struct GemmChunk {
  a: array<vec4<f32>, CHA4>,
  b: array<vec4<f32>, CHB4>,
}

// Stores a fetched GEMM chunk: Aᵀ at sh[0..], Bᵀ at sh[BT4..].
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
