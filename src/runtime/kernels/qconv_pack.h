// What the optimized ai.qdq.QConv kernels share across instruction sets: the
// packed weights, the activation domain they multiply in, the row gathering
// (im2col one tile at a time) and the per-node state.
//
// Exactness: the kernels multiply activations a = x ^ flip (x shifted by 128
// into the signedness the instruction wants) by int8 weights w (zero point 0)
// and accumulate in int32 without saturation (vpdpbusd, or vpmaddwd on 16-bit
// words in kernels/avx2/qconv_ops.h). The shift is undone in the bias:
//   sum (x - x_zero) w = sum a w - a_zero sum w,   a_zero = x_zero ^ flip-shift,
// and padding taps hold a_zero, so they contribute nothing, as in the reference.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "graph/tensor.h"
#include "runtime/reference/qconv.h"
#include "support/shared_array.h"

namespace qdq {

constexpr int64_t kQConvBlock = 16;  // output channels per packed block
// The sums per channel where a float sum's affine form may miss (QConvPacked).
constexpr int kAffineExceptions = 1;

// The activations' signedness a kernel multiplies in.
enum class ActivationDomain { kUnsigned, kSigned };

// The tap at place `place` of depthwise_pairs' order, for a kernel of
// height kernel[1] and width kernel[2]. A 3x3 kernel's first two rows pair
// by column, (0, 3), (1, 4), (2, 5), then (6, 7) and 8 alone: along a run
// of outputs one or two columns apart, a pixel's right column pair is the
// next pixel's left (or middle) one, so the AVX2 kernel widens and
// interleaves it once (Avx2EpilogueOps::depthwise_3x3). Other kernels in
// tap order.
constexpr int64_t depthwise_pair_tap(const std::array<int64_t, 3>& kernel, int64_t place) {
  constexpr int64_t kThreeByThree[] = {0, 3, 1, 4, 2, 5, 6, 7, 8};
  return kernel[1] == 3 && kernel[2] == 3 ? kThreeByThree[place] : place;
}

// The AVX2 kernel's Winograd forms (qconv_winograd.h); kNone: direct.
enum class WinogradForm : uint8_t { kNone, kF2x2, kF2x4 };

// A layer's packed weights depend on its constants alone: they are made once
// (or come from a plan) and kept when the input shape changes; params and the
// depthwise's zero pixels follow the shape.
struct QConvPacked {
  QConvParams params;
  Shape input_shape;    // what params were read for
  bool packed = false;  // the weight arrays below are filled, for `domain` (qconv_state)
  ActivationDomain domain = ActivationDomain::kUnsigned;
  bool flip = false;  // x is stored with the other signedness: a = x ^ 0x80
  int32_t a_zero = 0;
  // Elements from one pixel to the next in x, and in the output (and the
  // residual): the layer's channels, or a group layer's whole tensors'.
  int64_t x_pitch = 0, y_pitch = 0;
  // A grouped convolution (1 < group, not depthwise) as group-1 layers of a
  // run of groups each (one, or as many as fill a block of outputs, their
  // weights block-diagonal: groups_per_layer in qconv_pack.cc), each with
  // its channels' params, weights and constants, run over its slice of the
  // channels: every kernel form, with the pitches above. The grouped
  // layer's own arrays stay empty.
  std::vector<QConvPacked> group_layers;
  // GEMM form (group 1): K = kH * kW * C (tap-major, channels innermost, as the
  // NHWC rows are gathered), each tap's channels padded to a multiple of 4
  // (zero weights) so that a tap is whole 4-byte groups: k_padded = kH * kW *
  // tap_channels.
  int64_t k = 0, k_padded = 0, blocks = 0;
  int64_t tap_channels = 0;
  SharedArray<int8_t> weights;  // [block][k_padded / 4][16][4]
  // Depthwise form: [tap][channel padded to 16], each weight in the low 16 bits.
  SharedArray<int32_t> depthwise_weights;
  // The same by tap quads, for vpdpbusd over taps (made from depthwise_weights
  // by store_depthwise_layouts, not kept in plans): [64-channel group][quad of
  // taps][4 vectors][16 lanes][4 taps], vector j's lane 4L + i holding the
  // four taps' weights of channel 64g + 16L + 4j + i (zero past the taps and
  // the channels): the order in-lane byte and word unpacks put four taps'
  // activations in. And per channel ([blocks * 16]) 128 * sum w, what
  // activations flipped into uint8 add.
  std::vector<int8_t> depthwise_quads;
  std::vector<int32_t> depthwise_flip_sums;
  // By tap pairs, for vpmaddwd over two taps' 16-bit activations (also made
  // by store_depthwise_layouts): [16-channel block][pair][2 vectors][16 words],
  // vector v's word 8h + 2k + e holding tap depthwise_pair_tap(kernel, 2 * pair
  // + e)'s weight of channel 16 * block + 8h + 4v + k (zero past the taps):
  // the order unpacklo/hi_epi16 of two taps' zero- or sign-extended channels
  // put them in.
  std::vector<int16_t> depthwise_pairs;
  std::vector<int32_t> bias;  // [blocks * 16], the a_zero (depthwise: x_zero) correction included
  // What the vector epilogues multiply the sums by and add ([blocks * 16]):
  // the layer's multipliers and float B, or a float sum's affine form's
  // (below). Set from params each time they are read (store_epilogue_constants).
  std::vector<float> multipliers;
  std::vector<float> bias_float;
  // Multipliers and float biases finite, else the 8-bit epilogues go scalar
  // (where a NaN can arise, and the reference's NaN rule applies).
  bool finite_multipliers = true;
  std::vector<uint8_t> zero_row;  // tap_channels bytes of a_zero (padding taps)
  // The GEMM weights as 16-bit words by K pairs, for the AVX2 kernel's
  // vpmaddwd (made from `weights` by store_pair_weights where the domain is
  // signed, not kept in plans): [block][k_padded / 2][16][2], lane c of a
  // pair holding channel 16 * block + c's weights of K 2j and 2j + 1.
  std::vector<int16_t> pair_weights;
  // The AVX2 kernel's 8-bit rows (Avx2Ops::split_rows), set with
  // pair_weights (store_split_constants): each activation u = a + 128 split
  // as split_center + lo + e, lo = (u - split_center) mod 128 (e = 0 where
  // u lies in [split_center, split_center + 127], +/-128 elsewhere), both
  // multiplied by the int8 `weights` with vpmaddubsw (a pair's two products
  // of 127 by -128..127 cannot leave int16; e, nonzero for few activations,
  // alone in its pair), and center_sums ([blocks * 16]: (split_center - 128)
  // * sum w, wrapping) for the rest: sum a w = sum lo w + sum e w +
  // (split_center - 128) sum w. The centre: 64 below the zero point, so
  // that the values around it are lo.
  bool split_rows = false;
  uint8_t split_center = 0;
  std::vector<int32_t> center_sums;
  // The split rows' K quads paired within each block (store_quad_pairs, with
  // the split constants; not kept in plans): two quads' vpmaddubsw results,
  // each lane a pair of 7-bit bytes by two weights, add in 16 bits before
  // one vpmaddwd where the four weights behind every lane of the two bring
  // the sum no further from zero than int16 allows (their positive ones,
  // and their negative ones' magnitudes, summing to at most
  // kQuadPairWeightBound): 3 multiplies per 64 products of a channel half
  // where a quad alone takes 4. quad_pairs: [blocks], the block's pairs;
  // quad_order: [block][k_padded / 4] byte offsets 4q of the quads in a
  // row, each block's pairs first (two entries each), then its quads left
  // alone; quad_places: [block][k_padded / 4] each quad's place in that
  // order; ordered_weights: `weights` with each block's quads in that
  // order. All empty where the layer keeps K in order.
  std::vector<int32_t> quad_pairs;
  std::vector<int32_t> quad_order;
  std::vector<int32_t> quad_places;
  std::vector<int8_t> ordered_weights;
  // 3x3 stride-1 layers in the AVX2 kernel's Winograd forms
  // (qconv_winograd.h), where one pays (`winograd`, set with params): the
  // transformed weights of form `winograd_weights_form`,
  // [block][positions][c / 2][16][2] (a block's weights one run, each
  // position's in pair_weights' order). Made from `weights` by
  // store_winograd_weights, not kept in plans; a layer's pair_weights only
  // where a shape runs it direct.
  WinogradForm winograd = WinogradForm::kNone;
  WinogradForm winograd_weights_form = WinogradForm::kNone;
  std::vector<int16_t> winograd_weights;
  // Where x is flipped into the unsigned domain (int8 x): 128 * sum w per
  // channel ([blocks * 16]), what a signed product of the unflipped rows lacks
  // (sum a w = sum x w + 128 sum w; AMX's tdpbssd reads int8 rows in place).
  // Made from the packed weights, not kept in plans.
  std::vector<int32_t> flip_sums;
  // Depthwise: x_zero bytes that taps outside the input read (qconv_depthwise).
  std::vector<uint8_t> zero_pixels;
  // Where every value an epilogue without a residual rounds is provably below
  // 2^30 in magnitude (qconv_narrow_bounds), the vector epilogues may round
  // first and let saturating packs and a clamp of the output bytes to
  // [narrow_min, narrow_max] do the clamps, the activation's included.
  bool saturating_narrow = false;
  int32_t narrow_min = 0, narrow_max = 0;
  // With an integer residual, where QLinearAdd's value before its rounding
  // is provably finite and below 2^30 in magnitude (qconv_narrow_bounds):
  // the vector epilogues may round it and let saturating packs and a clamp
  // of the output bytes to [out_min, out_max] do its clamps.
  bool residual_narrow = false;
  // A float sum with an 8-bit residual, where the value it rounds (the
  // float value plus the dequantized residual, over y_scale) is provably
  // below 2^30 in magnitude (qconv_narrow_bounds): rounded first, then
  // narrowed as saturating_narrow's are, the activation in the byte clamp.
  bool float_residual_narrow = false;
  // A float sum without a residual (QAT's convs but the blocks' last) in
  // the integer epilogue's form, where that gives every output the layer
  // can produce (store_epilogue_constants): per channel, from the exact
  // integer sum S (bias included),
  //   out = clamp(round(fma(float(S), multipliers, bias_float))
  //               + (S == exception S ? its step : 0) + y_zero, narrow_min, narrow_max)
  // instead of the float steps and their division. affine_exceptions: for
  // each of kAffineExceptions slots, [blocks * 16] sums S then [blocks * 16]
  // steps; empty where no channel misses a sum: that form is the integer
  // epilogue's requantization with bias_float added in its rounding.
  bool affine_sum = false;
  std::vector<int32_t> affine_exceptions;
  bool affine_corrected() const { return !affine_exceptions.empty(); }
  // The integer epilogue's lanes serve the quantized output: requantization,
  // or a float sum's affine form free of slots.
  bool integer_lanes() const { return !params.float_sum || (affine_sum && !affine_corrected()); }
};

// How store_epilogue_constants looks for a float sum's affine form. By
// default (kSlotFree), where a few channels miss a sum, it looks for
// (multiplier, offset) pairs that miss none, so that the layer runs free of
// exception slots. The kernel tests take the others: kFirstFit keeps the
// first pairs that fit the slots (the slots' lanes on their small layers),
// kNone keeps the float steps (their lanes on layers the form would fit).
enum class AffineSearch { kSlotFree, kFirstFit, kNone };
// Returns the previous setting.
AffineSearch set_affine_search(AffineSearch search);

// --verbose's name for the epilogue: qconv_epilogue_form's, or for a float
// sum's affine form "affine" (no exception slots) or "affine-corrected"; a
// grouped layer's, its group layers' where they agree, else "mixed".
inline const char* qconv_packed_form(const QConvPacked& p) {
  if (!p.group_layers.empty()) {
    const char* form = qconv_packed_form(p.group_layers.front());
    for (const QConvPacked& layer : p.group_layers)
      if (std::strcmp(qconv_packed_form(layer), form) != 0) return "mixed";
    return form;
  }
  if (!p.affine_sum) return qconv_epilogue_form(p.params);
  return p.affine_corrected() ? "affine-corrected" : "affine";
}

// The most that a lane's positive weights, and its negative weights'
// magnitudes, may sum to in a pair of quads (QConvPacked::quad_pairs): times
// a split byte's 127, within int16.
inline constexpr int kQuadPairWeightBound = 32767 / 127;

// Block `block`'s packed weights; blocks are k_padded * 16 bytes apart.
inline const int8_t* qconv_block_weights(const QConvPacked& p, int64_t block) {
  return p.weights.data() + block * p.k_padded * kQConvBlock;
}

// The node's packed state: packed on the first run (or taken from a plan,
// after checking its sizes against the layer), params re-read when the input
// shape changes. Not `packed` where the optimized kernels do not handle the
// layer (weights not int8, or weight zero points other than 0): the
// reference kernel runs it.
std::shared_ptr<QConvPacked> qconv_state(OpContext& ctx, ActivationDomain domain);

// The activation operand of one GEMM tile: `segments` runs of `quads` 4-byte
// groups each (K in packed order), row r of segment s at segment[s] + r * stride.
// A gathered tile is one segment; a tile read straight from the (padded)
// input has one segment per kernel tap.
// Rows read straight from an input of the other signedness are flipped as
// they are loaded: every 4-byte group is XORed with `flip` (0x80808080).
struct TileRows {
  static constexpr int kMaxSegments = 64;
  std::array<const uint8_t*, kMaxSegments> segment{};
  int segments = 0;
  int64_t quads = 0, stride = 0;
  uint32_t flip = 0;
  // The AVX2 kernel's rows split into 7-bit bytes (QConvPacked::split_rows):
  // per row r, the entries [begin[r], begin[r + 1]) after the begins (its
  // remainders: Avx2Ops::split_rows); null where the rows are whole.
  const int32_t* corrections = nullptr;
};

// The 4-byte group at `at` (row r's group q of a segment: segment + r *
// stride + 4 * q), as the int32 a kernel broadcasts. The kernels step a
// pointer from row to row: with an offset of r * stride per row, 16-row tiles
// ran out of registers for the addresses (ResNet-20: 11-13 % faster with the
// pointer). Rows that need the flip (TileRows::flip) are XORed
// after the broadcast, as vectors: XORed as an integer, the group was
// broadcast from a general register (a load, an XOR and a move to the vector
// unit per broadcast).
inline int32_t tile_quad(const uint8_t* at) {
  int32_t four;
  std::memcpy(&four, at, 4);
  return four;
}

// Where a layer's tiles read from. Kernels other than 1x1 read their taps
// straight from the input's rows, in tiles of `tile_rows` pixels within an
// output row: no per-tile gathering. Where the layer pads, or its channels are
// not a multiple of 4 (a stem's 3: each pixel's channels padded to
// tap_channels), the rows are copies padded with a_zero (QConvRowWindow);
// otherwise the input itself, flipped as loaded where it needs the flip. 1x1
// layers, and rows so narrow that their last tile would mostly compute
// padding, gather each tile (qconv_gather_rows).
struct QConvSource {
  bool direct = false;
  bool copied = false;                // the tiles read padded copies of the rows
  int64_t height = 0, width = 0;      // the padded input's dims (the input's where not copied)
  int64_t pad_top = 0, pad_left = 0;  // where the input sits in it
};
QConvSource qconv_source(const QConvPacked& p, int64_t tile_rows);
// Whether the layer's tiles read straight from the input where its rows are
// wide enough (what qconv_source decides from the tile's rows).
bool qconv_reads_rows(const QConvPacked& p);

// The padded input rows a thread's direct tiles read. Copied: a window of
// the rows one output row's taps span, each slot taking the next row needed
// as the thread's tiles move down the image, so the copies stay in L1 and no
// thread waits for another's. (The whole padded input, copied before the
// tiles behind a barrier, was a tenth of ResNet-20's run at batch 32.)
class QConvRowWindow {
 public:
  // Takes this thread's buffers: one window per thread at a time.
  QConvRowWindow(const QConvPacked& p, const QConvSource& source, const uint8_t* x);
  // Grows this thread's buffers for p's windows, as a window would: for a
  // thread that may take no tile of a run (StealingShares).
  static void ready_buffers(const QConvPacked& p, const QConvSource& source);
  // Row ih (in padded coordinates) of image n. Inline: a tile asks for one
  // a kernel row, and most are in the window already.
  const uint8_t* row(int64_t n, int64_t ih) {
    if (!source_.copied) return x_ + (n * height_ + ih) * pitch_;
    const int64_t h = ih - source_.pad_top;
    if (h < 0 || h >= height_) return rows_ + slots_ * row_bytes_;
    const int64_t slot = ih & (slots_ - 1);
    if (held_[slot] != n * source_.height + ih) copy_in(n, h, slot);
    return rows_ + slot * row_bytes_;
  }

