// QuantizeLinear and DequantizeLinear per tensor on AVX2: the reference's float
// steps eight lanes at a time (divps is IEEE division, as the scalar x / scale
// is; roundps to nearest even; NaN to the zero point; clamp; convert), so the
// results are the reference's bit for bit. Per-axis parameters and int32 inputs
// take the reference kernels. Between integer layers these are the edges of
// the float islands (TensorRT-style QAT graphs quantize every conv input).
#include "runtime/reference/quantize.h"

#include <immintrin.h>

#include "runtime/kernels/avx2/quantize.h"
#include "runtime/kernels/registry.h"
#include "runtime/reference/quant_params.h"
#include "support/parallel.h"

#define QDQ_TARGET __attribute__((target("avx2")))

namespace qdq {
namespace {

constexpr int64_t kChunk = 1 << 14;  // elements per thread's work item

bool per_tensor(const OpContext& ctx) {
  const Tensor* zero = ctx.optional_input(2);
  return ctx.input(1).numel() == 1 && zero && zero->numel() == 1 &&
         (zero->dtype() == DType::kUInt8 || zero->dtype() == DType::kInt8);
}

template <typename Q>
QDQ_TARGET void dequantize_run(const Q* x, int64_t n, float scale, int32_t zero, float* out) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i z = _mm256_set1_epi32(zero);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(x + i));
    const __m256i v =
        std::is_same_v<Q, int8_t> ? _mm256_cvtepi8_epi32(bytes) : _mm256_cvtepu8_epi32(bytes);
    _mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  for (; i < n; ++i) out[i] = dequantize_value(x[i], scale, zero);
}

// Splits [0, n) into chunks over the threads (one chunk: no parallel region).
template <typename Fn>
void for_chunks(int64_t n, Fn&& fn) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  parallel_for(chunks, chunks > 1,
               [&](int64_t c) { fn(c * kChunk, std::min(n, (c + 1) * kChunk) - c * kChunk); });
}

}  // namespace

void quantize_linear_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::kFloat32 || !per_tensor(ctx)) return quantize_linear_reference(ctx);
  const float scale = read_scale(ctx, ctx.input(1), "y_scale");
  const int32_t zero = read_zero_point(ctx, ctx.optional_input(2), "y_zero_point");
  Tensor& y = ctx.allocate_output(0, ctx.input(2).dtype(), x.shape());
  dispatch_types<uint8_t, int8_t>(ctx, y.dtype(), [&](auto tag) {
    using Q = decltype(tag);
    for_chunks(x.numel(), [&](int64_t first, int64_t n) {
      quantize_floats<Q>(x.data<float>() + first, n, scale, zero, y.data<Q>() + first);
    });
  });
}

void dequantize_linear_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  if (!per_tensor(ctx) || ctx.input(2).dtype() != x.dtype())
    return dequantize_linear_reference(ctx);
  const float scale = read_scale(ctx, ctx.input(1), "x_scale");
  const int32_t zero = read_zero_point(ctx, ctx.optional_input(2), "x_zero_point");
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, x.shape());
  dispatch_types<uint8_t, int8_t>(ctx, x.dtype(), [&](auto tag) {
    using Q = decltype(tag);
    for_chunks(x.numel(), [&](int64_t first, int64_t n) {
      dequantize_run<Q>(x.data<Q>() + first, n, scale, zero, y.data<float>() + first);
    });
  });
}

}  // namespace qdq
