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
