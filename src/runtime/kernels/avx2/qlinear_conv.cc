// QLinearConv on AVX2, exact.
//
// Why not vpmaddubsw (u8 x s8, the fast path ONNX Runtime uses): it adds two
// u8*s8 products into a saturating int16, and 255*127 + 255*127 > 32767, so it is
// not exact. Here both operands are widened to int16 with their zero points
// already subtracted: |x - x_zero| <= 255 and |w - w_zero| <= 255, so vpmaddwd's
// pair sum is at most 2 * 255 * 255 = 130050, exact in its int32 lanes, and the
// int32 accumulation equals the reference's. The requantization is the shared
// scalar one (kernels/requantize.h), so outputs match the reference bit for bit.
//
// Layout: the input is unfolded (im2col) into int16 pairs [k/2][pixel][2]; the
// weights are packed as int16 pairs [channel block of 4][k/2][4]; a 4x16 micro-
// kernel keeps 8 ymm accumulators (4 channels x 16 pixels).
//
// ISA code is compiled through target attributes rather than per-file -mavx2, so
// that inline functions from shared headers instantiated here are never emitted
// with AVX2 instructions and picked by the linker for CPUs without AVX2.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "runtime/kernels/registry.h"
#include "runtime/kernels/requantize.h"
#include "runtime/reference/quant_params.h"
#include "runtime/reference/spatial.h"
#include "support/parallel.h"

namespace qdq {
namespace {

constexpr int64_t kMr = 4;   // output channels per micro-kernel
constexpr int64_t kNr = 16;  // output pixels per micro-kernel

struct PackedWeights {
  int64_t k_pairs = 0, m_blocks = 0;
  std::vector<int32_t> pairs;  // [m_block][k_pair][kMr], each two int16 (k even, k odd)
  std::vector<int32_t> bias;
  std::vector<float> multipliers;
};

int32_t pack_pair(int32_t lo, int32_t hi) {
  return static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint16_t>(hi)) << 16) |
                              static_cast<uint16_t>(lo));
}

// Per group: weights (w - w_zero) of its channels, k = (c, k0, k1, k2).
template <typename TW>
std::shared_ptr<PackedWeights> pack_weights(const ConvShape& s, const TW* w,
                                            const std::vector<int32_t>& w_zero, int64_t group) {
  auto p = std::make_shared<PackedWeights>();
  const int64_t mg = s.out_channels / s.group;
  const int64_t k = s.in_channels / s.group * s.geometry.kernel_size();
  p->k_pairs = (k + 1) / 2;
  p->m_blocks = (mg + kMr - 1) / kMr;
  p->pairs.assign(static_cast<size_t>(p->m_blocks * p->k_pairs * kMr), 0);
  for (int64_t m = 0; m < mg; ++m) {
    const int64_t channel = group * mg + m;
    for (int64_t kp = 0; kp < p->k_pairs; ++kp) {
      auto at = [&](int64_t kk) {
        return kk < k ? int32_t{w[channel * k + kk]} - w_zero[channel] : 0;
      };
      p->pairs[((m / kMr) * p->k_pairs + kp) * kMr + m % kMr] =
          pack_pair(at(2 * kp), at(2 * kp + 1));
    }
  }
  return p;
}

