#include "runtime/kernels/qconv_pack.h"

#include <emmintrin.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

#include "runtime/kernels/qconv_winograd.h"
#include "support/parallel.h"

namespace qdq {
namespace {

bool all_zero(const std::vector<int32_t>& v) {
  return std::all_of(v.begin(), v.end(), [](int32_t z) { return z == 0; });
}

int64_t round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

// int32 arithmetic that wraps like the reference's int32 accumulation would
// have to: the true sum is what matters, and it fits whenever the reference's does.
int32_t wrapping(int64_t v) { return static_cast<int32_t>(static_cast<uint32_t>(v)); }

// w: the layer's weights, [M][C / group][kH][kW].
void pack(ActivationDomain domain, QConvPacked& p, const int8_t* w) {
  const QConvParams& q = p.params;
  p.packed = true;
  p.domain = domain;
  const SpatialGeometry& g = q.shape.geometry;
  const int64_t c = q.shape.in_channels / q.shape.group, m = q.shape.out_channels;
  const int64_t taps = g.kernel_size();
  p.flip = (q.x_type == DType::kInt8) == (domain == ActivationDomain::kUnsigned);
  p.a_zero = q.x_zero + (!p.flip ? 0 : domain == ActivationDomain::kUnsigned ? 128 : -128);
  p.blocks = (m + kQConvBlock - 1) / kQConvBlock;
  p.bias.assign(static_cast<size_t>(p.blocks * kQConvBlock), 0);
  auto finite = [](float v) { return std::isfinite(v); };
  p.finite_multipliers = std::all_of(q.multipliers.begin(), q.multipliers.end(), finite) &&
                         std::all_of(q.bias_float.begin(), q.bias_float.end(), finite);
  if (q.depthwise()) {
    // The kernels multiply x itself (every tap, x_zero outside the input):
    //   sum (x - x_zero) w = sum x w - x_zero sum w.
    const int64_t padded = p.blocks * kQConvBlock;
    std::vector<int32_t> depthwise(static_cast<size_t>(taps * padded), 0);
    for (int64_t ch = 0; ch < m; ++ch) {
      int64_t sum = 0;
      for (int64_t t = 0; t < taps; ++t) {
        depthwise[static_cast<size_t>(t * padded + ch)] =
            static_cast<uint16_t>(int16_t{w[ch * taps + t]});
        sum += w[ch * taps + t];
      }
      p.bias[static_cast<size_t>(ch)] =
          wrapping(int64_t{q.bias[static_cast<size_t>(ch)]} - int64_t{q.x_zero} * sum);
    }
    p.depthwise_weights = SharedArray<int32_t>(std::move(depthwise));
    return;
  }
  p.k = taps * c;
  p.k_padded = taps * p.tap_channels;
  std::vector<int8_t> weights(static_cast<size_t>(p.blocks * p.k_padded * kQConvBlock), 0);
  for (int64_t oc = 0; oc < m; ++oc) {
    int64_t sum = 0;
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < taps; ++t) {
        const int8_t v = w[(oc * c + ch) * taps + t];
        const int64_t kk = t * p.tap_channels + ch;
        const int64_t block = oc / kQConvBlock, lane = oc % kQConvBlock;
        weights[static_cast<size_t>(((block * (p.k_padded / 4) + kk / 4) * kQConvBlock + lane) * 4 +
                                    kk % 4)] = v;
        sum += v;
      }
    p.bias[static_cast<size_t>(oc)] =
        wrapping(int64_t{q.bias[static_cast<size_t>(oc)]} - int64_t{p.a_zero} * sum);
  }
  p.weights = SharedArray<int8_t>(std::move(weights));
}

constexpr const char* kForeignPlan =
    "the plan's packed weights do not fit this layer (a corrupt or foreign plan)";

// A packed state that did not come from pack() (a plan's) must fit the layer
// before a kernel indexes it: every size the kernels rely on is checked.
void check_packed_state(const OpContext& ctx, const QConvPacked& p) {
  const QConvParams& q = p.params;
  const SpatialGeometry& g = q.shape.geometry;
  const int64_t c = q.shape.in_channels / q.shape.group, m = q.shape.out_channels;
  const int64_t taps = g.kernel_size();
  const size_t channels = static_cast<size_t>(p.blocks * kQConvBlock);
  bool ok = p.blocks == (m + kQConvBlock - 1) / kQConvBlock && p.bias.size() == channels &&
            p.multipliers.size() == channels && p.bias_float.size() == channels;
  if (q.depthwise())
    ok = ok && p.depthwise_weights.size() == static_cast<size_t>(taps) * channels;
  else
    ok = ok && p.k == taps * c && p.k_padded == taps * p.tap_channels &&
         p.weights.size() == static_cast<size_t>(p.blocks * p.k_padded * kQConvBlock);
  const bool flip = (q.x_type == DType::kInt8) == (p.domain == ActivationDomain::kUnsigned);
  ok = ok && p.flip == flip &&
       p.a_zero == q.x_zero + (!flip                                     ? 0
                               : p.domain == ActivationDomain::kUnsigned ? 128
                                                                         : -128);
  ctx.require(ok, kForeignPlan);
}

// The depthwise weights in the kernels' layouts (depthwise_quads, depthwise_pairs)
// and the flip sums, made from the [tap][channel] form, not kept in plans.
void store_depthwise_layouts(QConvPacked& p) {
  const int64_t taps = p.params.shape.geometry.kernel_size();
  const int64_t channels = p.params.shape.out_channels, padded = p.blocks * kQConvBlock;
  const int64_t groups = (channels + 63) / 64, quads = (taps + 3) / 4, pairs = (taps + 1) / 2;
  p.depthwise_quads.assign(static_cast<size_t>(groups * quads * 256), 0);
  p.depthwise_pairs.assign(static_cast<size_t>(pairs * p.blocks * 32), 0);
  p.depthwise_flip_sums.assign(static_cast<size_t>(padded), 0);
  for (int64_t ch = 0; ch < channels; ++ch) {
    const int64_t g = ch / 64, lane = ch % 64 / 16, j = ch % 16 / 4, i = ch % 4;
    const int64_t block = ch / 16, half = ch % 16 / 8, v = ch % 8 / 4, k = ch % 4;
    // The low 16 bits of the [tap][channel] form hold the int8 weight.
    const auto weight = [&](int64_t t) {
      return static_cast<int8_t>(p.depthwise_weights[static_cast<size_t>(t * padded + ch)]);
    };
    int64_t sum = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t quad = t / 4, q = t % 4;
      p.depthwise_quads[static_cast<size_t>(((g * quads + quad) * 4 + j) * 64 + (4 * lane + i) * 4 +
                                            q)] = weight(t);
      sum += weight(t);
    }
    for (int64_t place = 0; place < taps; ++place)
      p.depthwise_pairs[static_cast<size_t>(((block * pairs + place / 2) * 2 + v) * 16 + half * 8 +
                                            2 * k + place % 2)] =
          weight(depthwise_pair_tap(p.params.shape.geometry.kernel, place));
    p.depthwise_flip_sums[static_cast<size_t>(ch)] = wrapping(128 * sum);
  }
}

