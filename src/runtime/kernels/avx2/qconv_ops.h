// ai.qdq.QConv with AVX2, exact.
//
// vpmaddubsw (uint8 x int8, pairs summed into a saturating int16) is the
// fast int8 instruction here, and the reason ONNX Runtime's AVX2 models lose
// accuracy: 255*127 + 255*127 overflows int16. The GEMM tiles multiply
// 16-bit words instead: each tile's rows are widened once (widen_rows, the
// flip applied, sign-extended: the activations are int8, qconv_pack flips
// uint8 ones by 128), and vpmaddwd adds a K pair's two products exactly into
// an int32 lane, any weight included. That is as many multiply-pipe
// operations per multiply-add as vpmaddubsw's own path (vpmaddubsw, then
// vpmaddwd by ones to widen), where the sign trick this kernel ran before
// (|a| as the unsigned operand, sign(a) * w as the signed one) added a
// vpsignb and half a vpabsb, which on AMD Zen share the multiplies' two
// pipes: its ceiling was 58 % of vpmaddubsw's, the 16-bit loop's is 81 %
// (bench/peak, BENCHMARKS.md session 22).
//
// Depthwise layers widen to 16-bit words too and use vpmaddwd over pairs of
// taps. The epilogue is the reference's float steps lane for lane (see
// avx512vnni/qconv_ops.h), or a float sum's affine form where it has one
// (qconv_pack.h); channels past a block's first 8 of fewer than 16 take the
// scalar qconv_epilogue itself.
//
// The operations (qconv_driver.h's `Ops`) live in this header so that the
// AVX-VNNI kernel (avxvnni/qconv.cc) takes the epilogue and the depthwise
// kernel from here; every function carries its target attribute itself.
#pragma once

#include <immintrin.h>

#include <cstring>

#include "runtime/kernels/avx2/narrow.h"
#include "runtime/kernels/qconv_driver.h"

// FMA too: the AVX2 level asks for it (cpu_features.cc), the affine form uses it.
#define QDQ_AVX2_TARGET __attribute__((target("avx2,fma")))

namespace qdq {
namespace avx2 {

// One tile row's sums of 16 channels.
struct RowSums {
  __m256i low, high;  // channels 0-7, 8-15
};

// The K pair of 16-bit words at `at`, broadcast, times the pair's weights of
// the 16 channels, added to one row's sums.
inline QDQ_AVX2_TARGET void accumulate_pair(RowSums& sums, const uint8_t* at, __m256i w_low,
                                            __m256i w_high) {
  const __m256i pair = _mm256_set1_epi32(tile_quad(at));
  sums.low = _mm256_add_epi32(sums.low, _mm256_madd_epi16(pair, w_low));
  sums.high = _mm256_add_epi32(sums.high, _mm256_madd_epi16(pair, w_high));
}

inline QDQ_AVX2_TARGET void store_row(int32_t* acc, const RowSums& sums) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc), sums.low);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + 8), sums.high);
}

// Six widened rows (Avx2Ops::widen_rows: one segment of K pairs) by one
// block of pair weights: twelve sums, two weight vectors and a broadcast in
// the 16 ymm registers. Six rows, not four where four divide an output row:
// a tile streams its block's weights (twice the bytes of int8 ones) from L2,
// once per six rows (ResNet-18, batch 8, one thread: 6-row tiles with a
// 32-pixel row's last two gathered 0.78-1.02x the time of 4-row tiles). The
// sums are named, not an array: GCC 12 kept a 6 x 2 array of them on the
// stack (57 GMAC/s a core against 94 named).
inline QDQ_AVX2_TARGET void tile_words(const TileRows& a, const int16_t* w, int32_t* acc) {
  const __m256i zero = _mm256_setzero_si256();
  RowSums s0{zero, zero}, s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0;
  const int64_t stride = a.stride;
  const uint8_t* const end = a.segment[0] + 4 * a.quads;
  for (const uint8_t* at = a.segment[0]; at < end; at += 4, w += 2 * kQConvBlock) {
    const __m256i w_low = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
    const __m256i w_high = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 16));
    accumulate_pair(s0, at, w_low, w_high);
    accumulate_pair(s1, at + stride, w_low, w_high);
    accumulate_pair(s2, at + 2 * stride, w_low, w_high);
    accumulate_pair(s3, at + 3 * stride, w_low, w_high);
    accumulate_pair(s4, at + 4 * stride, w_low, w_high);
    accumulate_pair(s5, at + 5 * stride, w_low, w_high);
  }
  store_row(acc, s0);
  store_row(acc + kQConvBlock, s1);
  store_row(acc + 2 * kQConvBlock, s2);
  store_row(acc + 3 * kQConvBlock, s3);
  store_row(acc + 4 * kQConvBlock, s4);
  store_row(acc + 5 * kQConvBlock, s5);
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

