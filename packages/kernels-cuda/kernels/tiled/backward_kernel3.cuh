// tiled/backward_kernel3.cuh — stage 3, version 3: the two passes of version 2 (dK/dV over key tiles, dQ over query
// tiles, delta from attn_backward_delta; deterministic, one writer per output element, no atomics) with every
// operand pre-split into TF32 hi/lo in mma fragment order (tiled/tf32_frags.cuh), P and dS kept in registers (the
// permuted k order of BSplitKN makes a score C fragment the next product's A fragment), P = exp2((S·scale - lse)·log2e
// - lse_lo·log2e) as two fmaf (lse_pair.cuh).
//
// Why (ncu, H100, N=4096 d=64, v2): 12-17 instructions per 3xTF32 group — every fragment split on load, P and dS
// through shared memory, 4 FADDs per 3 mmas, a mask test per score. Here the inner loops are one LDS.128 + 3 mma per
// B fragment (A fragments: two LDS.128, amortised over the tile), one RN FADD per output per tile, masks only on
// tiles that straddle the causal diagonal (or the end of the keys, dQ pass).
// Chains (mma_tf32.cuh): a score is one chain over d; dK, dV, dQ get one chain per tile (mma3_c0, mma3 ...) and
// then an RN add into the fp32 accumulator.
//
// dK/dV pass: one block of W warps per (bh, BK keys). Key group kg = warp % G (G = W / CS) owns keys 16 kg ..
//   16 kg + 15; CS (column split) warps share a key group: warp ch = warp / G of the group takes queries
//   [ch QW, (ch+1) QW) of each tile (QW = BQ / CS) for Sᵀ and dPᵀ and output columns [ch NW, (ch+1) NW) of dK, dV
//   (NW = D / CS), so each warp holds 2 x 16 x NW accumulators.
//   once:     K and V rows -> ASplit (A operands of Sᵀ = K Qᵀ and dPᵀ = V dOᵀ, k = d) in shared memory.
//   per query tile of BQ rows (causal: from the first tile that sees key k0): the tile was fetched into registers
//             during the previous tile; barrier; split into sQnk, sOnk (BSplitNK: B of Sᵀ, dPᵀ), sOkn, sQkn
//             (BSplitKN, k = query permuted: B of dV += Pᵀ dO and dK += dSᵀ Q), lse, lse_lo·log2e and delta to
//             shared memory (rows past nq or with lse = -inf: lse = +inf, so P = exp2(-inf) = 0); barrier; fetch the
//             next tile; per warp Sᵀ, dPᵀ (16 keys x QW queries), Pᵀ = exp2((Sᵀ·scale - lse_q)·log2e -
//             lse_lo_q·log2e), dSᵀ = Pᵀ ∘ (dPᵀ -
//             delta_q), their C fragments -> A fragments (CS = 1: in registers; CS = 2: through sX, one more barrier,
//             so both warps of the group see all BQ queries), dV += Pᵀ dO, dK += dSᵀ Q.
//   end:      dK *= scale; write rows < nk, cols < d (dK) / dv (dV). Keys past nk are zero rows of K and V: their
//             (finite, unwritten) dK / dV rows are never mixed into other rows, so the pass masks only causally.
// dQ pass: one block of W warps per (bh, BQ = 16 W queries); warp w owns rows 16w .. 16w+15.
//   once:     Q, dO rows -> ASplit; lse, lse_lo·log2e, delta and the causal key end of the lane's two rows in
//             registers.
//   per key tile of BK rows (causal: up to the last key the block's last row sees), fetched during the previous
//             tile: K -> BSplitNK (S = Q Kᵀ), V -> BSplitNK (dP = dO Vᵀ), K -> BSplitKN (dQ += dS K, k = key
//             permuted); S, dP, P, dS = P ∘ (dP - delta), dS's C fragments -> A fragments, dQ += dS K.
//   end:      dQ *= scale; write rows < nq, cols < d.
// Shapes (traits below, one place per kernel; ptxas numbers in NOTES.md "backward v3"):
//   dK/dV D = 64:  W = 8, CS = 1, BK = 128, BQ = 16: 163,968 B shared (K/V split 128 KB, Q/dO 4 layouts 32 KB),
//                  1 block (8 warps) per SM. 8 warps rather than 4 halve the per-warp cost of splitting the 4 Q/dO
//                  layouts (the split work per tile is per block, the mma work per tile per warp). BQ = 32 (A
//                  fragments amortised over 4 B fragments instead of 2) spilled 40-56 bytes at 255 registers.
//   dK/dV D = 128: W = 8, CS = 2, BK = 64, BQ = 16: 213,120 B (K/V 128 KB, Q/dO 64 KB, sX 16 KB), 1 block per SM.
//                  CS = 2 keeps dK + dV at 64 registers per thread (16 x 64 each) instead of 128; the cost is one
//                  extra barrier per tile and Sᵀ / dPᵀ with one 8-query fragment per A fragment.
//   dQ D = 64:     W = 8, BK = 32: 180,224 B (Q/dO split 128 KB, K/V 3 layouts 48 KB), 1 block per SM.
//   dQ D = 128:    W = 4, BK = 16: 180,224 B (Q/dO 128 KB, 48 KB), 1 block (4 warps) per SM.
// Limits: D in {64, 128} (d, dv <= D, zero fill past them); any N, Nq != Nk, causal or not.
#pragma once
#include "common.cuh"
#include "tf32_frags.cuh"