void store_pair_weights(QConvPacked& p) {
  const int64_t quads = p.k_padded / 4;
  p.pair_weights.resize(static_cast<size_t>(p.blocks * p.k_padded * kQConvBlock));
  // A quad's four weights of a lane are two pairs: K 4q, 4q + 1 and 4q + 2, 4q + 3.
  for (int64_t b = 0; b < p.blocks; ++b)
    for (int64_t q = 0; q < quads; ++q)
      for (int64_t lane = 0; lane < kQConvBlock; ++lane)
        for (int64_t j = 0; j < 4; ++j)
          p.pair_weights[static_cast<size_t>(((b * quads + q) * 2 + j / 2) * 2 * kQConvBlock +
                                             lane * 2 + j % 2)] =
              p.weights[static_cast<size_t>(((b * quads + q) * kQConvBlock + lane) * 4 + j)];
}

// factor * sum w per channel of the packed weights ([blocks * 16]), wrapping.
std::vector<int32_t> scaled_weight_sums(const QConvPacked& p, int64_t factor) {
  std::vector<int32_t> sums(static_cast<size_t>(p.blocks * kQConvBlock));
  const int64_t quads = p.k_padded / 4;
  for (int64_t b = 0; b < p.blocks; ++b)
    for (int64_t lane = 0; lane < kQConvBlock; ++lane) {
      int64_t sum = 0;
      for (int64_t q = 0; q < quads; ++q)
        for (int64_t j = 0; j < 4; ++j)
          sum += p.weights[static_cast<size_t>(((b * quads + q) * kQConvBlock + lane) * 4 + j)];
      sums[static_cast<size_t>(b * kQConvBlock + lane)] = wrapping(factor * sum);
    }
  return sums;
}

// QConvPacked::quad_pairs, quad_order and ordered_weights. Per block, the
// quads by their largest lane sum, most first; each takes the first of the
// quads least loaded (from the end, kQuadPairCandidates of them still
// free) that it fits beside. A trained layer's weights pair almost
// entirely where K is long (MobileNetV2's projections 99.5-100 % of their
// quads, ResNet-18's 3x3 layers all), hardly where K is short and the
// weights large (its expansions, K = 16-160: 0-62 %). A layer whose pairs
// hold less than kQuadPairsWorth of its quads keeps K in order (quad_pairs
// empty): the pair passes and the quads alone, read by their offsets, ran
// MobileNetV2's expansions 1.0-1.1x the plain loop's time.
void store_quad_pairs(QConvPacked& p) {
  constexpr int kLanes = 2 * kQConvBlock, kQuadPairCandidates = 32;
  constexpr double kQuadPairsWorth = 0.75;
  const int64_t quads = p.k_padded / 4;
  p.quad_pairs.assign(static_cast<size_t>(p.blocks), 0);
  p.quad_order.resize(static_cast<size_t>(p.blocks * quads));
  p.quad_places.resize(static_cast<size_t>(p.blocks * quads));
  p.ordered_weights.resize(static_cast<size_t>(p.blocks * quads * 4 * kQConvBlock));
  // A quad's lane sums: [lane][positive, negative], lane 2c + h the half h
  // (K 4q + 2h and 4q + 2h + 1) of channel c, as vpmaddubsw sums them.
  using LaneSums = std::array<std::array<int, 2>, kLanes>;
  std::vector<LaneSums> sums(static_cast<size_t>(quads));
  std::vector<int> largest(static_cast<size_t>(quads));
  std::vector<int64_t> order(static_cast<size_t>(quads));
  std::vector<bool> placed(static_cast<size_t>(quads));
  int64_t pairs = 0;
  for (int64_t b = 0; b < p.blocks; ++b) {
    const int8_t* const w = qconv_block_weights(p, b);
    for (int64_t q = 0; q < quads; ++q) {
      LaneSums& s = sums[static_cast<size_t>(q)];
      s = {};
      for (int64_t j = 0; j < 4 * kQConvBlock; ++j) {
        const int v = w[q * 4 * kQConvBlock + j];
        s[static_cast<size_t>(j / 2)][v < 0 ? 1 : 0] += std::abs(v);
      }
      int most = 0;
      for (const auto& lane : s) most = std::max({most, lane[0], lane[1]});
      largest[static_cast<size_t>(q)] = most;
    }
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) {
      return largest[static_cast<size_t>(x)] > largest[static_cast<size_t>(y)];
    });
    const auto fit = [&](int64_t x, int64_t y) {
      const LaneSums &s = sums[static_cast<size_t>(x)], &t = sums[static_cast<size_t>(y)];
      for (int l = 0; l < kLanes; ++l)
        for (int sign = 0; sign < 2; ++sign)
          if (s[l][sign] + t[l][sign] > kQuadPairWeightBound) return false;
      return true;
    };
    std::fill(placed.begin(), placed.end(), false);
    std::vector<int64_t> paired, alone;
    for (size_t i = 0; i < order.size(); ++i) {
      const int64_t x = order[i];
      if (placed[static_cast<size_t>(x)]) continue;
      placed[static_cast<size_t>(x)] = true;
      bool partnered = false;
      for (size_t j = order.size(), tried = 0; j-- > i + 1 && tried < kQuadPairCandidates;) {
        const int64_t y = order[j];
        if (placed[static_cast<size_t>(y)]) continue;
        ++tried;
        if (!fit(x, y)) continue;
        placed[static_cast<size_t>(y)] = true;
        paired.insert(paired.end(), {x, y});
        partnered = true;
        break;
      }
      if (!partnered) alone.push_back(x);
    }
    p.quad_pairs[static_cast<size_t>(b)] = static_cast<int32_t>(paired.size() / 2);
    pairs += static_cast<int64_t>(paired.size() / 2);
    paired.insert(paired.end(), alone.begin(), alone.end());
    for (int64_t i = 0; i < quads; ++i) {
      const int64_t q = paired[static_cast<size_t>(i)];
      p.quad_order[static_cast<size_t>(b * quads + i)] = static_cast<int32_t>(4 * q);
      p.quad_places[static_cast<size_t>(b * quads + q)] = static_cast<int32_t>(i);
      std::memcpy(p.ordered_weights.data() + (b * quads + i) * 4 * kQConvBlock,
                  w + q * 4 * kQConvBlock, 4 * kQConvBlock);
    }
  }
  if (static_cast<double>(2 * pairs) < kQuadPairsWorth * static_cast<double>(p.blocks * quads)) {
    p.quad_pairs.clear();
    p.quad_order.clear();
    p.quad_places.clear();
    p.ordered_weights.clear();
  }
}

