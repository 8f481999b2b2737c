#include "runtime/kernels/qconv_winograd.h"

#include <algorithm>
#include <cstdlib>

#include "runtime/cpu_features.h"

namespace qdq {
namespace {

// The most of the direct multiply-adds the Winograd form may compute (the
// transforms' work, which weighs where the channels are few, not counted).
// 0.7 takes batch 1's 4x4 layers (4 tiles in a group of 6: 0.67) and 7x7
// ones (16 in 3 groups: 0.65), measured on the emulated AVX2 machine against
// direct tiles of 16-bit weights (ResNet-18's 512-channel 4x4 layers, two
// threads: 0.15-0.20 ms against 0.25-0.28 direct; ResNet-50's 7x7 stride-1
// 3x3 layers 0.56-0.67 against 0.75-0.93). A form must also cost no more
// than the direct tiles with its weights' bytes counted (below).
constexpr double kWinogradWorkShare = 0.7;

// The multiply-adds that take as long as reading a weight byte from beyond L2.
// The Winograd forms read transformed weights of 16 bits, 32 (F(2x2, 3x3))
// or 48 (F(2x4, 3x3)) bytes a pair of channels, where the direct tiles
// read 9 int8 ones, and at batch 1 a deep layer's weights come from memory
// once a group of tiles, its products few. Fitted on the Zen 3
// (two threads, batch 1, ResNet-18's 16x16, 8x8 and 4x4 layers, 128-512
// channels: Winograd / direct 0.73-0.78, 0.73-0.80 and 1.11-1.17 the time,
// this cost's ratios 0.79, 0.74 and 1.17; at batch 32 its 4x4 layers 0.58-0.72
// in F(2x4, 3x3), the cost's 0.58). Products alone sent batch 1's 4x4
// layers to F(2x2, 3x3). ResNet-50's 7x7 512-channel layers at batch 1 cost
// 0.96 of direct in F(2x4, 3x3) and keep it (`bench/peak.sh`'s layer,
// its weights warm in L3: 0.80-0.87 ms against 1.12-1.34 direct).
constexpr double kStreamedByteMacs = 3.4;

// Transformed weights too large for groups of 6 tiles: ResNet-18's 256-channel
// 8x8 layers at batch 1 (2 MB in F(2x2, 3x3), 16 tiles) ran 0.82-0.88x the
// time in two groups of up to 12 than in three of up to 6 (two threads, AVX2;
// larger groups, the transformed input past L1, ran slower: 48 tiles 1.12-1.16x
// on its 4x4 layers at batch 32, one thread).
constexpr int64_t kWinogradLargeWeightBytes = int64_t{1} << 20;

// G (qconv_winograd.h): row i of the transform by a kernel row's 3 weights:
// F(2, 3)'s and F(4, 3)'s (scaled by 24).
constexpr int kG[4][3] = {{2, 0, 0}, {1, 1, 1}, {1, -1, 1}, {0, 0, 2}};
constexpr int kG4[6][3] = {{6, 0, 0}, {-4, -4, -4}, {-4, 4, -4}, {1, 2, 4}, {1, -2, 4}, {0, 0, 24}};

// G's entry (i, k) down the patch's columns (`along_rows` false: the
// transform of a kernel column, for the patch's rows) or along its rows.
int g_entry(WinogradForm form, bool along_rows, int i, int k) {
  return form == WinogradForm::kF2x4 && along_rows ? kG4[i][k] : kG[i][k];
}

// The weight of output channel `oc`, input channel `ch`, tap `tap` in its
// packed block ([k_padded / 4][16][4]).
int weight(const QConvPacked& p, int64_t oc, int64_t ch, int64_t tap) {
  const int64_t kk = tap * p.tap_channels + ch;
  return qconv_block_weights(
      p, oc / kQConvBlock)[(kk / 4 * kQConvBlock + oc % kQConvBlock) * 4 + kk % 4];
}

// The largest sum |w| of an output channel: |S| <= 128 times it, and Y =
// scale * S is exact where that stays below 2^31.
int64_t largest_weight_magnitude(const QConvPacked& p) {
  const int64_t c = p.params.shape.in_channels;
  int64_t largest = 0;
  for (int64_t oc = 0; oc < p.params.shape.out_channels; ++oc) {
    int64_t magnitude = 0;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t tap = 0; tap < 9; ++tap) magnitude += std::abs(weight(p, oc, ch, tap));
    largest = std::max(largest, magnitude);
  }
  return largest;
}

bool sums_fit(WinogradForm form, int64_t magnitude) {
  return winograd_shape(form).scale * 128 * magnitude < (int64_t{1} << 31);
}

// A form's multiply-adds, and its cost: those and its weights' bytes at
// kStreamedByteMacs.
struct Cost {
  double products, total;
};

// The direct tiles': their int8 weights read once (each thread's panel
// groups stay in L2 over its tiles: qconv_panel_groups).
Cost direct_cost(const QConvParams& q) {
  const double pairs = static_cast<double>(q.shape.in_channels * q.shape.out_channels);
  const auto pixels = static_cast<double>(q.shape.batch * q.out_height() * q.out_width());
  return {pairs * 9 * pixels, pairs * 9 * (pixels + kStreamedByteMacs)};
}

// A Winograd form's: every group's tiles multiplied (a group's last GEMM
// tile multiplies only the rows its tiles fill, but streams the weights as
// a whole one), its transformed weights read once a group where they
// outgrow half an L2, else once.
Cost winograd_cost(const QConvParams& q, WinogradForm form) {
  const WinogradShape s = winograd_shape(form);
  const int64_t tiles =
      q.shape.batch * ((q.out_height() + 1) / 2) * ((q.out_width() + s.out_cols - 1) / s.out_cols);
  const int64_t group = qconv_winograd_group_tiles(q, form, tiles);
  const int64_t groups = (tiles + group - 1) / group;
  const double positions = s.rows * s.cols;
  const double pairs = static_cast<double>(q.shape.in_channels * q.shape.out_channels);
  const double products = static_cast<double>(groups * group) * positions * pairs;
  const double weight_bytes = positions * pairs * 2;
  const int64_t reads = weight_bytes > static_cast<double>(l2_cache_bytes()) / 2 ? groups : 1;
  return {products, products + kStreamedByteMacs * weight_bytes * static_cast<double>(reads)};
}

// Whether a form of cost `form` pays against the direct tiles:
// kWinogradWorkShare of their products at most, and no more than their cost.
bool pays(const Cost& form, const Cost& direct) {
  return form.products <= kWinogradWorkShare * direct.products && form.total <= direct.total;
}

}  // namespace