// Eight int32 values from `at`.
inline QDQ_AVX2_TARGET __m256i load8(const int32_t* at) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(at));
}

// Eight lanes of a float sum in the affine form (QConvPacked::affine_sum)
// from channel `channel` on, clamped as quantize8 (to the narrow bounds: the
// activation's included).
inline QDQ_AVX2_TARGET __m256i affine8(const QConvPacked& p, int64_t channel, const int32_t* acc8) {
  const int64_t padded = p.blocks * kQConvBlock;
  const __m256i sum = _mm256_add_epi32(load8(acc8), load8(p.bias.data() + channel));
  __m256i t = _mm256_cvtps_epi32(_mm256_fmadd_ps(_mm256_cvtepi32_ps(sum),
                                                 _mm256_loadu_ps(p.multipliers.data() + channel),
                                                 _mm256_loadu_ps(p.bias_float.data() + channel)));
  const int slots = p.affine_corrected() ? kAffineExceptions : 0;
  for (int e = 0; e < slots; ++e) {
    const int32_t* at = p.affine_exceptions.data() + 2 * e * padded + channel;
    t = _mm256_add_epi32(t,
                         _mm256_and_si256(_mm256_cmpeq_epi32(sum, load8(at)), load8(at + padded)));
  }
  const __m256i zero = _mm256_set1_epi32(p.params.y_zero);
  t = _mm256_min_epi32(_mm256_max_epi32(t, _mm256_set1_epi32(p.narrow_min - p.params.y_zero)),
                       _mm256_set1_epi32(p.narrow_max - p.params.y_zero));
  return _mm256_add_epi32(t, zero);
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

// The epilogue and the depthwise kernel, which the AVX-VNNI kernel shares
// (its GEMM multiplies bytes: it takes nothing of the words below).
struct Avx2EpilogueOps {
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

  // Up to 16 channels of one pixel: 16 or 8 at a time in vectors, fewer than
  // 8 (a block's last) by the scalar epilogue. (24-channel layers ran their
  // second block's 8 channels scalar: MobileNetV2's 24-channel projections
  // 25-36 % faster at this level with the 8-channel path.) Whole blocks keep
  // their own two-half path: through lanes8, even always inlined, they were
  // 1-5 % slower (MobileNetV2 at QDQ_ISA=avx2, batch 8, one thread).
  template <typename Q, typename R>
  QDQ_AVX2_TARGET static void store16(const QConvPacked& p, int64_t channel, int count,
                                      const int32_t* acc16, const R* residual, Q* out) {
    const QConvParams& q = p.params;
    const R* residual_high = residual ? residual + 8 : nullptr;
    // A float output takes any multiplier: its steps are IEEE's either way.
    if (count < 8 || (!std::is_same_v<Q, float> && !p.finite_multipliers))
      return scalar_epilogue(p, channel, count, acc16, residual, out);
    if (count < 16) {
      if constexpr (std::is_same_v<Q, float>)
        _mm256_storeu_ps(out, lanes8<Q>(p, channel, acc16, residual));
      else
        store_narrowed8(out, lanes8<Q>(p, channel, acc16, residual));
      return scalar_epilogue(p, channel + 8, count - 8, acc16 + 8, residual_high, out + 8);
    }
    if constexpr (std::is_same_v<Q, float>) {
      _mm256_storeu_ps(out, float_value8(p, channel, acc16, residual));
      _mm256_storeu_ps(out + 8, float_value8(p, channel + 8, acc16 + 8, residual_high));
    } else if (p.affine_sum) {
      store_narrowed16(out, affine8(p, channel, acc16), affine8(p, channel + 8, acc16 + 8));
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

  // Eight channels' results (a partial block's first eight): the float values
  // for a float output, else int32 lanes within Q's range.
  template <typename Q, typename R>
  QDQ_AVX2_TARGET static auto lanes8(const QConvPacked& p, int64_t channel, const int32_t* acc8,
                                     const R* residual) {
    const QConvParams& q = p.params;
    if constexpr (std::is_same_v<Q, float>) {
      return float_value8(p, channel, acc8, residual);
    } else {
      if (p.affine_sum) return affine8(p, channel, acc8);
      if (q.float_sum) return quantize8(q, float_value8(p, channel, acc8, residual));
      if constexpr (std::is_same_v<Q, R>)  // an integer residual has the output's type
        return epilogue8(p, channel, acc8, residual ? residual8(q, residual) : _mm256_setzero_ps());
      return _mm256_setzero_si256();  // read_qconv_params admits no other
    }
  }

  // Sixteen channels and two taps at a time: each tap's channels sign- or
  // zero-extended to 16 bits, the two taps' words interleaved in-lane
  // (unpacklo/hi_epi16) and multiplied by the weights packed in that order
  // (depthwise_pairs): vpmaddwd adds x0 * w0 + x1 * w1 exactly into a lane
  // (|x| <= 255, |w| <= 128). Where one product per lane took a vpmaddwd,
  // this takes one for two (MobileNetV2's depthwise layers at this level
  // 1.7-1.8x faster, the model 10-18 %). The sums come out as channels
  // {0-3, 8-11} and {4-7, 12-15}, put back in order as stored. A tap's last partial block
  // is read from a copy: 16 bytes from it could pass the tensor's end.
  template <typename TX>
  QDQ_AVX2_TARGET static void depthwise(const QConvPacked& p, const TX* const* taps, int64_t step,
                                        int64_t pixels, int32_t* acc) {
    const int64_t channels = p.params.shape.out_channels, padded = p.blocks * kQConvBlock;
    const int64_t tap_count = p.params.shape.geometry.kernel_size();
    const auto* weights = reinterpret_cast<const __m256i*>(p.depthwise_pairs.data());
    for (int64_t i = 0; i < pixels; ++i)
      for (int64_t block = 0; block < p.blocks; ++block) {
        const int64_t channel = block * kQConvBlock;
        const int64_t count = std::min<int64_t>(kQConvBlock, channels - channel);
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        for (int64_t t = 0; t < tap_count; t += 2) {
          const __m256i x0 = depthwise_words(taps[t] + i * step + channel, count);
          const __m256i x1 = t + 1 < tap_count
                                 ? depthwise_words(taps[t + 1] + i * step + channel, count)
                                 : _mm256_setzero_si256();
          const __m256i* w = weights + (t / 2 * p.blocks + block) * 2;
          lo = _mm256_add_epi32(
              lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(x0, x1), _mm256_loadu_si256(w)));
          hi = _mm256_add_epi32(
              hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(x0, x1), _mm256_loadu_si256(w + 1)));
        }
        int32_t* out = acc + i * padded + channel;
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                            _mm256_permute2x128_si256(lo, hi, 0x20));
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 8),
                            _mm256_permute2x128_si256(lo, hi, 0x31));
      }
  }

  // Sixteen channels from `at` (`count` of them; the rest zero) as 16-bit words.
  template <typename TX>
  QDQ_AVX2_TARGET static __m256i depthwise_words(const TX* at, int64_t count) {
    __m128i bytes;
    if (count == kQConvBlock) {
      bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    } else {
      alignas(16) TX part[kQConvBlock] = {};
      std::memcpy(part, at, static_cast<size_t>(count));
      bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(part));
    }
    return std::is_same_v<TX, int8_t> ? _mm256_cvtepi8_epi16(bytes) : _mm256_cvtepu8_epi16(bytes);
  }
};

