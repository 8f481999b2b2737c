// ai.qdq.GlobalAveragePool (channels-last) on AVX2: eight channels per vector,
// each still summed pixel by pixel in the reference's order, then divided as
// the reference divides, so the bits agree.
#include "runtime/reference/pool.h"

#include <immintrin.h>

#include "runtime/kernels/registry.h"

#define QDQ_TARGET __attribute__((target("avx2")))

namespace qdq {
namespace {

QDQ_TARGET void average_channels(const float* x, int64_t pixels, int64_t channels, float* out) {
  const __m256 count = _mm256_set1_ps(static_cast<float>(pixels));
  int64_t c = 0;
  for (; c + 8 <= channels; c += 8) {
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < pixels; ++i)
      sum = _mm256_add_ps(sum, _mm256_loadu_ps(x + i * channels + c));
    _mm256_storeu_ps(out + c, _mm256_div_ps(sum, count));
  }
  for (; c < channels; ++c) {
    float sum = 0.0f;
    for (int64_t i = 0; i < pixels; ++i) sum += x[i * channels + c];
    out[c] = sum / static_cast<float>(pixels);
  }
}

}  // namespace

void global_average_pool_nhwc_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32 || x.rank() != 4) return global_average_pool_nhwc_reference(ctx);
  const int64_t pixels = x.dim(1) * x.dim(2), channels = x.dim(3);
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, {x.dim(0), 1, 1, channels});
#pragma omp parallel for schedule(static) if (x.dim(0) > 1)
  for (int64_t n = 0; n < x.dim(0); ++n)
    average_channels(x.data<float>() + n * pixels * channels, pixels, channels,
                     y.data<float>() + n * channels);
}

}  // namespace qdq
