// tiled/traits.cuh — tile sizes per head-dim bucket D (32/64/128/256) and the shared memory each kernel asks for.
// The kernels hold whole rows of Q/K/V/dO (padded to D) in shared memory, so tiles shrink as D grows; every size
// below stays under H100's 227 KB per block (static_asserts) and keeps the register fragments spill-free.
#pragma once
#include <cstddef>
#include "common.cuh"

namespace attn_tiled {

constexpr size_t kMaxSmemBytes = 227 * 1024;

// Stages 1 and 2: a block owns BQ query rows and walks key tiles of BK rows.
template <int D> struct FwdTraits;
template <> struct FwdTraits<32> { static constexpr int BQ = 64, BK = 64; };
template <> struct FwdTraits<64> { static constexpr int BQ = 64, BK = 64; };
template <> struct FwdTraits<128> { static constexpr int BQ = 64, BK = 32; };
template <> struct FwdTraits<256> { static constexpr int BQ = 32, BK = 32; };

// Stage 3, dK/dV pass: a block owns BK key rows and walks query tiles of BQ rows.
template <int D> struct BwdKVTraits;
template <> struct BwdKVTraits<32> { static constexpr int BK = 64, BQ = 64; };
template <> struct BwdKVTraits<64> { static constexpr int BK = 64, BQ = 64; };
template <> struct BwdKVTraits<128> { static constexpr int BK = 64, BQ = 32; };
template <> struct BwdKVTraits<256> { static constexpr int BK = 32, BQ = 32; };

// Stage 3, dQ pass: a block owns BQ query rows and walks key tiles of BK rows.
template <int D> struct BwdQTraits;
template <> struct BwdQTraits<32> { static constexpr int BQ = 64, BK = 64; };
template <> struct BwdQTraits<64> { static constexpr int BQ = 64, BK = 64; };
template <> struct BwdQTraits<128> { static constexpr int BQ = 64, BK = 32; };
template <> struct BwdQTraits<256> { static constexpr int BQ = 32, BK = 32; };

// Shared layouts, in floats (the kernels carve their buffers in this order).
template <int D> struct LseSmem {
  using T = FwdTraits<D>;
  static constexpr size_t floats = (size_t)T::BQ * padded(D) + (size_t)T::BK * padded(D);  // sQ, sK
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= kMaxSmemBytes, "lse tile too large");
};

template <int D> struct FwdSmem {
  using T = FwdTraits<D>;
  static constexpr size_t floats = (size_t)T::BQ * padded(D)        // sQ
                                   + 2 * (size_t)T::BK * padded(D)  // sK, sV
                                   + (size_t)T::BQ * padded(T::BK)  // sP
                                   + 2 * T::BQ;                     // sL, sLo (the lse pair per row)
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= kMaxSmemBytes, "forward tile too large");
};

template <int D> struct BwdKVSmem {
  using T = BwdKVTraits<D>;
  static constexpr size_t floats = 2 * (size_t)T::BK * padded(D)        // sK, sV
                                   + 2 * (size_t)T::BQ * padded(D)      // sQ, sdO
                                   + 2 * (size_t)T::BK * padded(T::BQ)  // sP, sdS (key-major)
                                   + 3 * T::BQ;                         // sL, sLo, sDelta
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= kMaxSmemBytes, "dK/dV tile too large");
};

template <int D> struct BwdQSmem {
  using T = BwdQTraits<D>;
  static constexpr size_t floats = 2 * (size_t)T::BQ * padded(D)    // sQ, sdO
                                   + 2 * (size_t)T::BK * padded(D)  // sK, sV
                                   + (size_t)T::BQ * padded(T::BK)  // sdS
                                   + 3 * T::BQ;                     // sL, sLo, sDelta
  static constexpr size_t bytes = floats * sizeof(float);
  static_assert(bytes <= kMaxSmemBytes, "dQ tile too large");
};

}  // namespace attn_tiled