// The AVX2 kernel's 8-bit rows (QConvPacked::split_rows). Rows of narrow
// taps (a stem's 3 or 4 channels) split in 4-byte pieces, and their values
// spread wide: they stay 16-bit. So do layers of one block, and of two
// without quad pairs, whose tiles split a row for too few products
// (MobileNetV2's 24- and 32-channel projections ran 1.04-1.15x the 16-bit
// time split and unpaired, 0.95-0.97x paired; its 16-channel one 1.08-1.11x
// paired).
void store_split_constants(QConvPacked& p) {
  p.split_rows = false;
  if (p.tap_channels < 16 || p.blocks < 2) return;
  store_quad_pairs(p);
  if (p.blocks == 2 && p.quad_pairs.empty()) return;
  p.split_rows = true;
  // At most 128: Avx2Ops::split_rows tells u < center by u - center's sign
  // modulo 256.
  p.split_center = static_cast<uint8_t>(std::clamp(p.a_zero + 128 - 64, 0, 128));
  p.center_sums = scaled_weight_sums(p, int64_t{p.split_center} - 128);
}

void store_flip_sums(QConvPacked& p) { p.flip_sums = scaled_weight_sums(p, 128); }

// One tap's channels into a gathered row. Inline 16-byte moves (SSE2, baseline
// x86-64) where the channel count allows: a call to memcpy per tap costs more
// than the copy for the narrow early layers.
void copy_channels(uint8_t* dst, const uint8_t* src, int64_t c, bool flip) {
  const __m128i sign = _mm_set1_epi8(flip ? static_cast<char>(0x80) : 0);
  int64_t i = 0;
  for (; i + 16 <= c; i += 16)
    _mm_storeu_si128(
        reinterpret_cast<__m128i*>(dst + i),
        _mm_xor_si128(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i)), sign));
  for (; i < c; ++i) dst[i] = flip ? src[i] ^ 0x80 : src[i];
}

// Without a residual, an epilogue's output is a monotone function of the value
// it rounds (the integer epilogue's sum * multiplier; the float sum's value
// before the activation, over y_scale > 0), clamped: rounding first and then
// clamping the bytes gives the same bits, as long as the rounding itself is
// exact (cvtps2dq: |value| < 2^31). The float sum's activation moves to the
// bytes too: QuantizeLinear of the activation's bounds (monotone again; no
// NaN without a residual). Bound: |sum| <= |B| + K * 255 * 128, the products
// of |x - x_zero| <= 255 and |w| <= 128.
//
// With an integer residual, QLinearAdd's value (float(t - y_zero) *
// conv_scale + float(r - r_zero) * r_scale) / sum_scale has |t - y_zero|,
// |r - r_zero| <= 255: bounded by 255 * (|conv_scale| + |r_scale|) /
// |sum_scale|, each float step's rounding within the 1e-5 margin. Rounded
// below 2^30, the saturating packs and the byte clamp do QuantizeLinear's and
// the out_min/out_max clamps as above (no NaN: every step finite).
//
// A float sum with an 8-bit residual adds float(r - r_zero) * r_scale,
// |r - r_zero| <= 255, to the float value before the activation: its output
// is a monotone function of that sum over y_scale, which the bound above
// plus 255 * |r_scale| / y_scale holds below 2^30 (finite, so no NaN).
void qconv_narrow_bounds(const OpContext& ctx, QConvPacked& p) {
  const QConvParams& q = p.params;
  p.saturating_narrow = false;
  p.residual_narrow = false;
  p.float_residual_narrow = false;
  if (q.residual && !q.float_epilogue() && p.finite_multipliers) {
    const QConvParams::Residual& r = *q.residual;
    const double parts = 255.0 * (std::fabs(double{r.conv_scale}) + std::fabs(double{r.scale}));
    p.residual_narrow = std::isfinite(parts) && parts < 1e30 && std::isfinite(r.sum_scale) &&
                        parts * (1 + 1e-5) < 1073741824.0 * std::fabs(double{r.sum_scale});
  }
  if (q.float_output() || !p.finite_multipliers || (q.float_sum && !(q.y_scale > 0))) return;
  const int64_t k = q.shape.geometry.kernel_size() * (q.shape.in_channels / q.shape.group);
  // A float sum's 8-bit residual adds |r - r_zero| * r_scale <= 255 * r_scale.
  const bool float_residual = q.float_sum && q.residual && q.residual_type != DType::kFloat32;
  const double residual_part =
      float_residual ? 255.0 * std::fabs(double{q.residual->scale}) / q.y_scale : 0.0;
  double most = 0;
  for (size_t m = 0; m < q.multipliers.size(); ++m) {
    const double sum =
        std::fabs(static_cast<double>(q.bias[m])) + static_cast<double>(k) * 255.0 * 128.0;
    double value = sum * std::fabs(double{q.multipliers[m]});
    if (q.float_sum) value = (value + std::fabs(double{q.bias_float[m]})) / q.y_scale;
    most = std::max(most, value);
  }
  if (!(most * (1 + 1e-5) < 1073741824.0)) return;
  p.saturating_narrow = true;
  p.float_residual_narrow = float_residual && std::isfinite(residual_part) &&
                            (most + residual_part) * (1 + 1e-5) < 1073741824.0;
  p.narrow_min = q.conv_min;
  p.narrow_max = q.conv_max;
  if (q.float_sum)
    dispatch_types<uint8_t, int8_t>(ctx, q.y_type, [&](auto tag) {
      using Q = decltype(tag);
      p.narrow_min = quantize_value<Q>(q.activation.lo, q.y_scale, q.y_zero);
      p.narrow_max = quantize_value<Q>(q.activation.hi, q.y_scale, q.y_zero);
    });
}