namespace attn_tiled {

template <int D> struct BwdKV3Shape;
template <> struct BwdKV3Shape<64> { static constexpr int kWarps = 8, BQ = 16, kColSplit = 1, kMinBlocks = 1; };
template <> struct BwdKV3Shape<128> { static constexpr int kWarps = 8, BQ = 16, kColSplit = 2, kMinBlocks = 1; };

template <int D> struct BwdKV3Traits {
  static constexpr int kWarps = BwdKV3Shape<D>::kWarps, BQ = BwdKV3Shape<D>::BQ, CS = BwdKV3Shape<D>::kColSplit;
  static constexpr int kMinBlocks = BwdKV3Shape<D>::kMinBlocks;
  static constexpr int NT = 32 * kWarps, G = kWarps / CS, BK = 16 * G, QW = BQ / CS, NW = D / CS;
  static_assert(kWarps % CS == 0 && QW % 8 == 0 && NW % 8 == 0, "dK/dV v3: bad column split");
  static constexpr int kvSlots = ASplit<BK, D>::kSlots, tSlots = BSlots<BQ, D, NT>::kSlots;
  static constexpr int xSlots = CS > 1 ? G * (BQ / 8) * 4 * 32 : 0;  // P hi/lo, dS hi/lo A fragments per group
  static constexpr size_t bytes =
      (4 * (size_t)kvSlots + 4 * (size_t)tSlots + (size_t)xSlots) * sizeof(uint4) + 3 * (size_t)BQ * sizeof(float);
  static_assert(bytes <= 227 * 1024, "dK/dV v3 tile too large");
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "dK/dV v3: kMinBlocks blocks do not fit one SM");
};

template <int D> struct BwdQ3Shape;
template <> struct BwdQ3Shape<64> { static constexpr int kWarps = 8, BK = 32, kMinBlocks = 1; };
template <> struct BwdQ3Shape<128> { static constexpr int kWarps = 4, BK = 16, kMinBlocks = 1; };

template <int D> struct BwdQ3Traits {
  static constexpr int kWarps = BwdQ3Shape<D>::kWarps, BK = BwdQ3Shape<D>::BK, kMinBlocks = BwdQ3Shape<D>::kMinBlocks;
  static constexpr int NT = 32 * kWarps, BQ = 16 * kWarps;
  static constexpr int qSlots = ASplit<BQ, D>::kSlots, tSlots = BSlots<BK, D, NT>::kSlots;
  static constexpr size_t bytes = (4 * (size_t)qSlots + 3 * (size_t)tSlots) * sizeof(uint4);
  static_assert(bytes <= 227 * 1024, "dQ v3 tile too large");
  static_assert(kMinBlocks * (bytes + 1024) <= 228 * 1024, "dQ v3: kMinBlocks blocks do not fit one SM");
};