// The AVX2 kernel: the shared parts and its GEMM on 16-bit words.
struct Avx2Ops : Avx2EpilogueOps {
  static constexpr ActivationDomain kDomain = ActivationDomain::kSigned;
  // One block per panel: a block's pair weights run contiguously.
  static constexpr TileShape kTileShapes[] = {{6, 1}};
  static bool accepts(const QConvPacked&) { return true; }  // every weight, -128 included

  // The tile's rows as 16-bit words, [rows][k_padded]: each segment's bytes
  // XORed with the flip and sign-extended, in K order.
  QDQ_AVX2_TARGET static void widen_rows(const QConvPacked& p, int rows, TileRows& a,
                                         int16_t* words) {
    const __m128i flip = _mm_set1_epi32(static_cast<int>(a.flip));
    const int64_t bytes = 4 * a.quads;  // a segment's, in each row
    for (int r = 0; r < rows; ++r) {
      int16_t* out = words + r * p.k_padded;
      for (int s = 0; s < a.segments; ++s) {
        const uint8_t* in = a.segment[static_cast<size_t>(s)] + r * a.stride;
        int64_t i = 0;
        for (; i + 16 <= bytes; i += 16, out += 16) {
          const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i));
          _mm256_storeu_si256(reinterpret_cast<__m256i*>(out),
                              _mm256_cvtepi8_epi16(_mm_xor_si128(v, flip)));
        }
        for (; i < bytes; i += 4, out += 4) {  // a tap's last quads: no read past the row
          const __m128i v = _mm_cvtsi32_si128(tile_quad(in + i));
          _mm_storel_epi64(reinterpret_cast<__m128i*>(out),
                           _mm_cvtepi8_epi16(_mm_xor_si128(v, flip)));
        }
      }
    }
    a.segments = 1;
    a.segment[0] = reinterpret_cast<const uint8_t*>(words);
    a.quads = p.k_padded / 2;  // 4-byte groups: K pairs
    a.stride = 2 * p.k_padded;
    a.flip = 0;
  }

  static void gemm_tile(const QConvPacked& p, int, int, int64_t block, const TileRows& a,
                        int32_t* acc) {
    tile_words(a, p.pair_weights.data() + block * p.k_padded * kQConvBlock, acc);
  }
};

}  // namespace avx2
}  // namespace qdq
