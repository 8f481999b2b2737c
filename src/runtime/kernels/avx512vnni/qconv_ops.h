// The AVX-512 VNNI QConv kernel's operations (qconv_driver.h's `Ops`): its
// GEMM tiles, epilogues and depthwise kernel. The AMX kernel (amx/qconv.cc)
// takes the epilogues and the depthwise kernel from here.
//
// vpdpbusd multiplies 4 uint8 activations by 4 int8 weights and adds the four
// products to an int32 lane without any intermediate saturation, so the
// accumulation is exact as it stands (int8 activations are moved to uint8 by
// qconv_pack's flip). 16 output channels per zmm; a tile of up to 16 pixels x
// 4 blocks keeps at most 24 accumulators.
//
// The epilogue repeats the reference's float steps (qconv_epilogue) lane for
// lane: cvtdq2ps, mulps, round to nearest even, the NaN-to-zero-point rule,
// clamps at integer bounds, and QLinearAdd's dequantize-add-divide for the
// residual. No FMA contraction (-ffp-contract=off), so the bits agree.
//
// ISA code is compiled through target attributes, not per-file flags, so that
// inline functions from shared headers are never emitted with AVX-512
// instructions and picked by the linker for other CPUs; every function here
// carries the attribute itself.
#pragma once

#include <type_traits>

#include "runtime/kernels/avx512vnni/intrinsics.h"
#include "runtime/kernels/qconv_driver.h"

#define QDQ_AVX512_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace qdq {
namespace avx512vnni {

// A tile's sums in registers. Flip: the rows come from an input of the other
// signedness, flipped as loaded (a separate instantiation: the XOR would slow
// every other tile down).
template <int Rows, int Blocks, bool Flip>
QDQ_AVX512_TARGET inline __attribute__((always_inline)) void accumulate(
    const TileRows& a, const int8_t* w, int64_t quads, __m512i (&c)[Rows][Blocks]) {
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < Blocks; ++b) c[r][b] = _mm512_setzero_si512();
  const int64_t block_stride = quads * 4 * kQConvBlock;
  const __m512i flip = _mm512_set1_epi32(static_cast<int>(0x80808080u));
  for (int s = 0; s < a.segments; ++s) {
    const uint8_t* base = a.segment[static_cast<size_t>(s)];
    for (int64_t q = 0; q < a.quads; ++q, w += 4 * kQConvBlock) {
      __m512i wv[Blocks];
#pragma GCC unroll 4
      for (int b = 0; b < Blocks; ++b) wv[b] = _mm512_loadu_si512(w + b * block_stride);
      const uint8_t* row = base + 4 * q;
#pragma GCC unroll 16
      for (int r = 0; r < Rows; ++r, row += a.stride) {
        __m512i av = _mm512_set1_epi32(tile_quad(row));
        if constexpr (Flip) av = _mm512_xor_si512(av, flip);
#pragma GCC unroll 4
        for (int b = 0; b < Blocks; ++b) c[r][b] = _mm512_dpbusd_epi32(c[r][b], av, wv[b]);
      }
    }
  }
}

template <int Rows, int Blocks, bool Flip>
QDQ_AVX512_TARGET void tile(const TileRows& a, const int8_t* w, int64_t quads, int32_t* acc) {
  __m512i c[Rows][Blocks];
  accumulate<Rows, Blocks, Flip>(a, w, quads, c);
#pragma GCC unroll 16
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 4
    for (int b = 0; b < Blocks; ++b)
      _mm512_storeu_si512(acc + (r * Blocks + b) * kQConvBlock, c[r][b]);
}

using TileFn = void (*)(const TileRows&, const int8_t*, int64_t, int32_t*);

// The tiles the kernel has: 16, 12, 8, 6 or 4 rows by 1 to 4 blocks, at
// most 24 accumulators. `make.template operator()<Rows, Blocks>()` for the
// tile of `rows` by `blocks` (a function of that shape), null for another.
template <typename Make>
auto for_tile_shape(int rows, int blocks, Make make) {
  using Fn = decltype(make.template operator()<4, 1>());
  const auto with_rows = [&]<int Rows>() -> Fn {
    switch (blocks) {
      case 1:
        return make.template operator()<Rows, 1>();
      case 2:
        if constexpr (Rows * 2 <= 24) return make.template operator()<Rows, 2>();
        break;
      case 3:
        if constexpr (Rows * 3 <= 24) return make.template operator()<Rows, 3>();
        break;
      case 4:
        if constexpr (Rows * 4 <= 24) return make.template operator()<Rows, 4>();
        break;
    }
    return nullptr;
  };
  return rows == 16   ? with_rows.template operator()<16>()
         : rows == 12 ? with_rows.template operator()<12>()
         : rows == 8  ? with_rows.template operator()<8>()
         : rows == 6  ? with_rows.template operator()<6>()
         : rows == 4  ? with_rows.template operator()<4>()
                      : Fn{nullptr};
}