// Writes a warp's 16 x (8 NJ) accumulator (rows row0 + .., columns col0 + .., times mul) to g [nrows][gcols].
template <int NJ>
__device__ __forceinline__ void bwd3_store(const float (&acc)[NJ][4], float *__restrict__ g, int row0, int nrows,
                                           int col0, int gcols, float mul) {
  const int lane = threadIdx.x % 32, gg = lane / 4, t = lane % 4;
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = row0 + gg + 8 * h;
    if (r >= nrows) continue;
#pragma unroll
    for (int n = 0; n < NJ; ++n)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int c = col0 + n * 8 + 2 * t + e;
        if (c < gcols) g[(size_t)r * gcols + c] = acc[n][2 * h + e] * mul;
      }
  }
}

// acc[n] += A · B over KS k-steps of 8 for output fragments n0 .. n0 + NJ - 1 of a BSplitKN operand with KD
// fragments per k-step: one chain per output fragment, then an RN add.
template <int KS, int NJ, int KD>
__device__ __forceinline__ void bwd3_acc(float (&acc)[NJ][4], const uint32_t (&ah)[KS][4], const uint32_t (&al)[KS][4],
                                         const uint4 *sB, int n0) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int n = 0; n < NJ; ++n) {
    float part[4];
    mma3_c0(part, ah[0], al[0], sB[(n0 + n) * 32 + lane]);
#pragma unroll
    for (int ks = 1; ks < KS; ++ks) mma3(part, ah[ks], al[ks], sB[(ks * KD + n0 + n) * 32 + lane]);
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] += part[e];
  }
}