// cols[kp][p][2] = x - x_zero at tap k of output pixel p (0 in the padding):
// taps 2kp and 2kp+1 are written together as one int32 per pixel.
template <typename TX>
void unfold(const ConvShape& s, const TX* x, int32_t x_zero, int64_t k_pairs, int64_t pixels_padded,
            int16_t* cols) {
  const SpatialGeometry& g = s.geometry;
  const int64_t k = s.in_channels / s.group * g.kernel_size();
  const int64_t stride = g.stride[2];
  // Where tap kk reads for output row (o0, o1): the input row, the offset of
  // output column 0 in it, and the output columns [lo, hi) that land inside.
  struct TapRow {
    const TX* src = nullptr;
    int64_t offset = 0, lo = 0, hi = 0;
  };
  auto tap_row = [&](int64_t kk, int64_t o0, int64_t o1) {
    TapRow t;
    if (kk >= k) return t;  // padding tap of an odd K: all zeros
    const int64_t c = kk / g.kernel_size(), tap = kk % g.kernel_size();
    const int64_t k0 = tap / (g.kernel[1] * g.kernel[2]), k1 = (tap / g.kernel[2]) % g.kernel[1];
    const int64_t k2 = tap % g.kernel[2];
    const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
    const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
    if (i0 < 0 || i0 >= g.in[0] || i1 < 0 || i1 >= g.in[1]) return t;
    t.src = x + c * g.in_size() + (i0 * g.in[1] + i1) * g.in[2];
    t.offset = k2 * g.dilation[2] - g.pad_begin[2];
    t.lo = std::min(g.out[2], t.offset >= 0 ? 0 : (-t.offset + stride - 1) / stride);
    t.hi = std::max(
        t.lo,
        std::min(g.out[2], g.in[2] - t.offset <= 0 ? 0 : (g.in[2] - 1 - t.offset) / stride + 1));
    return t;
  };
  auto value = [&](const TapRow& t, int64_t o2) -> int32_t {
    return t.src && o2 >= t.lo && o2 < t.hi ? int32_t{t.src[o2 * stride + t.offset]} - x_zero : 0;
  };
  parallel_for(k_pairs, true, [&](int64_t kp) {
    int32_t* row = reinterpret_cast<int32_t*>(cols + kp * pixels_padded * 2);
    int64_t p = 0;
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1, p += g.out[2]) {
        const TapRow a = tap_row(2 * kp, o0, o1), b = tap_row(2 * kp + 1, o0, o1);
        int32_t* dst = row + p;
        // Columns where both taps read inside the input: a plain, vectorizable loop.
        const int64_t lo = a.src && b.src ? std::max(a.lo, b.lo) : 0;
        const int64_t hi = a.src && b.src ? std::max(lo, std::min(a.hi, b.hi)) : 0;
        for (int64_t o2 = 0; o2 < lo; ++o2) dst[o2] = pack_pair(value(a, o2), value(b, o2));
        for (int64_t o2 = lo; o2 < hi; ++o2)
          dst[o2] = pack_pair(int32_t{a.src[o2 * stride + a.offset]} - x_zero,
                              int32_t{b.src[o2 * stride + b.offset]} - x_zero);
        for (int64_t o2 = hi; o2 < g.out[2]; ++o2) dst[o2] = pack_pair(value(a, o2), value(b, o2));
      }
    for (; p < pixels_padded; ++p) row[p] = 0;
  });
}

// acc[r][0..15] = sum over k pairs of weights(r) . cols(pixels p0..p0+15).
__attribute__((target("avx2"))) void micro_kernel_4x16(const int32_t* w, const int16_t* cols,
                                                       int64_t k_pairs, int64_t pixels_padded,
                                                       int32_t* acc /* [4][16] */) {
  __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00,
          c30 = c00, c31 = c00;
  for (int64_t kp = 0; kp < k_pairs; ++kp) {
    const int16_t* b = cols + kp * pixels_padded * 2;
    const __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b));
    const __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
    const int32_t* wk = w + kp * kMr;
    __m256i a = _mm256_set1_epi32(wk[0]);
    c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(b0, a));
    c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(b1, a));
    a = _mm256_set1_epi32(wk[1]);
    c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(b0, a));
    c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(b1, a));
    a = _mm256_set1_epi32(wk[2]);
    c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(b0, a));
    c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(b1, a));
    a = _mm256_set1_epi32(wk[3]);
    c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(b0, a));
    c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(b1, a));
  }
  // (A lambda would not inherit the target attribute.)
  __m256i* out = reinterpret_cast<__m256i*>(acc);
  _mm256_storeu_si256(out + 0, c00);
  _mm256_storeu_si256(out + 1, c01);
  _mm256_storeu_si256(out + 2, c10);
  _mm256_storeu_si256(out + 3, c11);
  _mm256_storeu_si256(out + 4, c20);
  _mm256_storeu_si256(out + 5, c21);
  _mm256_storeu_si256(out + 6, c30);
  _mm256_storeu_si256(out + 7, c31);
}

// out[i] = requantize(acc[i] + bias) for 16 accumulators: the scalar
// requantize's exact float steps, 8 lanes at a time (cvtdq2ps = static_cast,
// mulps, roundps to nearest even = round_half_even, clamp, cvtps2dq on values
// already integral). Clamping before the final conversion equals clamping after
// rounding because the bounds are integers.
template <typename TY>
__attribute__((target("avx2"))) void requantize_16(const int32_t* acc, int32_t bias,
                                                   float multiplier, int32_t zero_point, TY* out) {
  const __m256 lo = _mm256_set1_ps(quant_min<TY>()), hi = _mm256_set1_ps(quant_max<TY>());
  const __m256 zero = _mm256_set1_ps(static_cast<float>(zero_point)),
               mult = _mm256_set1_ps(multiplier);
  const __m256i b = _mm256_set1_epi32(bias);
  alignas(32) int32_t q[16];
  for (int half = 0; half < 2; ++half) {
    const __m256i a =
        _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + 8 * half)), b);
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(a), mult);
    v = _mm256_add_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zero);
    v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
    _mm256_store_si256(reinterpret_cast<__m256i*>(q + 8 * half), _mm256_cvtps_epi32(v));
  }
  for (int i = 0; i < 16; ++i) out[i] = static_cast<TY>(q[i]);
}

struct ConvState {
  std::vector<std::shared_ptr<PackedWeights>> groups;
  std::vector<int16_t> cols;  // the unfolded input, reused across runs (runs are sequential)
};

