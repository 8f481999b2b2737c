// ai.qdq.QConv with AVX2, exact at nearly the vpmaddubsw rate.
//
// vpmaddubsw (uint8 x int8, pairs summed into a saturating int16) is the fast
// int8 instruction here, and the reason ONNX Runtime's AVX2 models lose
// accuracy: 255*127 + 255*127 overflows int16. The sign trick moves the
// activation's sign onto the weight instead: activations are int8 (qconv_pack
// flips uint8 ones by 128), |a| goes in as the unsigned operand (vpabsb; 128
// for -128) and sign(a) * w as the signed one (vpsignb), so every pair sum is
// at most 2 * 128 * 127 = 32512 and nothing saturates. vpsignb cannot negate
// -128, so layers with a weight of -128 run the reference kernel (symmetric
// quantizers use [-127, 127]; ONNX Runtime's and pytorch-quantization's do).
//
// Depthwise layers widen to int32 lanes and use vpmaddwd with a zero high half
// (one product per lane), exact for any weight. The epilogue is the reference's
// float steps lane for lane (see avx512vnni/qconv_ops.h); partial blocks of fewer
// than 16 channels take the scalar qconv_epilogue itself.
//
// The operations (qconv_driver.h's `Ops`) live in this header so that the
// AVX-VNNI kernel (avxvnni/qconv.cc) takes the epilogue and the depthwise
// kernel from here; every function carries its target attribute itself.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/avx2/narrow.h"
#include "runtime/kernels/qconv_driver.h"

#define QDQ_AVX2_TARGET __attribute__((target("avx2")))

namespace qdq {
namespace avx2 {

constexpr int kRows = 4;

// Flip: the rows come from an input of the other signedness, flipped as loaded
// (a separate instantiation: the XOR would slow every other tile down).
template <bool Flip>
QDQ_AVX2_TARGET void tile_4x16(const TileRows& a, const int8_t* w, int32_t* acc) {
  __m256i c[kRows][2];
  for (int r = 0; r < kRows; ++r) c[r][0] = c[r][1] = _mm256_setzero_si256();
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80808080u));
  for (int s = 0; s < a.segments; ++s) {
    const uint8_t* base = a.segment[static_cast<size_t>(s)];
    for (int64_t q = 0; q < a.quads; ++q, w += 64) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
      const uint8_t* row = base + 4 * q;
#pragma GCC unroll 4
      for (int r = 0; r < kRows; ++r, row += a.stride) {
        __m256i av = _mm256_set1_epi32(tile_quad(row));
        if constexpr (Flip) av = _mm256_xor_si256(av, flip);
        const __m256i magnitude = _mm256_abs_epi8(av);
        c[r][0] = _mm256_add_epi32(
            c[r][0],
            _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w0, av)), ones));
        c[r][1] = _mm256_add_epi32(
            c[r][1],
            _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, _mm256_sign_epi8(w1, av)), ones));
      }
    }
  }
  for (int r = 0; r < kRows; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * 16), c[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * 16 + 8), c[r][1]);
  }
}

// Eight residual values in float: a float residual's own, an 8-bit one's
// dequantized (the reference's dequantize_value, lane for lane).
template <typename R>
QDQ_AVX2_TARGET __m256 residual8(const QConvParams& q, const R* r) {
  if constexpr (std::is_same_v<R, float>) {
    return _mm256_loadu_ps(r);
  } else {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(r));
    const __m256i v =
        std::is_same_v<R, int8_t> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    return _mm256_mul_ps(
        _mm256_cvtepi32_ps(_mm256_sub_epi32(v, _mm256_set1_epi32(q.residual->zero))),
        _mm256_set1_ps(q.residual->scale));
  }
}

