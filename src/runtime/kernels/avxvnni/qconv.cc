// ai.qdq.QConv with AVX-VNNI: the VEX vpdpbusd on ymm, for the cores with
// AVX-VNNI but no AVX-512 (Intel's since Alder Lake). It multiplies 4 uint8
// activations by 4 int8 weights and adds the products to an int32 lane with
// no intermediate saturation, so it takes every weight, -128 included, as
// bytes (AVX2's kernel widens to 16-bit words for that), in the unsigned
// domain (int8 activations are flipped as AVX-512 VNNI's are). A block of 16
// channels is two ymm; tiles of up to 6 pixels keep 12 accumulators beside
// the two weight vectors and the broadcast, within the 16 ymm registers.
//
// The epilogue and the depthwise kernel are AVX2's (Avx2EpilogueOps).
#include "runtime/kernels/avx2/qconv_ops.h"
#include "runtime/kernels/registry.h"

#define QDQ_AVXVNNI_TARGET __attribute__((target("avx2,avxvnni")))

namespace qdq {
namespace {

// Flip: rows of an input of the other signedness, flipped as loaded.
template <int Rows, bool Flip>
QDQ_AVXVNNI_TARGET void tile(const TileRows& a, const int8_t* w, int32_t* acc) {
  __m256i c[Rows][2];
  for (int r = 0; r < Rows; ++r) c[r][0] = c[r][1] = _mm256_setzero_si256();
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80808080u));
  for (int s = 0; s < a.segments; ++s) {
    const uint8_t* base = a.segment[static_cast<size_t>(s)];
    for (int64_t q = 0; q < a.quads; ++q, w += 4 * kQConvBlock) {
      const __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w));
      const __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w + 32));
      const uint8_t* row = base + 4 * q;
#pragma GCC unroll 6
      for (int r = 0; r < Rows; ++r, row += a.stride) {
        __m256i av = _mm256_set1_epi32(tile_quad(row));
        if constexpr (Flip) av = _mm256_xor_si256(av, flip);
        c[r][0] = _mm256_dpbusd_avx_epi32(c[r][0], av, w0);
        c[r][1] = _mm256_dpbusd_avx_epi32(c[r][1], av, w1);
      }
    }
  }
  for (int r = 0; r < Rows; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kQConvBlock), c[r][0]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(acc + r * kQConvBlock + 8), c[r][1]);
  }
}

struct AvxVnniOps : avx2::Avx2EpilogueOps {
  static constexpr ActivationDomain kDomain = ActivationDomain::kUnsigned;
  static constexpr TileShape kTileShapes[] = {{6, 1}, {4, 1}};
  static bool accepts(const QConvPacked&) { return true; }

  static void gemm_tile(const QConvPacked& p, int rows, int, int64_t block, const TileRows& a,
                        int32_t* acc) {
    const int8_t* w = qconv_block_weights(p, block);
    if (rows == 6)
      a.flip ? tile<6, true>(a, w, acc) : tile<6, false>(a, w, acc);
    else
      a.flip ? tile<4, true>(a, w, acc) : tile<4, false>(a, w, acc);
  }
};

}  // namespace

void qconv_avxvnni(OpContext& ctx) { qconv_run<AvxVnniOps>(ctx); }

}  // namespace qdq