// The first S in [first, last + 1] where step(S) >= level (last + 1: none),
// step being monotone: from `guess` on, stepping, then halving the bracket
// if the guess was far off.
template <typename Step>
int64_t first_at_level(const Step& step, int64_t level, int64_t first, int64_t last,
                       int64_t guess) {
  if (step(first) >= level) return first;
  if (step(last) < level) return last + 1;
  int64_t below = first, above = last;  // step(below) < level <= step(above)
  int64_t s = std::clamp(guess, below + 1, above);
  for (int tries = 0; tries < 8 && below + 1 < above; ++tries) {
    if (step(s) >= level)
      above = s, s = std::max(s - 1, below + 1);
    else
      below = s, s = std::min(s + 1, above);
  }
  while (below + 1 < above) {
    const int64_t mid = below + (above - below) / 2;
    (step(mid) >= level ? above : below) = mid;
  }
  return above;
}

// A step function of S with its last values kept: each level's search
// starts where the last one ended, at S it evaluated already, and every
// search looks at the range's end (MobileNetV2 QAT's first run, one thread,
// with round_half_even in the affine step: 0.19-0.22 s -> 0.17-0.18 s).
template <typename Step>
class KeptSteps {
 public:
  explicit KeptSteps(const Step& step) : step_(step) {}
  int64_t operator()(int64_t s) const {
    Entry& e = kept_[static_cast<size_t>(s) % kept_.size()];
    if (e.s != s) e = {s, step_(s)};
    return e.value;
  }

 private:
  struct Entry {
    int64_t s = std::numeric_limits<int64_t>::min();  // no S: sums fit in int32
    int64_t value = 0;
  };
  const Step& step_;
  mutable std::array<Entry, 8> kept_{};
};

// v moved (k + 1) / 2 ulps, down for odd k, up for even: 0, -1, +1, -2, ...
float ulps_off(float v, int k) {
  const float toward =
      k % 2 ? -std::numeric_limits<float>::infinity() : std::numeric_limits<float>::infinity();
  for (int i = 0; i < (k + 1) / 2; ++i) v = std::nextafter(v, toward);
  return v;
}

// The affine form of one channel's float sum (QConvPacked::affine_sum),
// with the sums where it misses: false where they are more than `allowed`
// (at most kAffineExceptions). Both forms are monotone step functions of S (each
// float step is monotone: the multipliers and y_scale are positive), so
// they differ only between the S where each reaches an output level and
// the S where the other does: those S are all checked. On MobileNetV2
// QAT's channels the two reach a level at most one S apart, at up to a
// few of the levels.
template <typename Q>
bool affine_channel(const QConvPacked& p, int64_t c, int64_t first, int64_t last, float multiplier,
                    float offset, int allowed,
                    std::array<std::pair<int32_t, int32_t>, kAffineExceptions>& out,
                    int* exceptions) {
  const QConvParams& q = p.params;
  const auto affine_step = [&](int64_t s) {
    const float t = std::fma(static_cast<float>(s), multiplier, offset);
    return std::clamp<int64_t>(static_cast<int64_t>(round_half_even(t)) + q.y_zero, p.narrow_min,
                               p.narrow_max);
  };
  const auto reference_step = [&](int64_t s) {
    return int64_t{qconv_epilogue<Q, Q>(q, c, static_cast<int32_t>(s), Q{0})};
  };
  const KeptSteps affine(affine_step);
  const KeptSteps reference(reference_step);
  const double bound = 1073741824.0;  // rounded in int32, as the kernels' lanes are
  if (!(multiplier > 0) || !std::isfinite(offset) ||
      !(std::fabs(std::fma(static_cast<float>(first), multiplier, offset)) < bound) ||
      !(std::fabs(std::fma(static_cast<float>(last), multiplier, offset)) < bound))
    return false;
  *exceptions = 0;
  int64_t previous = first;  // each level's S is at least the last one's
  for (int64_t level = p.narrow_min + 1; level <= p.narrow_max; ++level) {
    // Where the real line crosses level - 1/2: both steps are near.
    const double crossing = (static_cast<double>(level - q.y_zero) - 0.5 - offset) / multiplier;
    const auto guess =
        static_cast<int64_t>(std::clamp(std::ceil(crossing), -4294967296.0, 4294967296.0));
    const int64_t at = first_at_level(affine, level, previous, last, guess);
    const int64_t want = first_at_level(reference, level, previous, last, at);
    // Between the two, the forms differ at every S.
    if (std::max(at, want) - std::min(at, want) > allowed) return false;
    for (int64_t s = std::min(at, want); s < std::max(at, want); ++s) {
      const auto miss = static_cast<int32_t>(reference(s) - affine(s));
      const bool known = std::any_of(out.begin(), out.begin() + *exceptions,
                                     [&](const auto& e) { return e.first == s; });
      if (miss == 0 || known) continue;
      if (*exceptions == allowed) return false;
      out[static_cast<size_t>((*exceptions)++)] = {static_cast<int32_t>(s), miss};
    }
    previous = std::min(at, want);
  }
  return true;
}

