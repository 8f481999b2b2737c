// FP32 Conv and ai.qdq.Conv at the AVX-512 level: AVX2's driver
// (kernels/avx2/conv.cc) over 6 x 32 and 8 x 32 register tiles of zmm,
// twice the columns a FMA of AVX2's 6 x 16 (8 rows for 16, 32 and 64
// channels, which 6-row panels pad: ResNet-20 0.87-0.93x the time). Edge
// strips mask their loads and stores (cheap on AVX-512, unlike AVX2's
// vmaskmovps on AMD). The sums are those of the AVX2 tiles, in the same
// order: each output's products in depth order from the bias, so both
// levels give the same floats.
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

template <bool Full>
QDQ_FP32_AVX512_TARGET inline __m512 load16(const float* p, __mmask16 mask) {
  return Full ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(mask, p);
}

// The first `columns` of a strip's 16 * Vectors (all of them where Full),
// `Vectors` zmm a row. One zmm where a strip holds at most 16 columns: the
// GEMM runs per image, so a 4x4 map's 1x1 conv has 16 columns at any batch,
// half of two zmm.
template <int Rows, int Vectors, bool Full>
QDQ_FP32_AVX512_TARGET void tile(const float* a, const float* b, const int64_t* rows, int64_t depth,
                                 const TileTarget& t, const Epilogue& e) {
  __mmask16 mask[Vectors];
  for (int v = 0; v < Vectors; ++v) {
    const int n = t.columns - 16 * v;
    mask[v] = static_cast<__mmask16>(n >= 16 ? 0xffff : n <= 0 ? 0 : (1u << n) - 1);
  }
  __m512 acc[Rows][Vectors];
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r)
#pragma GCC unroll 2
    for (int v = 0; v < Vectors; ++v)
      acc[r][v] = r >= t.rows ? _mm512_setzero_ps()
                  : t.first   ? (t.bias ? _mm512_set1_ps(t.bias[r]) : _mm512_setzero_ps())
                              : load16<Full>(t.out + r * t.pitch + 16 * v, mask[v]);
#pragma GCC unroll 2
  for (int64_t k = 0; k < depth; ++k, a += Rows) {
    const float* row = b + rows[k];
    __m512 bv[Vectors];
#pragma GCC unroll 2
    for (int v = 0; v < Vectors; ++v) bv[v] = load16<Full>(row + 16 * v, mask[v]);
#pragma GCC unroll 8
    for (int r = 0; r < Rows; ++r) {
      const __m512 av = _mm512_set1_ps(a[r]);
#pragma GCC unroll 2
      for (int v = 0; v < Vectors; ++v) acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
    }
  }
  const bool clamp = t.last && e.bounded;
  const float* residual = t.last ? e.residual : nullptr;
#pragma GCC unroll 8
  for (int r = 0; r < Rows; ++r) {
    if (r >= t.rows) break;
#pragma GCC unroll 2
    for (int v = 0; v < Vectors; ++v) {
      __m512 sum = acc[r][v];
      if (residual)
        sum = _mm512_add_ps(sum, load16<Full>(residual + r * t.pitch + 16 * v, mask[v]));
      if (clamp) sum = clamp16(sum, e.activation);
      float* out = t.out + r * t.pitch + 16 * v;
      if (Full)
        _mm512_storeu_ps(out, sum);
      else
        _mm512_mask_storeu_ps(out, mask[v], sum);
    }
  }
}

// TileShape::edge: a strip of fewer than 32 columns, in one zmm where it fits.
template <int Rows>
QDQ_FP32_AVX512_TARGET void edge_tile(const float* a, const float* b, const int64_t* rows,
                                      int64_t depth, const TileTarget& t, const Epilogue& e) {
  if (t.columns == 16) return tile<Rows, 1, true>(a, b, rows, depth, t, e);
  if (t.columns < 16) return tile<Rows, 1, false>(a, b, rows, depth, t, e);
  tile<Rows, 2, false>(a, b, rows, depth, t, e);
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
  using fp32conv::edge_tile;
  using fp32conv::tile;
  static const fp32conv::Tiles tiles{
      {{6, fp32conv::kAvx512StripColumns, tile<6, 2, true>, edge_tile<6>},
       {8, fp32conv::kAvx512StripColumns, tile<8, 2, true>, edge_tile<8>}},
      2,
      fp32conv::kAvx512StripColumns,
      fp32conv::depthwise_sums};
  fp32conv::run(ctx, tiles);
}

}  // namespace qdq
