// tiled/emu/check.h — what the emulated kernels are judged against: seeded inputs, a float64 reference (the math of
// packages/reference/src/rows.ts), a textbook float32 attention as the yardstick, and the judging rule.
#pragma once
#include <string>
#include <vector>
#include "attention.h"

struct Tensors32 { std::vector<float> lse, o, dq, dk, dv; };
// Outputs in the order lse, o, dq, dk, dv.
struct Tensors64 {
  std::vector<double> lse, o, dq, dk, dv;
  // Per output, the largest sum of |terms| behind one element (float64), products expanded down to the inputs:
  // lse: the larger of |lse| and scale sum_c |q_ic k_jc| (a score's terms: one key, lse = S exactly); O_ic: sum_j P_ij |V_jc|; dV_jc: sum_i P_ij |dO_ic|; dQ_ie: scale sum_j P_ij (A_ij + B_i) |K_je| and
  // dK_je: scale sum_i P_ij (A_ij + B_i) |Q_ie|, with A_ij = sum_c |dO_ic V_jc| (behind dP) and B_i = sum_c |dO_ic O_ic|
  // (behind D). A float32 evaluation cannot avoid errors of a few ulps of it, however the terms cancel (one key:
  // dS = P (dP - D) is exactly 0, so max |dQ| = 0 while dP and D are rounded sums of dv terms).
  double termScale[5] = {0, 0, 0, 0, 0};
};
struct Inputs { std::vector<float> q, k, v, dO; };

// Q and K are sqrt(sigma) x N(0,1), so the scaled scores (scale 1/sqrt(d)) have standard deviation sigma; V and dO
// are N(0,1). One mt19937 per seed, drawn in the order q, k, v, dO; then rounded to p.dtype (round to nearest even:
// the values the device stores, so the float64 reference is exact for what the kernels read).
Inputs make_inputs(const AttnProblem &p, double sigma, unsigned seed);

// x stored in `dtype` and read back (round to nearest even; float32: x), through the same conversions the kernels
// use (storage.cuh; half_bits.h on the host).
float round_to(AttnDtype dtype, float x);
// The spacing of `dtype` numbers at |x| (the smallest subnormal's at 0): packages/reference/src/dtype.ts ulpOf.
double ulp_of(AttnDtype dtype, double x);

// Exact attention in float64 (rows a query sees no key: lse = -inf, O = dQ = 0).
Tensors64 reference64(const AttnProblem &p, const Inputs &x);

// The order of a float32 sum: forward or reverse fmaf chains, pairwise (halves down to 8 terms), or blocks of 8
// added in turn (as a GEMM's k loop). A plain implementation may use any of them; none is the right one.
enum class SumOrder { kForward, kReverse, kPairwise, kBlocked8 };
constexpr SumOrder kSumOrders[] = {SumOrder::kForward, SumOrder::kReverse, SumOrder::kPairwise, SumOrder::kBlocked8};

// Textbook float32 attention: S = Q Kᵀ summed in float (fmaf, in `order`), s = fl(S · scale), the softmax of each
// row with its max subtracted (expf, float sum), P = e / l, O = P V; lse = m + logf(l); backward: dP = dO Vᵀ,
// D = rowsum(dO ∘ O) from this O, dS = P ∘ (dP − D), dQ = scale · dS K, dK = scale · dSᵀ Q, dV = Pᵀ dO, every
// sum a float fmaf sum in `order`. What a plain float32 implementation gets: the yardstick of the rule below.
// In a half dtype (packages/reference/src/textbook.ts, FlashAttention's reorder_ops reference) it computes in the
// dtype: P rounded to it before O = P V, dS and dV, dS rounded before dQ and dK, every output but lse rounded (O
// before D); sums stay float32.
Tensors32 textbook32(const AttnProblem &p, const Inputs &x, SumOrder order);

// Error of one output against the float64 reference.
struct OutputError {
  double maxAbs = 0;    // max |x − ref| over entries with a finite reference
  double relL2 = 0;     // ‖x − ref‖ / ‖ref‖ (‖x − ref‖ when ‖ref‖ = 0), finite entries
  double l2 = 0;        // ‖x − ref‖ over the finite entries
  size_t n = 0;         // finite entries compared
  double refMax = 0;    // max |ref| (finite entries)
  size_t worst = 0;     // index of the largest error (ATTN_EMU_WORST=1 prints it)
  int bad = 0;          // non-finite x where ref is finite, or x != ref where ref is ±inf (a masked row's lse)
};
OutputError output_error(const std::vector<float> &x, const std::vector<double> &ref);

// The rule (FlashAttention's; packages/reference/src/accuracy.ts states the same): maxAbs(kernel) <= kTextbookFactor x
// maxAbs(textbook) + floor and l2(kernel) <= kTextbookFactor x l2(textbook) + floor x sqrt(n), where the floor is
// kFloorUlps float32 ulps of the output's scale (termScale above) — in a half dtype kHalfFloorUlps ulp of the dtype,
// except for the lse, which stays float32 — and no bad entries. The textbook's errors are each the largest over the
// summation orders.
constexpr double kTextbookFactor = 2.0;
constexpr double kFloorUlps = 4.0;
constexpr double kHalfFloorUlps = 1.0;
double ulp32(double x);  // the spacing of float32 numbers at |x| (2^-149 at 0)
// dtype: the output's (float32 for the lse in every dtype)
double rule_floor(double termScale, AttnDtype dtype = AttnDtype::kFloat32);
bool passes_rule(const OutputError &kernel, const OutputError &textbook, double termScale,
                 AttnDtype dtype = AttnDtype::kFloat32);