template <int D, bool LONG>
__global__ void __launch_bounds__(BwdKV3Traits<D>::NT, BwdKV3Traits<D>::kMinBlocks)
    backward_dkdv_tiled_kernel3(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                                const float *__restrict__ v, const float *__restrict__ dO,
                                const float *__restrict__ lse, const float *__restrict__ lse_lo,
                                const float *__restrict__ delta, float *__restrict__ dk, float *__restrict__ dv) {
  using T = BwdKV3Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, KD = D / 8, CS = T::CS, G = T::G;
  constexpr int QJ = T::QW / 8, NJ = T::NW / 8, KS = BQ / 8;
  constexpr int TX = BSlots<BQ, D, NT>::kPerThread;
  extern __shared__ float smem[];
  uint4 *sKhi = reinterpret_cast<uint4 *>(smem);
  uint4 *sKlo = sKhi + T::kvSlots;
  uint4 *sVhi = sKlo + T::kvSlots;
  uint4 *sVlo = sVhi + T::kvSlots;
  uint4 *sQnk = sVlo + T::kvSlots;
  uint4 *sOnk = sQnk + T::tSlots;
  uint4 *sOkn = sOnk + T::tSlots;
  uint4 *sQkn = sOkn + T::tSlots;
  uint4 *sX = sQkn + T::tSlots;
  float *sL = reinterpret_cast<float *>(sX + T::xSlots);  // the lse pair: hi, lo · log2e
  float *sLo = sL + BQ;
  float *sDl = sLo + BQ;

  const int b = blockIdx.x % p.bh;
  const int k0 = (int)(blockIdx.x / p.bh) * BK;  // causal: early key tiles have the most queries, go first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  dO += (size_t)b * p.nq * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  delta += (size_t)b * p.nq;
  dk += (size_t)b * p.nk * p.d;
  dv += (size_t)b * p.nk * p.dv;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int kg = warp % G, ch = warp / G;
  const int kw0 = k0 + 16 * kg;     // the warp's first key
  const int c0 = ch * T::QW;        // the warp's first query within a tile (Sᵀ, dPᵀ)
  const int qBegin = query_begin(p, k0) / BQ * BQ;
  const int nQ = qBegin < p.nq ? ceil_div(p.nq - qBegin, BQ) : 0;
  const int diag = p.nk - p.nq;     // causal: query i sees key j iff j - i <= diag

  const int tid = (int)threadIdx.x;
  float qn[TX][2], qk[TX][2], on[TX][2], ok[TX][2], lx = 0.f, lox = 0.f, dx = 0.f;
  auto fetch = [&](int q0) {
    fetch_b_nk<BQ, D, NT>(qn, q, q0, p.nq, p.d);
    fetch_b_kn<BQ, D, NT>(qk, q, q0, p.nq, p.d);
    fetch_b_nk<BQ, D, NT>(on, dO, q0, p.nq, p.dv);
    fetch_b_kn<BQ, D, NT>(ok, dO, q0, p.nq, p.dv);
    if (tid < BQ) {
      const int r = q0 + tid;
      const float L = r < p.nq ? lse[r] : -INFINITY;
      lx = L == -INFINITY ? INFINITY : L;  // +inf: P = 0 for padded rows and rows that see no key
      lox = L == -INFINITY ? 0.f : lse_lo[r] * kLog2e;
      dx = r < p.nq ? delta[r] : 0.f;
    }
  };
  if (nQ > 0) fetch(qBegin);
  store_a_split<BK, D, NT>(sKhi, sKlo, k, k0, p.nk, p.d);
  store_a_split<BK, D, NT>(sVhi, sVlo, v, k0, p.nk, p.dv);

  float accK[NJ][4], accV[NJ][4];
#pragma unroll
  for (int n = 0; n < NJ; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) accK[n][e] = accV[n][e] = 0.f;

  for (int it = 0; it < nQ; ++it) {
    const int q0 = qBegin + it * BQ;
    __syncthreads();  // every warp is done with the previous tile's sQnk .. sQkn, sL, sDl, sX
    store_b_split<BQ, D, NT>(sQnk, qn);
    store_b_split<BQ, D, NT>(sQkn, qk);
    store_b_split<BQ, D, NT>(sOnk, on);
    store_b_split<BQ, D, NT>(sOkn, ok);
    if (tid < BQ) {
      sL[tid] = lx;
      sLo[tid] = lox;
      sDl[tid] = dx;
    }
    __syncthreads();  // the tile (and K, V, first time) ready
    if (it + 1 < nQ) fetch(q0 + BQ);

    // Sᵀ = K Qᵀ and dPᵀ = V dOᵀ for the warp's 16 keys x QW queries: one chain per score over d, the products in the
    // forward's order (mma3_score_t: Sᵀ is the forward's S bit for bit)
    float s[QJ][4], dp[QJ][4];
#pragma unroll
    for (int j = 0; j < QJ; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[j][e] = dp[j][e] = 0.f;
#pragma unroll 1
    for (int ks = 0; ks < KD; ++ks) {
      uint32_t ah[4], al[4];
      load_a_frag(sKhi, sKlo, (kg * KD + ks) * 32 + lane, ah, al);
#pragma unroll
      for (int j = 0; j < QJ; ++j) mma3_score_t<LONG>(s[j], ah, al, sQnk[((c0 / 8 + j) * KD + ks) * 32 + lane]);
      load_a_frag(sVhi, sVlo, (kg * KD + ks) * 32 + lane, ah, al);
#pragma unroll
      for (int j = 0; j < QJ; ++j) mma3_rn_t(dp[j], ah, al, sOnk[((c0 / 8 + j) * KD + ks) * 32 + lane]);
    }

    // Pᵀ = exp2((Sᵀ · scale - lse_q) · log2e - lse_lo_q · log2e); dSᵀ = Pᵀ ∘ (dPᵀ - delta_q) (in dp). Causal mask
    // only where the warp's last key is past the diagonal of its first query.
    const bool full = !p.causal || kw0 + 15 - (q0 + c0) <= diag;
#pragma unroll
    for (int j = 0; j < QJ; ++j)
#pragma unroll
      for (int e2 = 0; e2 < 2; ++e2) {
        const int c = c0 + j * 8 + 2 * t + e2;  // query within the tile
        const float L = sL[c], Lo = sLo[c], dl = sDl[c];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
          const int e = 2 * h + e2;
          float pr = exp2_score(s[j][e], p.scale, L, Lo);
          if (!full && kw0 + g + 8 * h - (q0 + c) > diag) pr = 0.f;
          s[j][e] = pr;
          dp[j][e] = pr * (dp[j][e] - dl);
        }
      }

    // C fragments -> A fragments of dV += Pᵀ dO and dK += dSᵀ Q (k = the tile's BQ queries, permuted); P's
    // fragments die before dS's are made (registers)
    uint32_t ah[KS][4], al[KS][4];
    if constexpr (CS == 1) {
#pragma unroll
      for (int j = 0; j < KS; ++j) c_to_a_split(s[j], ah[j], al[j]);
      bwd3_acc<KS, NJ, KD>(accV, ah, al, sOkn, 0);
#pragma unroll
      for (int j = 0; j < KS; ++j) c_to_a_split(dp[j], ah[j], al[j]);
      bwd3_acc<KS, NJ, KD>(accK, ah, al, sQkn, 0);
    } else {
#pragma unroll
      for (int j = 0; j < QJ; ++j) {
        uint4 *x = sX + ((kg * KS + c0 / 8 + j) * 4) * 32 + lane;  // planes P hi, P lo, dS hi, dS lo
        c_to_a_split(s[j], ah[0], al[0]);
        x[0] = make_uint4(ah[0][0], ah[0][1], ah[0][2], ah[0][3]);
        x[32] = make_uint4(al[0][0], al[0][1], al[0][2], al[0][3]);
        c_to_a_split(dp[j], ah[0], al[0]);
        x[64] = make_uint4(ah[0][0], ah[0][1], ah[0][2], ah[0][3]);
        x[96] = make_uint4(al[0][0], al[0][1], al[0][2], al[0][3]);
      }
      __syncthreads();  // the group's other warps' P / dS fragments are in sX
#pragma unroll
      for (int j = 0; j < KS; ++j) load_a_frag(sX, sX + 32, ((kg * KS + j) * 4) * 32 + lane, ah[j], al[j]);
      bwd3_acc<KS, NJ, KD>(accV, ah, al, sOkn, ch * NJ);
#pragma unroll
      for (int j = 0; j < KS; ++j) load_a_frag(sX + 64, sX + 96, ((kg * KS + j) * 4) * 32 + lane, ah[j], al[j]);
      bwd3_acc<KS, NJ, KD>(accK, ah, al, sQkn, ch * NJ);
    }
  }
  bwd3_store<NJ>(accV, dv, kw0, p.nk, ch * T::NW, p.dv, 1.f);
  bwd3_store<NJ>(accK, dk, kw0, p.nk, ch * T::NW, p.d, p.scale);
}