std::atomic<AffineSearch> affine_search{AffineSearch::kSlotFree};  // set_affine_search

// One channel's affine form (misses > kAffineExceptions: none fits yet).
struct AffineChannel {
  float multiplier = 0, offset = 0;
  int misses = kAffineExceptions + 1;
  std::array<std::pair<int32_t, int32_t>, kAffineExceptions> exceptions{};
};

// Channel c's form improved: the first of the (multiplier, offset) pairs up
// to multiplier_steps and offset_steps of ulps_off from m / y_scale and
// B / y_scale that misses fewer sums than `best`, and so on until one
// misses no more than `wanted`.
template <typename Q>
void fit_affine_channel(const QConvPacked& p, int64_t c, std::pair<int64_t, int64_t> range,
                        int multiplier_steps, int offset_steps, int wanted, AffineChannel& best) {
  const QConvParams& q = p.params;
  const auto at = static_cast<size_t>(c);
  const auto [first, last] = range;
  const float multiplier = q.multipliers[at] / q.y_scale, offset = q.bias_float[at] / q.y_scale;
  for (int dm = 0; dm < multiplier_steps && best.misses > wanted; ++dm)
    for (int db = 0; db < offset_steps && best.misses > wanted; ++db) {
      AffineChannel candidate{ulps_off(multiplier, dm), ulps_off(offset, db), 0, {}};
      if (affine_channel<Q>(p, c, first, last, candidate.multiplier, candidate.offset,
                            best.misses - 1, candidate.exceptions, &candidate.misses))
        best = candidate;
    }
}

// The slots cost every lane of the layer (MobileNetV2 QAT's depthwise
// layers 1.1-1.3x the s8s8 file's time with them, 0.85-1.11x without), so
// where a few channels of a layer that fits them miss a sum, those look for
// pairs that miss none: the same 3 x 9, given up once more than 8 channels
// still miss one, then 9 x 33 for those (MobileNetV2 QAT: 18 of its 32
// layers in the affine form end free of slots). In chunks of 16 channels,
// so that where it gives up (and so the plan) does not depend on the
// threads' timing.
template <typename Q>
void fit_free_of_slots(const QConvPacked& p, const std::vector<std::pair<int64_t, int64_t>>& ranges,
                       std::vector<AffineChannel>& channels) {
  auto still_missing = [&] {
    std::vector<size_t> missing;
    for (size_t c = 0; c < channels.size(); ++c)
      if (channels[c].misses > 0) missing.push_back(c);
    return missing;
  };
  auto fit = [&](const std::vector<size_t>& which, size_t begin, size_t end, int steps_m,
                 int steps_b) {
    parallel_for(static_cast<int64_t>(end - begin), end - begin > 1, [&](int64_t i) {
      const size_t c = which[begin + static_cast<size_t>(i)];
      fit_affine_channel<Q>(p, static_cast<int64_t>(c), ranges[c], steps_m, steps_b, 0,
                            channels[c]);
    });
  };
  std::vector<size_t> missing = still_missing();
  int64_t kept = 0;
  for (size_t begin = 0; begin < missing.size() && kept <= 8; begin += 16) {
    const size_t end = std::min(missing.size(), begin + 16);
    fit(missing, begin, end, 3, 9);
    for (size_t i = begin; i < end; ++i) kept += channels[missing[i]].misses > 0;
  }
  missing = still_missing();
  if (missing.size() <= 8) fit(missing, 0, missing.size(), 9, 33);
}

// The vector epilogues' multipliers and float biases: the layer's own, or,
// for a float sum without a residual whose every channel's misses fit the
// exception slots, its affine form's (QConvPacked::affine_sum). From the
// params each time they are read: a plan's copies or an earlier shape's
// may be either. Per channel: S's range from the weights (|x - x_zero|
// within the input type's range, padding taps adding 0), multiplier m /
// y_scale and offset B / y_scale in float, or a few ulps off them where
// that misses fewer sums. The unused slots hold an S the channel cannot
// reach; a layer whose channels miss none has no slots.
void store_epilogue_constants(const OpContext& ctx, QConvPacked& p, const int8_t* w) {
  const QConvParams& q = p.params;
  const int64_t m = q.shape.out_channels, padded = p.blocks * kQConvBlock;
  p.multipliers.assign(static_cast<size_t>(padded), 0.0f);
  std::copy(q.multipliers.begin(), q.multipliers.end(), p.multipliers.begin());
  p.bias_float.assign(static_cast<size_t>(padded), 0.0f);
  std::copy(q.bias_float.begin(), q.bias_float.end(), p.bias_float.begin());
  p.affine_sum = false;
  p.affine_exceptions.clear();
  const AffineSearch search = affine_search.load(std::memory_order_relaxed);
  if (!q.float_sum || q.residual || !p.saturating_narrow || !p.finite_multipliers ||
      search == AffineSearch::kNone)
    return;
  const int64_t per_channel = q.shape.in_channels / q.shape.group * q.shape.geometry.kernel_size();
  const int64_t low = (q.x_type == DType::kInt8 ? -128 : 0) - q.x_zero, high = low + 255;
  std::vector<std::pair<int64_t, int64_t>> ranges(static_cast<size_t>(m));
  std::vector<AffineChannel> channels(static_cast<size_t>(m));
  dispatch_types<uint8_t, int8_t>(ctx, q.y_type, [&](auto tag) {
    using Q = decltype(tag);
    // 3 x 9 pairs: MobileNetV2 QAT's 32 of its 41 float sums without a
    // residual fit so.
    parallel_for(m, m * per_channel > 4096, [&](int64_t c) {
      const auto at = static_cast<size_t>(c);
      int64_t first = q.bias[at], last = q.bias[at];
      for (int64_t k = 0; k < per_channel; ++k) {
        const int64_t wk = w[c * per_channel + k];
        first += std::min(wk * low, wk * high);
        last += std::max(wk * low, wk * high);
      }
      ranges[at] = {first, last};
      if (first > std::numeric_limits<int32_t>::min() &&
          last <= std::numeric_limits<int32_t>::max())
        fit_affine_channel<Q>(p, c, ranges[at], 3, 9, kAffineExceptions, channels[at]);
    });
    if (std::all_of(channels.begin(), channels.end(),
                    [](const AffineChannel& c) { return c.misses <= kAffineExceptions; }) &&
        search == AffineSearch::kSlotFree)
      fit_free_of_slots<Q>(p, ranges, channels);
  });
  int slots = 0;
  for (const AffineChannel& c : channels) {
    if (c.misses > kAffineExceptions) return;
    if (c.misses > 0) slots = kAffineExceptions;
  }
  std::vector<int32_t> exceptions(static_cast<size_t>(2 * slots * padded), 0);
  for (size_t at = 0; at < channels.size(); ++at) {
    const AffineChannel& c = channels[at];
    p.multipliers[at] = c.multiplier;
    p.bias_float[at] = c.offset;
    for (int e = 0; e < slots; ++e) {
      const auto slot = static_cast<size_t>(2 * e * padded) + at;
      exceptions[slot] = e < c.misses ? c.exceptions[static_cast<size_t>(e)].first
                                      : static_cast<int32_t>(ranges[at].first - 1);
      exceptions[slot + static_cast<size_t>(padded)] =
          e < c.misses ? c.exceptions[static_cast<size_t>(e)].second : 0;
    }
  }
  p.affine_sum = true;
  p.affine_exceptions = std::move(exceptions);
}

