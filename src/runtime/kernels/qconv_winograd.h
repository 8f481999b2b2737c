// 3x3 QConv layers by Winograd's F(2x2, 3x3) (stride 1) and a polyphase form
// (stride 2, below), in integers and exact.
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
// follows cannot tell the two apart. qconv_winograd_fits checks that bound
// per output channel from the weights: |S| <= 128 * sum |w|.
//
// 3x3 stride-2 layers take a polyphase form of the same shape: a 5x5 patch
// gives a 2x2 block of outputs, the even taps (0 and 2 of a kernel row) on
// the even inputs by F(2, 2) (3 products for 4) and the odd tap on the odd
// inputs directly, in each dimension:
//   B^T = [1 0 -1 0 0; 0 0 1 0 0; 0 0 -1 0 1; 0 1 0 0 0; 0 0 0 1 0],
//   G   = [1 0 0; 1 0 1; 0 0 1; 0 1 0; 0 1 0],  A^T = [1 1 0 1 0; 0 1 1 0 1],
// so that y0 = x0 w0 + x1 w1 + x2 w2 and y1 = x2 w0 + x3 w1 + x4 w2. 25
// products make four outputs' 36; |V| <= 512, |U| <= 512 and Y is S
// itself (no bound to check: S fits as the direct kernels' does).
#pragma once

#include "runtime/kernels/qconv_pack.h"

namespace qdq {

// A patch's side: 4 (F(2x2, 3x3), stride 1) or 5 (the stride-2 form); its
// positions are the side squared.
inline int winograd_side(const QConvParams& q) { return q.shape.geometry.stride[1] == 2 ? 5 : 4; }

// Whether a layer can take a Winograd form: group 1, 3x3, stride 1 or 2 (both
// dimensions), dilation 1, channels a multiple of 16 (whole 16-channel
// vectors in the input transform, no padded taps), and at stride 1 4 * 128
// * sum |w| below 2^31 for every output channel. Reads the packed weights.
bool qconv_winograd_fits(const QConvPacked& p);

// Tiles (2x2 output blocks) the AVX2 kernel transforms and multiplies as a
// group, for a layer of `tiles` tiles: 12 (two 6-row GEMM tiles a position,
// the second reading the weights the first brought to L1), or 6 where a
// layer has so few that a partly empty last group would waste much.
int64_t qconv_winograd_group_tiles(int64_t tiles);

// Whether this input shape computes fewer multiply-adds in the Winograd form
// than direct by enough to pay for the transforms and the larger weights:
// 16 (stride 2: 25) per tile, every group's tiles counted (a group's last GEMM tile
// multiplies only the rows its tiles fill, but streams the weights as a
// whole one), against 9 per output pixel. (Before the weights were
// prefetched and the last rows skipped, ResNet-18's 512-channel 4x4 layers at
// batch 1, 1 group of 4 tiles, ran 1.5-2.1x the direct time.)
bool qconv_winograd_pays(const QConvParams& q);

// p.winograd_weights from p.weights: U = G g G^T for every channel pair
// (G the stride's).
void store_winograd_weights(QConvPacked& p);

}  // namespace qdq