template <bool Flip>
TileFn tile_for(int rows, int blocks) {
  return for_tile_shape(rows, blocks,
                        []<int Rows, int Blocks>() -> TileFn { return tile<Rows, Blocks, Flip>; });
}

struct Avx512VnniOps {
  static constexpr ActivationDomain kDomain = ActivationDomain::kUnsigned;
  // Up to 24 accumulators (of 32 registers: the blocks' weights and a
  // broadcast take the others); 4-pixel tiles for 4-pixel rows.
  static constexpr TileShape kTileShapes[] = {{6, 4}, {8, 3}, {12, 2}, {16, 1}, {4, 4}};
  static bool accepts(const QConvPacked&) { return true; }

  static void gemm_tile(const QConvPacked& p, int rows, int blocks, int64_t block,
                        const TileRows& a, int32_t* acc) {
    (a.flip ? tile_for<true>(rows, blocks) : tile_for<false>(rows, blocks))(
        a, qconv_block_weights(p, block), p.k_padded / 4, acc);
  }

  // The GEMM tile and the integer epilogue in one, its sums kept in
  // registers. Where K is small (MobileNetV2's 1x1 expansions of 16 to 32
  // channels) a tile's fixed costs, storing its sums and loading them back
  // among them, are a good part of it (a 6 x 3 tile at K = 24: 151 cycles a
  // call for 108 cycles of multiply-adds). One thread, batch 32: those layers
  // 4-19 % faster fused, ResNet-20's 16-channel layers 5-10 %, ResNet-18's
  // 3x3 layers 0-4 %.
  // Whole tiles with finite multipliers, the integer epilogue or a float
  // sum's affine form; false for the rest (partial tiles, float sums in
  // their float steps).
  template <typename Q, typename R>
  static bool fused_tile(const QConvPacked& p, int rows, int blocks, int64_t block,
                         const TileRows& a, const EpilogueTile<Q, R>& tile) {
    if constexpr (std::is_same_v<Q, float> || !std::is_same_v<Q, R>) {
      return false;
    } else {
      if (!p.finite_multipliers || tile.rows != rows) return false;
      const int8_t* w = qconv_block_weights(p, block);
      if (p.integer_lanes())
        (a.flip ? fused_for<Q, true, IntegerSum<Q>>(rows, blocks)
                : fused_for<Q, false, IntegerSum<Q>>(rows, blocks))(p, a, w, tile);
      else if (p.affine_corrected())
        (a.flip ? fused_for<Q, true, AffineSum<Q>>(rows, blocks)
                : fused_for<Q, false, AffineSum<Q>>(rows, blocks))(p, a, w, tile);
      else
        return false;
      return true;
    }
  }

  template <typename Q>
  using FusedFn = void (*)(const QConvPacked&, const TileRows&, const int8_t*,
                           const EpilogueTile<Q, Q>&);

  template <typename Q, bool Flip, typename Lanes>
  static FusedFn<Q> fused_for(int rows, int blocks) {
    return for_tile_shape(rows, blocks, []<int Rows, int Blocks>() -> FusedFn<Q> {
      return fused<Rows, Blocks, Flip, Q, Lanes>;
    });
  }

  template <int Rows, int Blocks, bool Flip, typename Q, typename Lanes>
  QDQ_AVX512_TARGET static void fused(const QConvPacked& p, const TileRows& a, const int8_t* w,
                                      const EpilogueTile<Q, Q>& tile) {
    __m512i c[Rows][Blocks];
    accumulate<Rows, Blocks, Flip>(a, w, p.k_padded / 4, c);
    quantized_group<Blocks>(p, Lanes(p), tile, 0, tile.channels, HeldSums<Rows, Blocks>{c});
  }

