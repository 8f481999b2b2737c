// FP32 Conv and ai.qdq.Conv at the AVX-512 level: AVX2's driver
// (kernels/avx2/conv.cc) over 6 x 32 register tiles of zmm, twice the
// columns a FMA of AVX2's 6 x 16. Edge strips mask their loads and stores
// (cheap on AVX-512, unlike AVX2's vmaskmovps on AMD). The sums are those of
// the AVX2 tiles, in the same order: each output's products in depth order
// from the bias, so both levels give the same floats.
#include "runtime/kernels/avx2/conv.h"

#include "runtime/kernels/avx512vnni/intrinsics.h"
#include "runtime/kernels/registry.h"

#define QDQ_FP32_AVX512_TARGET __attribute__((target("avx512f")))

namespace qdq {
namespace fp32conv {
namespace {

constexpr int64_t kAvx512StripColumns = 32;  // two zmm

// ConvActivation::apply's ternaries, 16 lanes: vmaxps(a, b) is a > b ? a : b.
QDQ_FP32_AVX512_TARGET inline __m512 clamp16(__m512 v, const ConvActivation& activation) {
  const __m512 lo = _mm512_set1_ps(activation.lo), hi = _mm512_set1_ps(activation.hi);
  v = activation.relu ? _mm512_max_ps(v, lo) : _mm512_max_ps(lo, v);
  return _mm512_min_ps(hi, v);
}

// The lanes of the strip's two halves that exist: all for a full strip.
struct HalfMasks {
  __mmask16 low, high;
};

QDQ_FP32_AVX512_TARGET inline HalfMasks half_masks(int columns) {
  const auto lanes = [](int n) {
    return static_cast<__mmask16>(n >= 16 ? 0xffff : n <= 0 ? 0 : (1u << n) - 1);
  };
  return {lanes(columns), lanes(columns - 16)};
}

template <bool Full>
QDQ_FP32_AVX512_TARGET inline __m512 load16(const float* p, __mmask16 mask) {
  return Full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
}

template <bool Full>
QDQ_FP32_AVX512_TARGET void micro_tile(const float* a, const float* b, const int64_t* rows,
                                       int64_t depth, const TileTarget& t, const Epilogue& e) {
  const HalfMasks mask = half_masks(t.columns);
  __m512 acc[kPanelRows][2];
#pragma GCC unroll 6
  for (int r = 0; r < kPanelRows; ++r) {
    if (r >= t.rows) {
      acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    } else if (t.first) {
      acc[r][0] = acc[r][1] = t.bias ? _mm512_set1_ps(t.bias[r]) : _mm512_setzero_ps();
    } else {
      acc[r][0] = load16<Full>(t.out + r * t.pitch, mask.low);
      acc[r][1] = load16<Full>(t.out + r * t.pitch + 16, mask.high);
    }
  }
#pragma GCC unroll 2
  for (int64_t k = 0; k < depth; ++k, a += kPanelRows) {
    const float* row = b + rows[k];
    const __m512 b0 = load16<Full>(row, mask.low), b1 = load16<Full>(row + 16, mask.high);
#pragma GCC unroll 6
    for (int r = 0; r < kPanelRows; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
      acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  const bool clamp = t.last && e.bounded;
  const float* residual = t.last ? e.residual : nullptr;
#pragma GCC unroll 6
  for (int r = 0; r < kPanelRows; ++r) {
    if (r >= t.rows) break;
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      const __mmask16 half = h == 0 ? mask.low : mask.high;
      __m512 v = acc[r][h];
      if (residual) v = _mm512_add_ps(v, load16<Full>(residual + r * t.pitch + 16 * h, half));
      if (clamp) v = clamp16(v, e.activation);
      float* out = t.out + r * t.pitch + 16 * h;
      if (Full)
        _mm512_storeu_ps(out, v);
      else
        _mm512_mask_storeu_ps(out, half, v);
    }
  }
}

QDQ_FP32_AVX512_TARGET void depthwise_sums(const float* at, int64_t columns, const int64_t* offsets,
                                           int64_t taps, const float* w, float start, float* sums) {
  for (int64_t p = 0; p < columns; p += kAvx512StripColumns) {
    __m512 acc0 = _mm512_set1_ps(start), acc1 = acc0;
    for (int64_t t = 0; t < taps; ++t) {
      const __m512 wv = _mm512_set1_ps(w[t]);
      acc0 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(at + p + offsets[t]), acc0);
      acc1 = _mm512_fmadd_ps(wv, _mm512_loadu_ps(at + p + offsets[t] + 16), acc1);
    }
    _mm512_storeu_ps(sums + p, acc0);
    _mm512_storeu_ps(sums + p + 16, acc1);
  }
}

}  // namespace
}  // namespace fp32conv

void conv_fp32_avx512(OpContext& ctx) {
  static const fp32conv::Tiles tiles{fp32conv::kAvx512StripColumns, fp32conv::micro_tile<true>,
                                     fp32conv::micro_tile<false>, fp32conv::depthwise_sums};
  fp32conv::run(ctx, tiles);
}

}  // namespace qdq
