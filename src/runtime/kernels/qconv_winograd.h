// 3x3 stride-1 QConv layers by Winograd's F(2x2, 3x3) and F(2x4, 3x3), in
// integers and exact.
//
// A 4x4 patch d of the input (activations a in the kernel's signed domain,
// |a| <= 128, padding a_zero) gives a 2x2 block of outputs:
//   Y = A^T [U . V] A,  U = G g G^T (per input and output channel),  V = B^T d B
// summed over the input channels, with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  A^T = [1 1 1 0; 0 1 -1 -1],
//   G   = [2 0 0; 1 1 1; 1 -1 1; 0 0 2]  (the textbook G's halves doubled).
// With G doubled Y is 4 times the direct sums S = sum a w, exactly: every
// matrix is integer. 16 products make four outputs' 36, and every value fits
// the AVX2 kernel's 16-bit vpmaddwd: |V| <= 4 * 128 = 512 (B^T's rows add two
// values), |U| <= 9 * 128 = 1152 (G's rows add at most 3 weights), a pair of
// products below 2^21. The sums over channels and A's additions are int32
// arithmetic that wraps; where |4 S| < 2^31 the wrapped result is 4 S itself
// (sums modulo 2^32 are exact wherever the true value fits), and S = Y / 4 is
// then the direct kernels' accumulator, bit for bit: the epilogue that
// follows cannot tell the two apart. qconv_winograd_form checks that bound
// per output channel from the weights: |S| <= 128 * sum |w|.
//
// Where the weights allow, stride-1 layers take F(2x4, 3x3) instead: a 4 x 6
// patch gives 2 rows of 4 outputs, F(2, 3) down the columns as above and
// F(4, 3) along the rows, with Lavin and Gray's matrices and G scaled by 24:
//   B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//          0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1],
//   G   = [6 0 0; -4 -4 -4; -4 4 -4; 1 2 4; 1 -2 4; 0 0 24],
//   A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
// 24 products make eight outputs' 72 (F(2x2, 3x3): 32). Y is 2 * 24 = 48
// times S; |V| <= 2 * 10 * 128 = 2560, |U| <= 3 * 24 * 128 = 9216 (the rows
// of B^T and G add at most 10 and 24 times a value), a pair of products
// below 2^26; the bound to check: 48 * 128 * sum |w| below 2^31. S = Y / 48
// exactly: (Y >> 4) is 3 S, times 3's inverse modulo 2^32.
#pragma once

#include "runtime/kernels/qconv_pack.h"

namespace qdq {

// A form's patch: rows by columns (positions: their product), the outputs
// of a row it gives (every form gives two rows), and Y / S.
struct WinogradShape {
  int rows, cols, out_cols, scale;
};
constexpr WinogradShape winograd_shape(WinogradForm form) {
  switch (form) {
    case WinogradForm::kF2x4:
      return {4, 6, 4, 48};
    default:
      return {4, 4, 2, 4};
  }
}

// The Winograd form a layer takes (kNone: direct): group 1, 3x3, stride 1,
// dilation 1, channels a multiple of 16 (whole 16-channel vectors in the
// input transform, no padded taps), the form of the two whose bound holds
// that costs least, where it pays. Reads the packed weights.
WinogradForm qconv_winograd_form(const QConvPacked& p);

// Tiles the AVX2 kernel transforms and multiplies as a group, for a layer
// of `tiles` tiles in form `form`: 12 (two 6-row GEMM tiles a position, the
// second reading the weights the first brought to L1), or 6 where a layer
// has so few that a partly empty last group would waste much, unless its
// transformed weights are large: each group streams them all.
int64_t qconv_winograd_group_tiles(const QConvParams& q, WinogradForm form, int64_t tiles);

// p.winograd_weights from p.weights for p.winograd (U = G_rows g G_cols^T
// for every channel pair).
void store_winograd_weights(QConvPacked& p);

}  // namespace qdq