template <typename TY>
void run_group(const ConvShape& s, const PackedWeights& pw, const int16_t* cols, int64_t pixels,
               int64_t pixels_padded, int64_t first_channel, int32_t y_zero,
               TY* out /* image's output */) {
  const int64_t mg = s.out_channels / s.group;
  const int64_t pixel_blocks = pixels_padded / kNr;
  parallel_for(pw.m_blocks * pixel_blocks, true, [&](int64_t item) {
    const int64_t mb = item / pixel_blocks, pb = item % pixel_blocks;
    alignas(32) int32_t acc[kMr * kNr];
    micro_kernel_4x16(pw.pairs.data() + mb * pw.k_pairs * kMr, cols + pb * kNr * 2, pw.k_pairs,
                      pixels_padded, acc);
    for (int64_t r = 0; r < kMr; ++r) {
      const int64_t m = mb * kMr + r;
      if (m >= mg) break;
      const int64_t channel = first_channel + m;
      TY* row = out + channel * pixels;
      if ((pb + 1) * kNr <= pixels) {
        requantize_16(acc + r * kNr, pw.bias[channel], pw.multipliers[channel], y_zero,
                      row + pb * kNr);
        continue;
      }
      for (int64_t i = 0; i < kNr && pb * kNr + i < pixels; ++i)
        row[pb * kNr + i] =
            requantize<TY>(acc[r * kNr + i] + pw.bias[channel], pw.multipliers[channel], y_zero);
    }
  });
}

}  // namespace

void qlinear_conv_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(3);
  const ConvShape s = conv_shape(ctx, x, w);
  const float x_scale = read_scale(ctx, ctx.input(1), "x_scale");
  const int32_t x_zero = read_zero_point(ctx, &ctx.input(2), "x_zero_point");
  const Tensor& y_zero_t = ctx.input(7);
  const int32_t y_zero = read_zero_point(ctx, &y_zero_t, "y_zero_point");

  // Weights, bias and multipliers are constants of the plan: packed on the first
  // run, kept in the node's state.
  std::shared_ptr<void> local;
  std::shared_ptr<void>& slot = ctx.state() ? *ctx.state() : local;
  if (!slot) {
    auto state = std::make_shared<ConvState>();
    const auto w_scale = read_scales(ctx, ctx.input(4), s.out_channels, "w_scale");
    const auto w_zero = read_zero_points(ctx, &ctx.input(5), s.out_channels, "w_zero_point");
    const float y_scale = read_scale(ctx, ctx.input(6), "y_scale");
    std::vector<int32_t> bias(static_cast<size_t>(s.out_channels), 0);
    if (const Tensor* b = ctx.optional_input(8)) {
      ctx.require(b->dtype() == DType::kInt32 && b->numel() == s.out_channels,
                  "bias must be int32, one per channel");
      std::copy_n(b->data<int32_t>(), s.out_channels, bias.begin());
    }
    for (int64_t grp = 0; grp < s.group; ++grp) {
      std::shared_ptr<PackedWeights> p;
      dispatch_types<uint8_t, int8_t>(ctx, w.dtype(), [&](auto tag) {
        p = pack_weights(s, w.data<decltype(tag)>(), w_zero, grp);
      });
      p->bias = bias;
      for (int64_t m = 0; m < s.out_channels; ++m)
        p->multipliers.push_back(requantize_multiplier(x_scale, w_scale[m], y_scale));
      state->groups.push_back(std::move(p));
    }
    slot = state;
  }
  ConvState& state = *static_cast<ConvState*>(slot.get());

  const int64_t pixels = s.geometry.out_size();
  const int64_t pixels_padded = (pixels + kNr - 1) / kNr * kNr;
  const int64_t k_pairs = state.groups[0]->k_pairs;
  std::vector<int16_t>& cols = state.cols;
  cols.resize(static_cast<size_t>(k_pairs * pixels_padded * 2));
  Tensor y(y_zero_t.dtype(), s.output_shape);
  const int64_t cg = s.in_channels / s.group, mg = s.out_channels / s.group;
  for (int64_t n = 0; n < s.batch; ++n)
    for (int64_t grp = 0; grp < s.group; ++grp) {
      dispatch_types<uint8_t, int8_t>(ctx, x.dtype(), [&](auto tag) {
        using TX = decltype(tag);
        unfold(s, x.data<TX>() + (n * s.in_channels + grp * cg) * s.geometry.in_size(), x_zero,
               k_pairs, pixels_padded, cols.data());
      });
      dispatch_types<uint8_t, int8_t>(ctx, y.dtype(), [&](auto tag) {
        using TY = decltype(tag);
        run_group(s, *state.groups[grp], cols.data(), pixels, pixels_padded, grp * mg, y_zero,
                  y.data<TY>() + n * s.out_channels * pixels);
      });
    }
  ctx.output(0) = std::move(y);
}

}  // namespace qdq