// How many of a grouped convolution's groups one group layer takes
// (QConvPacked::group_layers): as many as fill a 16-channel block of
// outputs. A layer's vector work is its blocks times its K, so k groups of
// fewer than 16 outputs cost no more in one layer of block-diagonal weights
// (their zeros multiplied) than in k layers of partly empty blocks, while
// every layer's tiles cost their own row copies, set-up and epilogues
// (ResNeXt-50's 4-channel groups at 56x56, batch 1, two threads, AVX2:
// 2.0-2.05 ms in a layer a group, 0.34-0.35 ms in layers of four; its
// 8-channel groups at 28x28: 0.36-0.37 ms, 0.18 ms in layers of two).
int64_t groups_per_layer(const ConvShape& s) {
  const int64_t m = s.out_channels / s.group;
  int64_t most = 1;
  for (int64_t k = 2; k <= s.group && k * m <= kQConvBlock; ++k)
    if (s.group % k == 0) most = k;
  return most;
}

// The group layer of `count` groups from group `first` on: their channels'
// params, as a group-1 convolution's, and its weights ([M][C][kH][kW],
// block-diagonal: each group's outputs read its own inputs) from the layer's
// (w, [M][C / group][kH][kW]).
QConvParams group_layer_params(const QConvParams& q, int64_t first, int64_t count) {
  QConvParams s = q;
  const int64_t m = q.shape.out_channels / q.shape.group;
  s.shape.in_channels = q.shape.in_channels / q.shape.group * count;
  s.shape.out_channels = m * count;
  s.shape.group = 1;
  const auto slice = [&](auto& to, const auto& from) {  // empty, or one value a channel
    if (!from.empty()) to.assign(from.begin() + first * m, from.begin() + (first + count) * m);
  };
  slice(s.w_zero, q.w_zero);
  slice(s.bias, q.bias);
  slice(s.bias_float, q.bias_float);
  slice(s.multipliers, q.multipliers);
  return s;
}
std::vector<int8_t> group_layer_weights(const ConvShape& shape, const int8_t* w, int64_t first,
                                        int64_t count) {
  const int64_t c = shape.in_channels / shape.group, m = shape.out_channels / shape.group;
  const int64_t taps = shape.geometry.kernel_size(), per_output = c * taps;
  std::vector<int8_t> weights(static_cast<size_t>(count * m * count * per_output), 0);
  for (int64_t g = 0; g < count; ++g)
    for (int64_t o = 0; o < m; ++o)
      std::copy_n(w + ((first + g) * m + o) * per_output, per_output,
                  weights.begin() + ((g * m + o) * count + g) * per_output);
  return weights;
}

// A group-1 or depthwise layer's packed state for its params (set): packed
// from w (its weights, [M][C][kH][kW]) or, from a plan, checked; then what
// follows the params.
void prepare_layer(const OpContext& ctx, ActivationDomain domain, QConvPacked& p, const int8_t* w) {
  p.tap_channels = round_up(p.params.shape.in_channels, 4);
  if (!p.packed)
    pack(domain, p, w);
  else
    check_packed_state(ctx, p);
  qconv_narrow_bounds(ctx, p);
  store_epilogue_constants(ctx, p, w);
  if (p.params.depthwise()) {
    if (p.depthwise_quads.empty()) store_depthwise_layouts(p);
    return;
  }
  p.zero_row.assign(static_cast<size_t>(p.tap_channels), static_cast<uint8_t>(p.a_zero));
  // From the weights alone: made once per state, not per input shape.
  if (p.flip && p.domain == ActivationDomain::kUnsigned && p.flip_sums.empty()) store_flip_sums(p);
  // The signed domain's kernel (AVX2) multiplies 16-bit words: a Winograd
  // form's where this shape takes one, else the direct pairs.
  p.winograd = p.domain == ActivationDomain::kSigned ? qconv_winograd_form(p) : WinogradForm::kNone;
  if (p.winograd != WinogradForm::kNone && p.winograd != p.winograd_weights_form)
    store_winograd_weights(p);
  if (p.domain == ActivationDomain::kSigned && p.winograd == WinogradForm::kNone &&
      p.pair_weights.empty()) {
    store_pair_weights(p);
    store_split_constants(p);
  }
}