// Eight lanes of qconv_float_value from channel `channel` on, its float steps
// lane for lane. vmaxps(a, b) is `a > b ? a : b` and vminps(a, b) `a < b ? a :
// b`, NaN and signed zeros included, so ConvActivation's ternaries are Relu's
// max(v, lo), Clip's max(lo, v), and min(hi, v).
template <typename R>
QDQ_AVX2_TARGET __m256 float_value8(const QConvPacked& p, int64_t channel, const int32_t* acc8,
                                    const R* r) {
  const QConvParams& q = p.params;
  const __m256i sum = _mm256_add_epi32(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc8)),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.bias.data() + channel)));
  __m256 v = _mm256_add_ps(
      _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(p.multipliers.data() + channel)),
      _mm256_loadu_ps(p.bias_float.data() + channel));
  if (r) v = _mm256_add_ps(v, residual8(q, r));
  if (!q.activation.bounded()) return v;
  const __m256 lo = _mm256_set1_ps(q.activation.lo);
  v = q.activation.relu ? _mm256_max_ps(v, lo) : _mm256_max_ps(lo, v);
  return _mm256_min_ps(_mm256_set1_ps(q.activation.hi), v);
}

// QuantizeLinear of eight lanes by the float sum's y_scale. A NaN becomes 0
// before the clamp, as in round_and_saturate. Clamping at the integer bounds
// less the zero point, then converting (round to nearest even) and adding the
// zero point as an integer, equals the reference's round-add-clamp: rounding
// is monotone and the bounds are integers.
inline QDQ_AVX2_TARGET __m256i quantize8(const QConvParams& q, __m256 v) {
  v = _mm256_div_ps(v, _mm256_set1_ps(q.y_scale));
  v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
  const __m256i t = _mm256_cvtps_epi32(
      _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(static_cast<float>(q.conv_min - q.y_zero))),
                    _mm256_set1_ps(static_cast<float>(q.conv_max - q.y_zero))));
  return _mm256_add_epi32(t, _mm256_set1_epi32(q.y_zero));
}

// Eight lanes of the integer qconv_epilogue from channel `channel` on (finite
// multipliers); `r` holds the residual's eight values dequantized
// (residual8). Clamps as quantize8.
inline QDQ_AVX2_TARGET __m256i epilogue8(const QConvPacked& p, int64_t channel, const int32_t* acc8,
                                         __m256 r) {
  const QConvParams& q = p.params;
  const __m256i sum = _mm256_add_epi32(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc8)),
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p.bias.data() + channel)));
  const __m256 v =
      _mm256_mul_ps(_mm256_cvtepi32_ps(sum), _mm256_loadu_ps(p.multipliers.data() + channel));
  // t - y_zero: the conv's requantized, clamped output less its zero point.
  const __m256i t = _mm256_cvtps_epi32(
      _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(static_cast<float>(q.conv_min - q.y_zero))),
                    _mm256_set1_ps(static_cast<float>(q.conv_max - q.y_zero))));
  if (!q.residual) return _mm256_add_epi32(t, _mm256_set1_epi32(q.y_zero));
  // QLinearAdd: (float(t - t_zero) * t_scale + float(r - r_zero) * r_scale) / sum_scale
  const QConvParams::Residual& res = *q.residual;
  const __m256 s = _mm256_div_ps(
      _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(t), _mm256_set1_ps(res.conv_scale)), r),
      _mm256_set1_ps(res.sum_scale));
  return _mm256_add_epi32(
      _mm256_cvtps_epi32(_mm256_min_ps(
          _mm256_max_ps(s, _mm256_set1_ps(static_cast<float>(res.out_min - res.sum_zero))),
          _mm256_set1_ps(static_cast<float>(res.out_max - res.sum_zero)))),
      _mm256_set1_epi32(res.sum_zero));
}

struct Avx2Ops {
  static constexpr ActivationDomain kDomain = ActivationDomain::kSigned;
  static constexpr TileShape kTileShapes[] = {{kRows, 1}};
  static bool accepts(const QConvPacked& p) { return p.params.depthwise() || !p.has_minus_128; }

  static void gemm_tile(const QConvPacked& p, int, int, int64_t block, const TileRows& a,
                        int32_t* acc) {
    // One block per panel: the weights run contiguously.
    const int8_t* w = qconv_block_weights(p, block);
    a.flip ? tile_4x16<true>(a, w, acc) : tile_4x16<false>(a, w, acc);
  }