  // Sixteen residual values in float (masked to the block's channels): a
  // float residual's own, an 8-bit one's dequantized.
  template <typename R>
  QDQ_AVX512_TARGET static __m512 residual16(const QConvParams& q, const R* r, __mmask16 mask) {
    if constexpr (std::is_same_v<R, float>) {
      return mask == 0xffff ? _mm512_loadu_ps(r) : _mm512_maskz_loadu_ps(mask, r);
    } else {
      const __m128i bytes = mask == 0xffff ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(r))
                                           : _mm_maskz_loadu_epi8(mask, r);
      const __m512i v =
          std::is_same_v<R, int8_t> ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
      return _mm512_mul_ps(
          _mm512_cvtepi32_ps(_mm512_sub_epi32(v, _mm512_set1_epi32(q.residual->zero))),
          _mm512_set1_ps(q.residual->scale));
    }
  }

  // One block's constants: its first channel, its 16 channels' int32 bias,
  // multiplier and float bias (QConvPacked's), and the mask of the channels
  // it has.
  struct BlockConstants {
    int64_t channel;
    __m512i bias;
    __m512 multiplier, bias_float;
    __mmask16 mask;
    BlockConstants() = default;
    QDQ_AVX512_TARGET BlockConstants(const QConvPacked& p, int64_t first, int64_t count)
        : channel(first),
          bias(_mm512_loadu_si512(p.bias.data() + first)),
          multiplier(_mm512_loadu_ps(p.multipliers.data() + first)),
          bias_float(_mm512_loadu_ps(p.bias_float.data() + first)),
          mask(static_cast<__mmask16>((1u << count) - 1)) {}
  };

  // A block's 16 sums, bias added, times their multipliers: where the float
  // epilogues start.
  QDQ_AVX512_TARGET static __m512 scaled_sum(const BlockConstants& c, __m512i acc) {
    return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, c.bias)), c.multiplier);
  }

  // qconv_float_value's steps lane for lane: vmaxps(a, b) is `a > b ? a : b`
  // and vminps `a < b ? a : b`, NaN and signed zeros included, so
  // ConvActivation's ternaries are Relu's max(v, lo), Clip's max(lo, v), and
  // min(hi, v).
  struct FloatValue {
    const QConvParams& q;
    bool relu, bounded;
    __m512 lo, hi;
    QDQ_AVX512_TARGET explicit FloatValue(const QConvParams& params)
        : q(params),
          relu(params.activation.relu),
          bounded(params.activation.bounded()),
          lo(_mm512_set1_ps(params.activation.lo)),
          hi(_mm512_set1_ps(params.activation.hi)) {}
    // The value before the residual and the activation.
    QDQ_AVX512_TARGET static __m512 linear(const BlockConstants& c, __m512i acc) {
      return _mm512_add_ps(scaled_sum(c, acc), c.bias_float);
    }
    template <typename R>
    QDQ_AVX512_TARGET __m512 operator()(const BlockConstants& c, __m512i acc,
                                        const R* residual) const {
      __m512 v = linear(c, acc);
      if (residual) v = _mm512_add_ps(v, residual16(q, residual, c.mask));
      if (bounded) {
        v = relu ? _mm512_max_ps(v, lo) : _mm512_max_ps(lo, v);
        v = _mm512_min_ps(hi, v);
      }
      return v;
    }
  };

  // The conv's output bounds less its zero point, and the zero point: the
  // clamp before the conversion.
  struct OutputBounds {
    __m512 lo, hi;
    __m512i zero;
    QDQ_AVX512_TARGET OutputBounds(int32_t min, int32_t max, int32_t zero_point)
        : lo(_mm512_set1_ps(static_cast<float>(min - zero_point))),
          hi(_mm512_set1_ps(static_cast<float>(max - zero_point))),
          zero(_mm512_set1_epi32(zero_point)) {}
    QDQ_AVX512_TARGET explicit OutputBounds(const QConvParams& q)
        : OutputBounds(q.conv_min, q.conv_max, q.y_zero) {}
    // Clamping at the integer bounds less the zero point, then converting
    // (round to nearest even) and adding the zero point as an integer,
    // equals the reference's round-add-clamp: rounding is monotone and the
    // bounds are integers.
    QDQ_AVX512_TARGET __m512i quantize(__m512 v) const {
      return _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_min_ps(_mm512_max_ps(v, lo), hi)), zero);
    }
  };

  // A float sum quantized by the final QuantizeLinear. Only a float residual
  // can bring a NaN (the multipliers and float biases are finite here, an
  // 8-bit residual's values too, and an infinite sum divides to infinity):
  // round_and_saturate makes it 0 first.
  template <typename R>
  struct FloatSum {
    FloatValue value;
    __m512 y_scale;
    OutputBounds out;
    QDQ_AVX512_TARGET explicit FloatSum(const QConvPacked& p)
        : value(p.params), y_scale(_mm512_set1_ps(p.params.y_scale)), out(p.params) {}
    QDQ_AVX512_TARGET __m512i operator()(const BlockConstants& c, __m512i acc,
                                         const R* residual) const {
      __m512 v = _mm512_div_ps(value(c, acc, residual), y_scale);
      if constexpr (std::is_same_v<R, float>)
        v = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(v, v, _CMP_ORD_Q), v);
      return out.quantize(v);
    }
    // Without a residual or an activation, rounded only (qconv_narrow_bounds).
    QDQ_AVX512_TARGET __m512i rounded(const BlockConstants& c, __m512i acc) const {
      return _mm512_cvtps_epi32(_mm512_div_ps(FloatValue::linear(c, acc), y_scale));
    }
  };

  // A block's 16 sums, bias added, as fma(float(S), multiplier, float
  // bias): the integer epilogue's requantization (its float biases are 0,
  // and fma(v, m, 0) rounds v * m once, as the multiply does) and a float
  // sum's affine form (QConvPacked::affine_sum).
  QDQ_AVX512_TARGET static __m512 requantized(const BlockConstants& c, __m512i sum) {
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), c.multiplier, c.bias_float);
  }

  // The integer epilogue: requantized, clamped (activation included), then
  // QLinearAdd's dequantize-add-divide with an 8-bit residual of the
  // output's type. No NaN can arise: the multipliers are finite. Also a
  // float sum's affine form where no channel misses a sum (then clamped to
  // the narrow bounds, the activation's).
  template <typename Q>
  struct IntegerSum {
    const QConvParams& q;
    OutputBounds conv;
    __m512 conv_scale, sum_scale;
    OutputBounds sum;  // the residual sum's
    QDQ_AVX512_TARGET explicit IntegerSum(const QConvPacked& p)
        : IntegerSum(p, p.params.residual.value_or(QConvParams::Residual{})) {}
    QDQ_AVX512_TARGET IntegerSum(const QConvPacked& p, const QConvParams::Residual& r)
        : q(p.params),
          conv(p.affine_sum ? OutputBounds(p.narrow_min, p.narrow_max, p.params.y_zero)
                            : OutputBounds(p.params)),
          conv_scale(_mm512_set1_ps(r.conv_scale)),
          sum_scale(_mm512_set1_ps(r.sum_scale)),
          sum(r.out_min, r.out_max, r.sum_zero) {}
    QDQ_AVX512_TARGET __m512i operator()(const BlockConstants& c, __m512i acc,
                                         const Q* residual) const {
      if (!residual) return conv.quantize(requantized(c, _mm512_add_epi32(acc, c.bias)));
      return sum.quantize(sum_value(c, acc, residual));
    }
    // Without a residual, rounded only (qconv_narrow_bounds).
    QDQ_AVX512_TARGET __m512i rounded(const BlockConstants& c, __m512i acc) const {
      return _mm512_cvtps_epi32(requantized(c, _mm512_add_epi32(acc, c.bias)));
    }
    // With a residual, QLinearAdd's value rounded only, for the saturating
    // narrow (QConvPacked::residual_narrow): the sum's clamp and zero point
    // left to the packs.
    QDQ_AVX512_TARGET __m512i rounded_sum(const BlockConstants& c, __m512i acc,
                                          const Q* residual) const {
      return _mm512_cvtps_epi32(sum_value(c, acc, residual));
    }
    // QLinearAdd's value before its rounding: (float(t - y_zero) * conv_scale
    // + float(r - r_zero) * r_scale) / sum_scale, t - y_zero the conv's
    // requantized output clamped and rounded in float (vrndscaleps: an
    // integer, the reference's float(t - y_zero) exactly, without an int32
    // round trip).
    QDQ_AVX512_TARGET __m512 sum_value(const BlockConstants& c, __m512i acc,
                                       const Q* residual) const {
      const __m512 v = requantized(c, _mm512_add_epi32(acc, c.bias));
      const __m512 t = _mm512_roundscale_ps(_mm512_min_ps(_mm512_max_ps(v, conv.lo), conv.hi),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      return _mm512_div_ps(
          _mm512_add_ps(_mm512_mul_ps(t, conv_scale), residual16(q, residual, c.mask)), sum_scale);
    }
  };

  // A float sum in the affine form with exception slots (QConvPacked::
  // affine_sum): the integer epilogue's steps and a compare and masked add
  // per slot, not the float steps and their division. MobileNetV2 QAT, one thread, batch
  // 1: its 1x1 expansions 1.31-1.40x the s8s8 file's before, 1.06-1.13x so.
  template <typename Q>
  struct AffineSum {
    __m512i lo, hi, zero;  // the output's bounds less its zero point, and the zero point
    const int32_t* exceptions;
    int64_t slot;  // elements between exception slots' sums
    QDQ_AVX512_TARGET explicit AffineSum(const QConvPacked& p)
        : lo(_mm512_set1_epi32(p.narrow_min - p.params.y_zero)),
          hi(_mm512_set1_epi32(p.narrow_max - p.params.y_zero)),
          zero(_mm512_set1_epi32(p.params.y_zero)),
          exceptions(p.affine_exceptions.data()),
          slot(2 * p.blocks * kQConvBlock) {}
    QDQ_AVX512_TARGET __m512i operator()(const BlockConstants& c, __m512i acc, const Q*) const {
      return _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(rounded(c, acc), lo), hi), zero);
    }
    // Less the zero point, not clamped.
    QDQ_AVX512_TARGET __m512i rounded(const BlockConstants& c, __m512i acc) const {
      const __m512i sum = _mm512_add_epi32(acc, c.bias);
      __m512i t = _mm512_cvtps_epi32(requantized(c, sum));
#pragma GCC unroll 4
      for (int e = 0; e < kAffineExceptions; ++e) {
        const int32_t* at = exceptions + c.channel + e * slot;
        t = _mm512_mask_add_epi32(t, _mm512_cmpeq_epi32_mask(sum, _mm512_loadu_si512(at)), t,
                                  _mm512_loadu_si512(at + slot / 2));
      }
      return t;
    }
  };

  template <typename Q, typename R>
  QDQ_AVX512_TARGET static void epilogue(const QConvPacked& p, const EpilogueTile<Q, R>& tile) {
    if constexpr (std::is_same_v<Q, float>) {
      float_output(p, tile);
    } else if (!p.finite_multipliers) {
      for (int r = 0; r < tile.rows; ++r)
        for (int b = 0; b < tile.blocks && b * kQConvBlock < tile.channels; ++b) {
          const int64_t at = r * tile.pitch + b * kQConvBlock;
          scalar_epilogue(p, tile.channel + b * kQConvBlock,
                          static_cast<int>(std::min(kQConvBlock, tile.channels - b * kQConvBlock)),
                          tile.acc + (r * tile.blocks + b) * kQConvBlock,
                          tile.residual ? tile.residual + at : nullptr, tile.out + at);
        }
    } else if (p.integer_lanes()) {
      // An integer residual has the output's type (read_qconv_params checks).
      if constexpr (std::is_same_v<Q, R>) quantized_epilogue<IntegerSum<Q>>(p, tile);
    } else if (p.affine_corrected()) {
      if constexpr (std::is_same_v<Q, R>) quantized_epilogue<AffineSum<Q>>(p, tile);
    } else {
      quantized_epilogue<FloatSum<R>>(p, tile);
    }
  }

  // A float output (any multiplier: its steps are IEEE's either way).
  template <typename R>
  QDQ_AVX512_TARGET static void float_output(const QConvPacked& p,
                                             const EpilogueTile<float, R>& tile) {
    const FloatValue value(p.params);
    for (int b = 0; b < tile.blocks; ++b) {
      const int64_t offset = b * kQConvBlock;
      const int64_t count = std::min<int64_t>(kQConvBlock, tile.channels - offset);
      if (count <= 0) break;
      const BlockConstants c(p, tile.channel + offset, count);
      for (int r = 0; r < tile.rows; ++r) {
        const int64_t at = r * tile.pitch + offset;
        const __m512 v =
            value(c, _mm512_loadu_si512(tile.acc + (r * tile.blocks + b) * kQConvBlock),
                  tile.residual ? tile.residual + at : nullptr);
        if (count == kQConvBlock)
          _mm512_storeu_ps(tile.out + at, v);
        else
          _mm512_mask_storeu_ps(tile.out + at, c.mask, v);
      }
    }
  }

  // The quantized epilogues' loop: up to four blocks (64 channels) of a pixel
  // at a time, their values from `Lanes` (a block's 16 int32 results, the
  // output's zero point added).
  template <typename Lanes, typename Q, typename R>
  QDQ_AVX512_TARGET static void quantized_epilogue(const QConvPacked& p,
                                                   const EpilogueTile<Q, R>& tile) {
    const Lanes lanes(p);
    for (int b0 = 0; b0 < tile.blocks; b0 += 4) {
      const int64_t channels = std::min<int64_t>(4 * kQConvBlock, tile.channels - b0 * kQConvBlock);
      if (channels <= 0) break;
      const StoredSums sums{tile.acc + b0 * kQConvBlock, tile.blocks};
      switch ((channels + kQConvBlock - 1) / kQConvBlock) {
        case 1:
          quantized_group<1>(p, lanes, tile, b0, channels, sums);
          break;
        case 2:
          quantized_group<2>(p, lanes, tile, b0, channels, sums);
          break;
        case 3:
          quantized_group<3>(p, lanes, tile, b0, channels, sums);
          break;
        default:
          quantized_group<4>(p, lanes, tile, b0, channels, sums);
      }
    }
  }

  // A tile's sums where the GEMM stored them: sums(r, b) for row r's block b
  // (from the group's first block on).
  struct StoredSums {
    static constexpr int kRows = 0;  // the tile's rows
    const int32_t* acc;
    int blocks;
    QDQ_AVX512_TARGET __m512i operator()(int r, int b) const {
      return _mm512_loadu_si512(acc + (r * blocks + b) * kQConvBlock);
    }
  };

  // A whole tile's sums still in registers (fused_tile): its rows known when
  // compiled, so that the row loops unroll and the sums stay where they are.
  template <int Rows, int Blocks>
  struct HeldSums {
    static constexpr int kRows = Rows;
    const __m512i (&c)[Rows][Blocks];
    QDQ_AVX512_TARGET __m512i operator()(int r, int b) const { return c[r][b]; }
  };

  // `Group` blocks from block b0 on, `channels` channels of them. Always
  // inlined: called out of line, the held sums it reads would live on the
  // stack through the fused tile's multiply-adds (GCC stopped inlining it
  // once the fused tiles had an int8-row variant: those layers ran 1.7-1.9x
  // slower).
  template <int Group, typename Lanes, typename Q, typename R, typename Sums>
  QDQ_AVX512_TARGET static inline __attribute__((always_inline)) void quantized_group(
      const QConvPacked& p, const Lanes& lanes, const EpilogueTile<Q, R>& tile, int b0,
      int64_t channels, const Sums& sums) {
    // The tile's fields in locals: the 8-bit stores may alias anything, so
    // the compiler would reload them after every store.
    const int64_t pitch = tile.pitch, first = b0 * kQConvBlock;
    const R* residual = tile.residual ? tile.residual + first : nullptr;
    Q* out = tile.out + first;
    BlockConstants c[Group];
#pragma GCC unroll 4
    for (int b = 0; b < Group; ++b)
      c[b] = BlockConstants(p, tile.channel + first + b * kQConvBlock,
                            std::min<int64_t>(kQConvBlock, channels - b * kQConvBlock));
    const __mmask64 store_mask = channels == 64 ? ~__mmask64{0} : (__mmask64{1} << channels) - 1;
    // Rounded, then clamped by the packs' saturation and the byte bounds:
    // the float clamps and three quarters of the zero-point adds fewer. A
    // group of fewer blocks packs zeros in their place for the float sum
    // (MobileNetV2 QAT's 96- and 144-channel 1x1 layers, groups of 3 blocks:
    // 8-11 % faster); the integer epilogue's were 2-4 % slower so.
    // Each row's blocks rounded by `rounded(b, r)`, narrowed by `narrow`.
    const auto narrow_rows = [&](const SaturatingNarrow<Q>& narrow, const auto& rounded)
        QDQ_AVX512_TARGET __attribute__((always_inline)) {
      for_rows<Sums::kRows>(tile.rows, [&](int r) QDQ_AVX512_TARGET {
        __m512i t[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
#pragma GCC unroll 4
        for (int b = 0; b < Group; ++b) t[b] = rounded(b, r);
        store_group<Group>(out + r * pitch, narrow(t), channels, store_mask);
      });
    };
    if (p.saturating_narrow && !residual && (Group == 4 || p.params.float_sum)) {
      narrow_rows(
          SaturatingNarrow<Q>(p.params.y_zero, p.narrow_min, p.narrow_max), [&](int b, int r)
                                                                                QDQ_AVX512_TARGET
          __attribute__((always_inline)) { return lanes.rounded(c[b], sums(r, b)); });
      return;
    }
    // The same with an 8-bit residual, QLinearAdd's clamps in the bytes.
    if constexpr (requires { lanes.rounded_sum(c[0], __m512i{}, residual); }) {
      if (residual && p.residual_narrow) {
        const QConvParams::Residual& sum = *p.params.residual;
        narrow_rows(
            SaturatingNarrow<Q>(sum.sum_zero, sum.out_min, sum.out_max), [&](int b, int r)
                                                                             QDQ_AVX512_TARGET
            __attribute__((always_inline)) {
              return lanes.rounded_sum(c[b], sums(r, b), residual + r * pitch + b * kQConvBlock);
            });
        return;
      }
    }
    for_rows<Sums::kRows>(tile.rows, [&](int r) QDQ_AVX512_TARGET {
      __m512i t[Group];
#pragma GCC unroll 4
      for (int b = 0; b < Group; ++b)
        t[b] = lanes(c[b], sums(r, b), residual ? residual + r * pitch + b * kQConvBlock : nullptr);
      // Four blocks narrowed together; fewer one by one (vpmovdb), measured
      // a little faster than packing in zero blocks. Whole blocks are stored
      // unmasked: a masked byte store is several times slower.
      if constexpr (Group == 4) {
        const __m512i bytes = narrow64<Q>(t);
        if (channels == 4 * kQConvBlock)
          _mm512_storeu_si512(out + r * pitch, bytes);
        else
          _mm512_mask_storeu_epi8(out + r * pitch, store_mask, bytes);
      } else {
#pragma GCC unroll 4
        for (int b = 0; b < Group; ++b) {
          const __m128i bytes = _mm512_cvtepi32_epi8(t[b]);
          if (channels >= (b + 1) * kQConvBlock)
            _mm_storeu_si128(reinterpret_cast<__m128i*>(out + r * pitch + b * kQConvBlock), bytes);
          else
            _mm_mask_storeu_epi8(out + r * pitch + b * kQConvBlock, c[b].mask, bytes);
        }
      }
    });
  }

  // f(r) for each of a tile's rows, unrolled where their count is known when
  // compiled (held sums stay in registers only so; unrolling the loop over
  // stored sums made ResNet-20's 8 x 2 tiles' epilogue 3-5 % slower).
  template <int KnownRows, typename F>
  QDQ_AVX512_TARGET static inline __attribute__((always_inline)) void for_rows(int rows, F&& f) {
    if constexpr (KnownRows > 0) {
#pragma GCC unroll 16
      for (int r = 0; r < KnownRows; ++r) f(r);
    } else {
      for (int r = 0; r < rows; ++r) f(r);
    }
  }

  // A group's bytes (`channels` of them, the first of `bytes`) stored: whole
  // blocks by plain stores, a part masked.
  template <int Group, typename Q>
  QDQ_AVX512_TARGET static void store_group(Q* out, __m512i bytes, int64_t channels,
                                            __mmask64 mask) {
    if (channels < Group * kQConvBlock) {
      _mm512_mask_storeu_epi8(out, mask, bytes);
    } else if constexpr (Group == 4) {
      _mm512_storeu_si512(out, bytes);
    } else if constexpr (Group == 1) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(out), _mm512_castsi512_si128(bytes));
    } else {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_castsi512_si256(bytes));
      if constexpr (Group == 3)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + 2 * kQConvBlock),
                         _mm512_extracti32x4_epi32(bytes, 2));
    }
  }

  // Four vectors of 16 int32 values, each within Q's range, as 64 bytes in
  // order.
  template <typename Q>
  QDQ_AVX512_TARGET static __m512i narrow64(const __m512i (&t)[4]) {
    return in_order(bytes_of<Q>(_mm512_packs_epi32(t[0], t[1]), _mm512_packs_epi32(t[2], t[3])));
  }

  // Two vectors of int16 values packed into Q's bytes, saturating.
  template <typename Q>
  QDQ_AVX512_TARGET static __m512i bytes_of(__m512i words01, __m512i words23) {
    return std::is_same_v<Q, uint8_t> ? _mm512_packus_epi16(words01, words23)
                                      : _mm512_packs_epi16(words01, words23);
  }

  // The packs work within 128-bit lanes (lane L of their result holds the
  // dwords 4L..4L+3 of each of the four vectors in turn): the permutation
  // gathers each vector's four.
  QDQ_AVX512_TARGET static __m512i in_order(__m512i bytes) {
    return _mm512_permutexvar_epi32(
        _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15), bytes);
  }

  // Four vectors of rounded int32 values (any, below 2^31 in magnitude) as
  // the output's 64 bytes: sat8(sat16(sat16(r) + zero)) = sat8(r + zero), as
  // each saturation's range holds the next one's and the zero point is
  // within int8/uint8; then clamped to [min, max], within Q's range:
  // clamp(r + zero, min, max), the reference's.
  template <typename Q>
  struct SaturatingNarrow {
    __m512i zero, lo, hi;
    QDQ_AVX512_TARGET SaturatingNarrow(int32_t zero_point, int32_t min, int32_t max)
        : zero(_mm512_set1_epi16(static_cast<int16_t>(zero_point))),
          lo(_mm512_set1_epi8(static_cast<char>(min))),
          hi(_mm512_set1_epi8(static_cast<char>(max))) {}
    QDQ_AVX512_TARGET __m512i operator()(const __m512i (&t)[4]) const {
      const __m512i words01 = _mm512_adds_epi16(_mm512_packs_epi32(t[0], t[1]), zero);
      const __m512i words23 = _mm512_adds_epi16(_mm512_packs_epi32(t[2], t[3]), zero);
      const __m512i bytes = bytes_of<Q>(words01, words23);
      const __m512i clamped = std::is_same_v<Q, uint8_t>
                                  ? _mm512_min_epu8(_mm512_max_epu8(bytes, lo), hi)
                                  : _mm512_min_epi8(_mm512_max_epi8(bytes, lo), hi);
      return in_order(clamped);
    }
  };

  // Depthwise by vpdpbusd over taps: four taps' activations of a channel
  // side by side in a lane, multiplied by the channel's four weights
  // (depthwise_quads). Byte then word unpacks of four taps' 64 channels give
  // four vectors whose lanes hold 16 of the channels each, in the order the
  // packed weights follow; the four sums are put back in channel order at
  // the end. Per 64 channels and 4 taps: 4 loads, 8 in-lane shuffles, 4
  // vpdpbusd, where widening each tap's 16 channels to 32 bits for vpdpwssd
  // took 16 loads, 16 lane-crossing vpmovzxbd and 16 vpdpwssd (MobileNetV2's
  // depthwise layers 5-20 % faster; they are still far from this bound).
  // int8 activations are flipped into uint8 as loaded; depthwise_flip_sums
  // takes the 128 * w back off.
  template <typename TX>
  QDQ_AVX512_TARGET static void depthwise(const QConvPacked& p, const TX* const* taps, int64_t step,
                                          int64_t pixels, int32_t* acc) {
    if (p.params.shape.geometry.kernel_size() == 9)
      depthwise_taps<TX, 9>(p, taps, step, pixels, acc);
    else
      depthwise_taps<TX, 0>(p, taps, step, pixels, acc);
  }

  // kTaps: the kernel's taps where known when compiled (0: read from p). A
  // 3x3 kernel's last quad holds one tap: its zero taps' unpacks fold away
  // and the quads unroll (MobileNetV2's depthwise layers 5-13 % faster).
  template <typename TX, int kTaps>
  QDQ_AVX512_TARGET static void depthwise_taps(const QConvPacked& p, const TX* const* taps,
                                               int64_t step, int64_t pixels, int32_t* acc) {
    constexpr bool kFlip = std::is_same_v<TX, int8_t>;
    const int64_t channels = p.params.shape.out_channels, padded = p.blocks * kQConvBlock;
    const int tap_count = kTaps ? kTaps : static_cast<int>(p.params.shape.geometry.kernel_size());
    const int quads = (tap_count + 3) / 4;
    for (int64_t group = 0; group < channels; group += 64) {
      const int64_t count = std::min<int64_t>(64, channels - group);
      const __mmask64 mask = count == 64 ? ~__mmask64{0} : (__mmask64{1} << count) - 1;
      const int blocks = static_cast<int>((count + kQConvBlock - 1) / kQConvBlock);
      const auto* w =
          reinterpret_cast<const __m512i*>(p.depthwise_quads.data()) + group / 64 * quads * 4;
      for (int64_t i = 0; i < pixels; ++i) {
        const int64_t offset = i * step + group;
        __m512i sum[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(),
                          _mm512_setzero_si512()};
        for (int q = 0; q < quads; ++q) {
          __m512i x[4];
#pragma GCC unroll 4
          for (int k = 0; k < 4; ++k) {
            const int t = 4 * q + k;
            x[k] = t < tap_count ? depthwise_load<kFlip>(taps[t] + offset, mask, count)
                                 : _mm512_setzero_si512();
          }
          const __m512i lo01 = _mm512_unpacklo_epi8(x[0], x[1]);
          const __m512i hi01 = _mm512_unpackhi_epi8(x[0], x[1]);
          const __m512i lo23 = _mm512_unpacklo_epi8(x[2], x[3]);
          const __m512i hi23 = _mm512_unpackhi_epi8(x[2], x[3]);
          const __m512i* wq = w + q * 4;
          sum[0] = _mm512_dpbusd_epi32(sum[0], _mm512_unpacklo_epi16(lo01, lo23), wq[0]);
          sum[1] = _mm512_dpbusd_epi32(sum[1], _mm512_unpackhi_epi16(lo01, lo23), wq[1]);
          sum[2] = _mm512_dpbusd_epi32(sum[2], _mm512_unpacklo_epi16(hi01, hi23), wq[2]);
          sum[3] = _mm512_dpbusd_epi32(sum[3], _mm512_unpackhi_epi16(hi01, hi23), wq[3]);
        }
        // sum[j]'s lane L holds channels 16L + 4j .. 16L + 4j + 3: block L is
        // lane L of each sum in turn (a 4 x 4 transpose of 128-bit lanes).
        const __m512i ab01 = _mm512_shuffle_i32x4(sum[0], sum[1], 0x44);
        const __m512i cd01 = _mm512_shuffle_i32x4(sum[2], sum[3], 0x44);
        const __m512i ab23 = _mm512_shuffle_i32x4(sum[0], sum[1], 0xee);
        const __m512i cd23 = _mm512_shuffle_i32x4(sum[2], sum[3], 0xee);
        // Stored one by one: GCC made a loop over an array of them a
        // `rep movsq` from the stack (a third of the kernel's time).
        int32_t* out = acc + i * padded + group;
        const int32_t* flip_sums = p.depthwise_flip_sums.data() + group;
        depthwise_store<kFlip>(out, flip_sums, _mm512_shuffle_i32x4(ab01, cd01, 0x88));
        if (blocks > 1)
          depthwise_store<kFlip>(out + 16, flip_sums + 16, _mm512_shuffle_i32x4(ab01, cd01, 0xdd));
        if (blocks > 2)
          depthwise_store<kFlip>(out + 32, flip_sums + 32, _mm512_shuffle_i32x4(ab23, cd23, 0x88));
        if (blocks > 3)
          depthwise_store<kFlip>(out + 48, flip_sums + 48, _mm512_shuffle_i32x4(ab23, cd23, 0xdd));
      }
    }
  }

  // A block of sums, less 128 * w where the activations were flipped.
  template <bool Flip>
  QDQ_AVX512_TARGET static void depthwise_store(int32_t* out, const int32_t* flip_sums,
                                                __m512i sums) {
    if constexpr (Flip) sums = _mm512_sub_epi32(sums, _mm512_loadu_si512(flip_sums));
    _mm512_storeu_si512(out, sums);
  }

  // A tap's 64 channels (fewer masked: nothing past the row's channels is
  // read), as uint8.
  template <bool Flip, typename TX>
  QDQ_AVX512_TARGET static __m512i depthwise_load(const TX* at, __mmask64 mask, int64_t count) {
    const __m512i x = count == 64 ? _mm512_loadu_si512(at) : _mm512_maskz_loadu_epi8(mask, at);
    return Flip ? _mm512_xor_si512(x, _mm512_set1_epi8(static_cast<char>(0x80))) : x;
  }
};

}  // namespace avx512vnni
}  // namespace qdq
