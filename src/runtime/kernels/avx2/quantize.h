// QuantizeLinear's steps on AVX2, sixteen floats at a time, for the kernels
// that end in a per-tensor quantization (QuantizeLinear, the 8-bit
// GlobalAveragePool): divps is IEEE division as the scalar x / scale is,
// roundps to nearest even, NaN to the zero point, clamp, convert, so the bytes
// are quantize_value's. Only AVX2 files include it (narrow.h's reason).
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "graph/quantization.h"
#include "runtime/kernels/avx2/narrow.h"

namespace qdq {

template <typename Q>
__attribute__((target("avx2"))) inline void quantize_floats(const float* x, int64_t n, float scale,
                                                            int32_t zero, Q* out) {
  const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps(static_cast<float>(zero));
  const __m256 lo = _mm256_set1_ps(quant_min<Q>()), hi = _mm256_set1_ps(quant_max<Q>());
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i q[2];
    for (int half = 0; half < 2; ++half) {
      __m256 v = _mm256_div_ps(_mm256_loadu_ps(x + i + 8 * half), s);
      v = _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      v = _mm256_blendv_ps(v, _mm256_setzero_ps(), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      q[half] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(v, z), lo), hi));
    }
    store_narrowed16(out + i, q[0], q[1]);
  }
  for (; i < n; ++i) out[i] = quantize_value<Q>(x[i], scale, zero);
}

}  // namespace qdq