// Whether the optimized kernels handle the layer.
bool packable(const QConvParams& p) { return p.w_type == DType::kInt8 && all_zero(p.w_zero); }

}  // namespace

AffineSearch set_affine_search(AffineSearch search) { return affine_search.exchange(search); }

std::shared_ptr<QConvPacked> qconv_state(OpContext& ctx, ActivationDomain domain) {
  std::shared_ptr<void> local;
  std::shared_ptr<void>& slot = ctx.state() ? *ctx.state() : local;
  auto state = std::static_pointer_cast<QConvPacked>(slot);
  if (state && state->input_shape == ctx.input(0).shape()) return state;
  // Weights packed for another domain (a plan built for another instruction
  // set) are packed again.
  if (!state || (state->packed && state->domain != domain)) state = std::make_shared<QConvPacked>();
  state->params = read_qconv_params(ctx);
  state->input_shape = ctx.input(0).shape();
  state->zero_pixels.clear();
  const ConvShape& shape = state->params.shape;
  state->x_pitch = shape.in_channels;
  state->y_pitch = shape.out_channels;
  if (!packable(state->params)) {
    state->packed = false;  // a plan's arrays, if any, stay unread
  } else {
    const int8_t* w = ctx.input(3).data<int8_t>();
    if (shape.group == 1 || state->params.depthwise()) {
      ctx.require(state->group_layers.empty(), kForeignPlan);
      prepare_layer(ctx, domain, *state, w);
    } else {
      const int64_t per_layer = groups_per_layer(shape);
      const auto layers = static_cast<size_t>(shape.group / per_layer);
      if (!state->packed) {
        state->packed = true;
        state->domain = domain;
        state->group_layers.assign(layers, QConvPacked{});
      }
      ctx.require(state->group_layers.size() == layers, kForeignPlan);
      for (size_t l = 0; l < layers; ++l) {
        const int64_t first = static_cast<int64_t>(l) * per_layer;
        QConvPacked& layer = state->group_layers[l];
        layer.params = group_layer_params(state->params, first, per_layer);
        layer.x_pitch = shape.in_channels;
        layer.y_pitch = shape.out_channels;
        prepare_layer(ctx, domain, layer, group_layer_weights(shape, w, first, per_layer).data());
      }
    }
  }
  slot = state;
  return state;
}

const uint8_t* qconv_gather_rows(const QConvPacked& p, const uint8_t* x, int64_t first,
                                 int64_t count, int64_t tile_rows, uint8_t* scratch,
                                 int64_t* stride, bool* flip) {
  const QConvParams& q = p.params;
  const SpatialGeometry& g = q.shape.geometry;
  const int64_t c = q.shape.in_channels, tc = p.tap_channels, pitch = p.x_pitch;
  if (g.kernel_size() == 1 && g.stride[1] == 1 && g.stride[2] == 1 && g.pad_begin[1] == 0 &&
      g.pad_begin[2] == 0 && c == tc && count == tile_rows) {
    *stride = pitch;  // output pixel (n, oh, ow) reads input pixel (n, oh, ow)
    *flip = p.flip;
    return x + first * pitch;
  }
  *flip = false;
  *stride = p.k_padded;
  const int64_t plane = q.out_height() * q.out_width();
  // The first pixel's coordinates, then stepped: no divisions per pixel.
  int64_t n = first / plane, oh = first % plane / q.out_width(), ow = first % q.out_width();
  for (int64_t r = 0; r < count; ++r) {
    uint8_t* row = scratch + r * p.k_padded;
    const int64_t ih0 = oh * g.stride[1] - g.pad_begin[1], iw0 = ow * g.stride[2] - g.pad_begin[2];
    const uint8_t* image = x + n * q.height() * q.width() * pitch;
    // Whole kernel rows inside the input with dilation 1 are one contiguous
    // run (where the taps are not padded and the pixels hold no other
    // group's channels). A tap's padding channels keep whatever the scratch
    // holds: their weights are 0.
    const bool run =
        c == tc && c == pitch && g.dilation[2] == 1 && iw0 >= 0 && iw0 + g.kernel[2] <= q.width();
    for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
      const int64_t ih = ih0 + kh * g.dilation[1];
      const bool row_inside = ih >= 0 && ih < q.height();
      if (run && row_inside) {
        copy_channels(row + kh * g.kernel[2] * c, image + (ih * q.width() + iw0) * c,
                      g.kernel[2] * c, p.flip);
        continue;
      }
      for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
        uint8_t* dst = row + (kh * g.kernel[2] + kw) * tc;
        const int64_t iw = iw0 + kw * g.dilation[2];
        if (row_inside && iw >= 0 && iw < q.width())
          copy_channels(dst, image + (ih * q.width() + iw) * pitch, c, p.flip);
        else
          copy_channels(dst, p.zero_row.data(), c, false);
      }
    }
    if (++ow == q.out_width()) {
      ow = 0;
      if (++oh == q.out_height()) oh = 0, ++n;
    }
  }
  std::memset(scratch + count * p.k_padded, 0,
              static_cast<size_t>((tile_rows - count) * p.k_padded));
  return scratch;
}

bool qconv_reads_rows(const QConvPacked& p) {
  const SpatialGeometry& g = p.params.shape.geometry;
  const bool one_by_one = g.kernel_size() == 1 && g.stride[1] == 1 && g.stride[2] == 1 &&
                          g.pad_begin[1] == 0 && g.pad_begin[2] == 0;
  return g.kernel_size() <= TileRows::kMaxSegments && !one_by_one;
}