template <int D, bool LONG>
__global__ void __launch_bounds__(BwdQ3Traits<D>::NT, BwdQ3Traits<D>::kMinBlocks)
    backward_dq_tiled_kernel3(AttnProblem p, const float *__restrict__ q, const float *__restrict__ k,
                              const float *__restrict__ v, const float *__restrict__ dO,
                              const float *__restrict__ lse, const float *__restrict__ lse_lo,
                              const float *__restrict__ delta, float *__restrict__ dq) {
  using T = BwdQ3Traits<D>;
  constexpr int BQ = T::BQ, BK = T::BK, NT = T::NT, KD = D / 8, KS = BK / 8;
  constexpr int TX = BSlots<BK, D, NT>::kPerThread;
  extern __shared__ float smem[];
  uint4 *sQhi = reinterpret_cast<uint4 *>(smem);
  uint4 *sQlo = sQhi + T::qSlots;
  uint4 *sOhi = sQlo + T::qSlots;
  uint4 *sOlo = sOhi + T::qSlots;
  uint4 *sKnk = sOlo + T::qSlots;
  uint4 *sVnk = sKnk + T::tSlots;
  uint4 *sKkn = sVnk + T::tSlots;

  const int nTiles = ceil_div(p.nq, BQ);
  const int b = blockIdx.x % p.bh;
  const int q0 = (nTiles - 1 - (int)(blockIdx.x / p.bh)) * BQ;  // heavy (late, causal) tiles first
  q += (size_t)b * p.nq * p.d;
  k += (size_t)b * p.nk * p.d;
  v += (size_t)b * p.nk * p.dv;
  dO += (size_t)b * p.nq * p.dv;
  lse += (size_t)b * p.nq;
  lse_lo += (size_t)b * p.nq;
  delta += (size_t)b * p.nq;
  dq += (size_t)b * p.nq * p.d;

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, t = lane % 4;
  const int qw0 = q0 + 16 * warp;
  const int kEnd = key_end(p, min(q0 + BQ, p.nq));
  const int nK = ceil_div(kEnd, BK);
  // Keys [0, kFull) are seen by every row of the warp (then every row's lse is finite): no masks there.
  const int kFull = qw0 + 16 <= p.nq ? key_end(p, qw0 + 1) : 0;

  float kn[TX][2], kk[TX][2], vn[TX][2];
  auto fetch = [&](int k0) {
    fetch_b_nk<BK, D, NT>(kn, k, k0, p.nk, p.d);
    fetch_b_kn<BK, D, NT>(kk, k, k0, p.nk, p.d);
    fetch_b_nk<BK, D, NT>(vn, v, k0, p.nk, p.dv);
  };
  if (nK > 0) fetch(0);
  store_a_split<BQ, D, NT>(sQhi, sQlo, q, q0, p.nq, p.d);
  store_a_split<BQ, D, NT>(sOhi, sOlo, dO, q0, p.nq, p.dv);

  float hi[2], lo2[2], dl[2];  // lse, lse_lo · log2e and delta of rows g and g+8
  int rowEnd[2];               // exclusive end of the keys each of those rows sees (0 for rows past nq or lse = -inf)
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = qw0 + g + 8 * h;
    hi[h] = r < p.nq ? lse[r] : -INFINITY;
    lo2[h] = r < p.nq ? lse_lo[r] * kLog2e : 0.f;
    dl[h] = r < p.nq ? delta[r] : 0.f;
    rowEnd[h] = hi[h] == -INFINITY ? 0 : key_end(p, r + 1);
  }

  float acc[KD][4];
