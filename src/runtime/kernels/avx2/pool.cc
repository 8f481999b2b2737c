// The channels-last pools on AVX2. GlobalAveragePool: eight channels per
// vector, each still summed pixel by pixel in the reference's order, then
// divided as the reference divides, so the bits agree. MaxPool on 8-bit
// tensors: 32 channels per vector; a maximum is exact in any order.
#include "runtime/reference/pool.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "graph/quantization.h"
#include "runtime/kernels/avx2/quantize.h"
#include "runtime/kernels/registry.h"
#include "support/parallel.h"

#define QDQ_TARGET __attribute__((target("avx2")))

namespace qdq {
namespace {

// Eight channels' values of pixel i from channel c, in float: an 8-bit
// element dequantized, (x - zero) * scale, as the reference does.
template <typename X>
QDQ_TARGET __m256 channels8(const X* x, int64_t at, __m256i zero, __m256 scale) {
  if constexpr (std::is_same_v<X, float>) {
    return _mm256_loadu_ps(x + at);
  } else {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + at));
    const __m256i v =
        std::is_same_v<X, int8_t> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    return _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, zero)), scale);
  }
}

// The means of `channels` channels over `pixels` pixels, each channel summed
// pixel by pixel in the reference's order. Four vectors of eight channels at
// a time: four independent chains of additions, where one chain waited on
// each add's latency (MobileNetV2's pool at batch 32, with the vector
// quantization below: 131 -> 52 us).
template <typename X>
QDQ_TARGET void average_channels(const X* x, const GlobalPoolParams& p, float* out) {
  const int64_t pixels = p.pixels, channels = p.channels;
  const __m256 count = _mm256_set1_ps(static_cast<float>(pixels));
  const __m256 scale = _mm256_set1_ps(p.x_scale);
  const __m256i zero = _mm256_set1_epi32(p.x_zero);
  int64_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256 sum[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    for (int64_t i = 0; i < pixels; ++i)
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k)
        sum[k] = _mm256_add_ps(sum[k], channels8(x, i * channels + c + 8 * k, zero, scale));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) _mm256_storeu_ps(out + c + 8 * k, _mm256_div_ps(sum[k], count));
  }
  for (; c + 8 <= channels; c += 8) {
    __m256 sum = _mm256_setzero_ps();
    for (int64_t i = 0; i < pixels; ++i)
      sum = _mm256_add_ps(sum, channels8(x, i * channels + c, zero, scale));
    _mm256_storeu_ps(out + c, _mm256_div_ps(sum, count));
  }
  for (; c < channels; ++c) {
    float sum = 0.0f;
    for (int64_t i = 0; i < pixels; ++i) {
      if constexpr (std::is_same_v<X, float>)
        sum += x[i * channels + c];
      else
        sum += dequantize_value(x[i * channels + c], p.x_scale, p.x_zero);
    }
    out[c] = sum / static_cast<float>(pixels);
  }
}

// The maximum over `taps` pixels (element offsets from `x`) of each of
// `channels` 8-bit channels.
template <typename T>
QDQ_TARGET void max_of_taps(const T* x, const int64_t* taps, int64_t tap_count, int64_t channels,
                            T* out) {
  constexpr bool kSigned = std::is_signed_v<T>;
  int64_t c = 0;
  for (; c + 32 <= channels; c += 32) {
    __m256i best = _mm256_set1_epi8(static_cast<char>(std::numeric_limits<T>::lowest()));
    for (int64_t t = 0; t < tap_count; ++t) {
      const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + taps[t] + c));
      best = kSigned ? _mm256_max_epi8(best, v) : _mm256_max_epu8(best, v);
    }
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + c), best);
  }
  for (; c < channels; ++c) {
    T best = std::numeric_limits<T>::lowest();
    for (int64_t t = 0; t < tap_count; ++t) best = std::max(best, x[taps[t] + c]);
    out[c] = best;
  }
}

// The kernels' per-thread buffers (thread_buffer).
enum class PoolBuffer { kTaps, kMeans };

template <typename T>
void max_pool_nhwc(const Tensor& x, const SpatialGeometry& g, Tensor& y) {
  const int64_t height = g.in[1], width = g.in[2], channels = x.dim(3);
  const int64_t rows = x.dim(0) * g.out[1];
  parallel_for(rows, rows * g.out[2] * channels > 16384, [&](int64_t row) {
    const int64_t n = row / g.out[1], oh = row % g.out[1];
    const T* image = x.data<T>() + n * height * width * channels;
    T* out = y.data<T>() + row * g.out[2] * channels;
    int64_t* const taps =
        thread_buffer<int64_t, PoolBuffer::kTaps>(static_cast<size_t>(g.kernel[1] * g.kernel[2]));
    for (int64_t ow = 0; ow < g.out[2]; ++ow) {
      int64_t count = 0;
      for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
        const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
        if (ih < 0 || ih >= height) continue;
        for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
          const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
          if (iw >= 0 && iw < width)
            taps[static_cast<size_t>(count++)] = (ih * width + iw) * channels;
        }
      }
      max_of_taps(image, taps, count, channels, out + ow * channels);
    }
  });
}

}  // namespace

void max_pool_nhwc_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const SpatialGeometry g = max_pool_nhwc_geometry(ctx, x);
  Tensor& y = ctx.allocate_output(0, x.dtype(), {x.dim(0), g.out[1], g.out[2], x.dim(3)});
  if (x.dtype() == DType::kInt8)
    max_pool_nhwc<int8_t>(x, g, y);
  else
    max_pool_nhwc<uint8_t>(x, g, y);
}

void global_average_pool_nhwc_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const GlobalPoolParams p = read_global_pool_params(ctx);
  Tensor& y = ctx.allocate_output(0, p.y_type, {x.dim(0), 1, 1, p.channels});
  parallel_for(x.dim(0), x.dim(0) > 1, [&](int64_t n) {
    float* const means = thread_buffer<float, PoolBuffer::kMeans>(static_cast<size_t>(p.channels));
    const int64_t at = n * p.pixels * p.channels;
    if (x.dtype() == DType::kFloat32)
      average_channels(x.data<float>() + at, p, means);
    else if (x.dtype() == DType::kUInt8)
      average_channels(x.data<uint8_t>() + at, p, means);
    else
      average_channels(x.data<int8_t>() + at, p, means);
    // An 8-bit mean quantized eight lanes at a time (store_means's scalar
    // division per channel took three times the averaging).
    if (y.dtype() == DType::kUInt8)
      quantize_floats(means, p.channels, p.y_scale, p.y_zero, y.data<uint8_t>() + n * p.channels);
    else if (y.dtype() == DType::kInt8)
      quantize_floats(means, p.channels, p.y_scale, p.y_zero, y.data<int8_t>() + n * p.channels);
    else
      store_means(p, means, y, n * p.channels);
  });
}

}  // namespace qdq