QConvSource qconv_source(const QConvPacked& p, int64_t tile_rows) {
  const QConvParams& q = p.params;
  const SpatialGeometry& g = q.shape.geometry;
  QConvSource s;
  s.direct = qconv_reads_rows(p);
  // A direct tile stays within an output row, so the last tile of a row
  // narrower than a few tiles computes rows for nothing (a 4-pixel row in
  // 6-row tiles: a third). Gathering instead copies K bytes per pixel against
  // its K * M multiply-adds: worth it once the wasted rows outweigh about 8/M
  // of the work (ResNet-18's 16/8/4-pixel layers at batch 32: 58 -> 48 ms).
  const int64_t w = q.out_width(), spans = (w + tile_rows - 1) / tile_rows * tile_rows;
  if ((spans - w) * q.shape.out_channels > 8 * w) s.direct = false;
  if (!s.direct) return s;
  s.pad_top = g.pad_begin[1];
  s.pad_left = g.pad_begin[2];
  s.height = q.height() + g.pad_begin[1] + g.pad_end[1];
  s.width = q.width() + g.pad_begin[2] + g.pad_end[2];
  s.copied = s.height != q.height() || s.width != q.width() ||
             p.tap_channels != q.shape.in_channels || p.x_pitch != q.shape.in_channels;
  return s;
}

namespace {
enum class RowWindowBuffer { kRows, kHeld };
}  // namespace

QConvRowWindow::QConvRowWindow(const QConvPacked& p, const QConvSource& source, const uint8_t* x)
    : p_(p),
      source_(source),
      x_(x),
      height_(p.params.height()),
      pitch_(p.params.width() * p.x_pitch) {
  if (!source.copied) return;
  const int64_t tc = p.tap_channels, c = p.params.shape.in_channels;
  const Buffers buffers = take_buffers(p, source);
  slots_ = buffers.slots;
  row_bytes_ = buffers.row_bytes;
  rows_ = buffers.rows;
  held_ = buffers.held;
  const auto bytes = static_cast<size_t>((slots_ + 1) * row_bytes_);
  std::fill_n(held_, slots_, int64_t{-1});
  const auto zero = static_cast<uint8_t>(p.a_zero);
  if (tc != c) {  // the padding channels too
    std::memset(rows_, zero, bytes);
    return;
  }
  // Copies write the input's columns only: the padding columns, and the row
  // that padding rows read, are written here once.
  const int64_t left = source.pad_left * tc, right = row_bytes_ - left - p.params.width() * tc;
  for (int64_t slot = 0; slot < slots_; ++slot) {
    std::memset(rows_ + slot * row_bytes_, zero, static_cast<size_t>(left));
    std::memset(rows_ + (slot + 1) * row_bytes_ - right, zero, static_cast<size_t>(right));
  }
  std::memset(rows_ + slots_ * row_bytes_, zero, static_cast<size_t>(row_bytes_));
}

QConvRowWindow::Buffers QConvRowWindow::take_buffers(const QConvPacked& p,
                                                     const QConvSource& source) {
  const SpatialGeometry& g = p.params.shape.geometry;
  // The rows of one output row's taps span (kernel - 1) * dilation + 1 rows,
  // so with at least as many slots, row ih's (ih modulo the slots) never holds
  // one still needed. A power of 2: a mask, not a division, per tile's tap row.
  const auto slots = static_cast<int64_t>(
      std::bit_ceil(static_cast<uint64_t>((g.kernel[1] - 1) * g.dilation[1] + 1)));
  const int64_t row_bytes = source.width * p.tap_channels;
  return {
      slots, row_bytes,
      thread_buffer<uint8_t, RowWindowBuffer::kRows>(static_cast<size_t>((slots + 1) * row_bytes)),
      thread_buffer<int64_t, RowWindowBuffer::kHeld>(static_cast<size_t>(slots))};
}

void QConvRowWindow::ready_buffers(const QConvPacked& p, const QConvSource& source) {
  if (source.copied) take_buffers(p, source);
}

void QConvRowWindow::copy_in(int64_t n, int64_t h, int64_t slot) {
  const QConvParams& q = p_.params;
  const int64_t c = q.shape.in_channels, tc = p_.tap_channels;
  held_[slot] = n * source_.height + h + source_.pad_top;
  uint8_t* dst = rows_ + slot * row_bytes_ + source_.pad_left * tc;
  const uint8_t* src = x_ + (n * height_ + h) * pitch_;
  const int64_t pitch = p_.x_pitch;
  if (tc == c && pitch == c) {
    copy_channels(dst, src, q.width() * c, p_.flip);
  } else if (c == 3 && tc == 4) {  // an RGB stem's pixels: one 4-byte word each
    const uint32_t flip = p_.flip ? 0x808080u : 0, pad = static_cast<uint32_t>(p_.a_zero) << 24;
    for (int64_t iw = 0; iw < q.width(); ++iw) {
      const uint8_t* pixel = src + iw * pitch;
      const uint32_t word = ((pixel[0] | pixel[1] << 8 | pixel[2] << 16) ^ flip) | pad;
      std::memcpy(dst + iw * 4, &word, 4);
    }
  } else {  // pixel by pixel, the padding channels left at a_zero
    for (int64_t iw = 0; iw < q.width(); ++iw)
      copy_channels(dst + iw * tc, src + iw * pitch, c, p_.flip);
  }
}

void qconv_direct_rows(const QConvPacked& p, const QConvSource& source, QConvRowWindow& window,
                       int64_t n, int64_t oh, int64_t ow0, TileRows* rows) {
  const SpatialGeometry& g = p.params.shape.geometry;
  const int64_t tc = p.tap_channels;
  rows->flip = !source.copied && p.flip ? 0x80808080u : 0;
  // Undilated, a kernel row's taps are neighbouring pixels: one segment of
  // all their quads (the weights' K order is the same), which the tiles walk
  // in one loop instead of one per tap (ResNet-20 at batch 32, one thread:
  // 3 % faster; AMX's K chunks 3x longer for 16-channel taps).
  const int64_t taps_per_segment = g.dilation[2] == 1 ? g.kernel[2] : 1;
  rows->quads = taps_per_segment * tc / 4;
  rows->stride = g.stride[2] * tc;
  rows->segments = 0;
  for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
    const uint8_t* row = window.row(n, oh * g.stride[1] + kh * g.dilation[1]);
    for (int64_t kw = 0; kw < g.kernel[2]; kw += taps_per_segment)
      rows->segment[static_cast<size_t>(rows->segments++)] =
          row + (ow0 * g.stride[2] + kw * g.dilation[2]) * tc;
  }
}

}  // namespace qdq