#pragma unroll
  for (int n = 0; n < KD; ++n)
#pragma unroll
    for (int e = 0; e < 4; ++e) acc[n][e] = 0.f;

  for (int it = 0; it < nK; ++it) {
    const int k0 = it * BK;
    __syncthreads();  // every warp is done with the previous tile's sKnk, sVnk, sKkn
    store_b_split<BK, D, NT>(sKnk, kn);
    store_b_split<BK, D, NT>(sKkn, kk);
    store_b_split<BK, D, NT>(sVnk, vn);
    __syncthreads();  // the tile (and sQ, sdO, first time) ready
    if (it + 1 < nK) fetch(k0 + BK);

    // S = Q Kᵀ, dP = dO Vᵀ for the warp's 16 rows x BK keys: one chain per score over d
    float s[KS][4], dp[KS][4];
#pragma unroll
    for (int j = 0; j < KS; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) s[j][e] = dp[j][e] = 0.f;
#pragma unroll 2
    for (int ks = 0; ks < KD; ++ks) {
      uint32_t ah[4], al[4];
      load_a_frag(sQhi, sQlo, (warp * KD + ks) * 32 + lane, ah, al);
#pragma unroll
      for (int j = 0; j < KS; ++j) mma3_score<LONG>(s[j], ah, al, sKnk[(j * KD + ks) * 32 + lane]);
      load_a_frag(sOhi, sOlo, (warp * KD + ks) * 32 + lane, ah, al);
#pragma unroll
      for (int j = 0; j < KS; ++j) mma3_rn(dp[j], ah, al, sVnk[(j * KD + ks) * 32 + lane]);
    }

    // P = exp2((S · scale - lse) · log2e - lse_lo · log2e) (0 where a row does not see the key), dS = P ∘ (dP - delta)
    if (k0 + BK <= kFull) {
#pragma unroll
      for (int j = 0; j < KS; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e)
          dp[j][e] = exp2_score(s[j][e], p.scale, hi[e / 2], lo2[e / 2]) * (dp[j][e] - dl[e / 2]);
    } else {
#pragma unroll
      for (int j = 0; j < KS; ++j)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const int key = k0 + j * 8 + 2 * t + (e & 1);
          const float pe = exp2_score(s[j][e], p.scale, hi[e / 2], lo2[e / 2]);
          const float pr = key < rowEnd[e / 2] ? pe : 0.f;
          dp[j][e] = pr * (dp[j][e] - dl[e / 2]);
        }
    }

    // dQ += dS K: dS's C fragments are the A fragments (k = the tile's keys, permuted)
    uint32_t dh[KS][4], dlo[KS][4];
#pragma unroll
    for (int j = 0; j < KS; ++j) c_to_a_split(dp[j], dh[j], dlo[j]);
    bwd3_acc<KS, KD, KD>(acc, dh, dlo, sKkn, 0);
  }
  bwd3_store<KD>(acc, dq, qw0, p.nq, 0, p.d, p.scale);
}

}  // namespace attn_tiled