  template <typename Q, typename R>
  QDQ_AVX2_TARGET static void epilogue(const QConvPacked& p, const EpilogueTile<Q, R>& tile) {
    for (int b = 0; b < tile.blocks; ++b) {
      const int64_t offset = b * kQConvBlock;
      const int64_t count = std::min<int64_t>(kQConvBlock, tile.channels - offset);
      if (count <= 0) break;
      for (int r = 0; r < tile.rows; ++r) {
        const int64_t at = r * tile.pitch + offset;
        store16<Q, R>(p, tile.channel + offset, static_cast<int>(count),
                      tile.acc + (r * tile.blocks + b) * kQConvBlock,
                      tile.residual ? tile.residual + at : nullptr, tile.out + at);
      }
    }
  }

  // Up to 16 channels of one pixel (partial blocks: the scalar epilogue).
  template <typename Q, typename R>
  QDQ_AVX2_TARGET static void store16(const QConvPacked& p, int64_t channel, int count,
                                      const int32_t* acc16, const R* residual, Q* out) {
    const QConvParams& q = p.params;
    const R* residual_high = residual ? residual + 8 : nullptr;
    // A float output takes any multiplier: its steps are IEEE's either way.
    if (count < 16 || (!std::is_same_v<Q, float> && !p.finite_multipliers))
      return scalar_epilogue(p, channel, count, acc16, residual, out);
    if constexpr (std::is_same_v<Q, float>) {
      _mm256_storeu_ps(out, float_value8(p, channel, acc16, residual));
      _mm256_storeu_ps(out + 8, float_value8(p, channel + 8, acc16 + 8, residual_high));
    } else if (q.float_sum) {
      store_narrowed16(out, quantize8(q, float_value8(p, channel, acc16, residual)),
                       quantize8(q, float_value8(p, channel + 8, acc16 + 8, residual_high)));
    } else if constexpr (std::is_same_v<Q, R>) {  // an integer residual has the output's type
      const __m256 none = _mm256_setzero_ps();
      store_narrowed16(
          out, epilogue8(p, channel, acc16, residual ? residual8(q, residual) : none),
          epilogue8(p, channel + 8, acc16 + 8, residual ? residual8(q, residual_high) : none));
    }
  }

  // Eight channels at a time; x sign- or zero-extended to 32 bits, the weight
  // in the low half of its lane with a zero high half: vpmaddwd gives exactly
  // x * w per lane. Only the tensor's last pixel could read past its end, so
  // a last partial group of channels is copied out first.
  template <typename TX>
  QDQ_AVX2_TARGET static void depthwise(const QConvPacked& p, const TX* const* taps, int64_t step,
                                        int64_t pixels, int32_t* acc) {
    const int64_t channels = p.params.shape.out_channels, padded = p.blocks * kQConvBlock;
    const int64_t taps_count = p.params.shape.geometry.kernel_size();
    for (int64_t i = 0; i < pixels; ++i)
      for (int64_t channel = 0; channel < channels; channel += 8) {
        const int64_t count = std::min<int64_t>(8, channels - channel);
        const int32_t* w = p.depthwise_weights.data() + channel;
        __m256i sum = _mm256_setzero_si256();
        for (int64_t t = 0; t < taps_count; ++t) {
          alignas(8) TX part[8] = {};
          const TX* src = taps[t] + i * step + channel;
          if (count < 8) {
            std::memcpy(part, src, static_cast<size_t>(count));
            src = part;
          }
          const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(src));
          const __m256i xv = std::is_same_v<TX, int8_t> ? _mm256_cvtepi8_epi32(bytes)
                                                        : _mm256_cvtepu8_epi32(bytes);
          sum = _mm256_add_epi32(
              sum, _mm256_madd_epi16(
                       xv, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + t * padded))));
        }
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + i * padded + channel), sum);
      }
  }
};

}  // namespace avx2
}  // namespace qdq