WinogradForm qconv_winograd_form(const QConvPacked& p) {
  const QConvParams& q = p.params;
  const SpatialGeometry& g = q.shape.geometry;
  if (!p.packed || q.depthwise() || q.shape.group != 1 || g.kernel[1] != 3 || g.kernel[2] != 3 ||
      g.stride[1] != 1 || g.stride[2] != 1 || g.dilation[1] != 1 || g.dilation[2] != 1 ||
      q.shape.in_channels % 16 != 0 || p.tap_channels != q.shape.in_channels)
    return WinogradForm::kNone;
  const Cost direct = direct_cost(q);
  const Cost cost2 = winograd_cost(q, WinogradForm::kF2x2);
  const Cost cost4 = winograd_cost(q, WinogradForm::kF2x4);
  const bool pays2 = pays(cost2, direct), pays4 = pays(cost4, direct);
  if (!pays2 && !pays4) return WinogradForm::kNone;
  // The weights read only where a form would pay.
  const int64_t magnitude = largest_weight_magnitude(p);
  if (pays4 && sums_fit(WinogradForm::kF2x4, magnitude) && (!pays2 || cost4.total < cost2.total))
    return WinogradForm::kF2x4;
  return pays2 && sums_fit(WinogradForm::kF2x2, magnitude) ? WinogradForm::kF2x2
                                                           : WinogradForm::kNone;
}

int64_t qconv_winograd_group_tiles(const QConvParams& q, WinogradForm form, int64_t tiles) {
  const WinogradShape s = winograd_shape(form);
  const int64_t weight_bytes =
      int64_t{s.rows} * s.cols * q.shape.in_channels * q.shape.out_channels * 2;
  if (weight_bytes >= kWinogradLargeWeightBytes && tiles > 6) return 12;
  return tiles >= 8 * 12 ? 12 : 6;
}

void store_winograd_weights(QConvPacked& p) {
  const int64_t c = p.params.shape.in_channels, m = p.params.shape.out_channels;
  const WinogradShape shape = winograd_shape(p.winograd);
  const int positions = shape.rows * shape.cols;
  p.winograd_weights.assign(static_cast<size_t>(positions * p.blocks * c * kQConvBlock), 0);
  for (int64_t oc = 0; oc < m; ++oc)
    for (int64_t ch = 0; ch < c; ++ch) {
      int w[3][3];
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw) w[kh][kw] = weight(p, oc, ch, kh * 3 + kw);
      for (int i = 0; i < shape.rows; ++i)
        for (int j = 0; j < shape.cols; ++j) {
          int u = 0;
          for (int kh = 0; kh < 3; ++kh)
            for (int kw = 0; kw < 3; ++kw)
              u += g_entry(p.winograd, false, i, kh) * w[kh][kw] * g_entry(p.winograd, true, j, kw);
          const int64_t position = i * shape.cols + j, block = oc / kQConvBlock;
          const int64_t lane = oc % kQConvBlock;
          // [block][position][ch / 2][lane][ch % 2]
          p.winograd_weights[static_cast<size_t>(
              (((block * positions + position) * (c / 2) + ch / 2) * kQConvBlock + lane) * 2 +
              ch % 2)] = static_cast<int16_t>(u);
        }
    }
  p.winograd_weights_form = p.winograd;
}

}  // namespace qdq
