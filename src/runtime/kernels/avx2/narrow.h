// Storing 16 (or 8) int32 lanes as bytes, for the AVX2 kernels that requantize.
// Only AVX2 files include it: the target attribute keeps these inline
// functions from being emitted for other CPUs.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <type_traits>

namespace qdq {

// out[0..16) = lanes of lo (0-7) then hi (8-15), which already lie in Q's
// range: the saturating packs only narrow.
template <typename Q>
__attribute__((target("avx2"))) inline void store_narrowed16(Q* out, __m256i lo, __m256i hi) {
  const __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(lo, hi), 0xD8);
  const __m128i a = _mm256_castsi256_si128(words), b = _mm256_extracti128_si256(words, 1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   std::is_same_v<Q, int8_t> ? _mm_packs_epi16(a, b) : _mm_packus_epi16(a, b));
}

// out[0..8) = the eight lanes of v, which already lie in Q's range.
template <typename Q>
__attribute__((target("avx2"))) inline void store_narrowed8(Q* out, __m256i v) {
  const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  _mm_storel_epi64(reinterpret_cast<__m128i*>(out), std::is_same_v<Q, int8_t>
                                                        ? _mm_packs_epi16(words, words)
                                                        : _mm_packus_epi16(words, words));
}

}  // namespace qdq