 private:
  // Input row h of image n into `slot`.
  void copy_in(int64_t n, int64_t h, int64_t slot);
  // A copied source's slots, their bytes, and this thread's buffers for them.
  struct Buffers {
    int64_t slots, row_bytes;
    uint8_t* rows;
    int64_t* held;
  };
  static Buffers take_buffers(const QConvPacked& p, const QConvSource& source);

  const QConvPacked& p_;
  const QConvSource& source_;
  const uint8_t* x_;
  int64_t height_, pitch_;  // the input's rows, and the bytes of one
  int64_t slots_ = 0, row_bytes_ = 0;
  uint8_t* rows_ = nullptr;  // [slots_ + 1][row_bytes_], the last all a_zero (padding rows)
  int64_t* held_ = nullptr;  // the padded row (n * height + ih) each slot holds, -1 none
};

// The direct tile of image n's output row oh, pixels ow0 on, written to `rows`.
void qconv_direct_rows(const QConvPacked& p, const QConvSource& source, QConvRowWindow& window,
                       int64_t n, int64_t oh, int64_t ow0, TileRows* rows);

// Gathers the activation rows of a tile of `tile_rows` output pixels starting
// at `first` (flattened over batch, height, width), `count` of them real (the
// rest zero): row r holds the K activations of pixel first + r in packed order.
// Returns the first row and sets the stride between rows. Where the input can
// be read in place (1x1, stride 1, no pad, no flip, C % 4 == 0, a whole tile)
// the rows are x itself (and *flip tells whether they still need the flip);
// otherwise they are written, flipped, to `scratch` ([tile_rows][k_padded]).
const uint8_t* qconv_gather_rows(const QConvPacked& p, const uint8_t* x, int64_t first,
                                 int64_t count, int64_t tile_rows, uint8_t* scratch,
                                 int64_t* stride, bool* flip);

}  // namespace qdq
