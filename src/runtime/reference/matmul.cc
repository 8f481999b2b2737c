// Matrix products: Gemm, MatMul (float) and MatMulInteger, QLinearMatMul
// (integer, exact). MatMul-style ops broadcast batch dims like numpy.matmul.
#include "runtime/reference/matmul.h"

#include "runtime/kernels/requantize.h"
#include "runtime/reference/quant_params.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {
namespace {

// c[m][n] += sum_k (a[m][k] - a_zero[m]) * (b[k][n] - b_zero[n]), with element
// strides so transposed operands need no copy.
template <typename TA, typename TB, typename TAcc>
void matmul_accumulate(int64_t M, int64_t K, int64_t N, const TA* a, int64_t a_row, int64_t a_col,
                       const TAcc* a_zero, const TB* b, int64_t b_row, int64_t b_col,
                       const TAcc* b_zero, TAcc* c) {
  parallel_for(M, true, [&](int64_t m) {
    for (int64_t k = 0; k < K; ++k) {
      const TAcc av = static_cast<TAcc>(a[m * a_row + k * a_col]) - a_zero[m];
      for (int64_t n = 0; n < N; ++n)
        c[m * N + n] += av * (static_cast<TAcc>(b[k * b_row + n * b_col]) - b_zero[n]);
    }
  });
}

// numpy.matmul shape rules: 1-D operands are promoted and the added dim removed.
struct MatMulShape {
  int64_t M = 0, K = 0, N = 0;
  Shape batch, output;
  std::vector<int64_t> a_batch_offset, b_batch_offset;  // per output batch, in matrices
};

MatMulShape matmul_shape(const OpContext& ctx, const Shape& a_in, const Shape& b_in) {
  ctx.require(!a_in.empty() && !b_in.empty(), "MatMul of a scalar");
  Shape a = a_in.size() == 1 ? Shape{1, a_in[0]} : a_in;
  Shape b = b_in.size() == 1 ? Shape{b_in[0], 1} : b_in;
  MatMulShape s;
  s.M = a[a.size() - 2];
  s.K = a.back();
  s.N = b.back();
  ctx.require(b[b.size() - 2] == s.K, [&] {
    return "inner dimensions differ: " + shape_to_string(a_in) + " x " + shape_to_string(b_in);
  });
  Shape a_batch(a.begin(), a.end() - 2), b_batch(b.begin(), b.end() - 2);
  s.batch = broadcast_shapes(ctx, a_batch, b_batch);
  s.a_batch_offset = broadcast_index_map(a_batch, s.batch);
  s.b_batch_offset = broadcast_index_map(b_batch, s.batch);
  s.output = s.batch;
  if (a_in.size() > 1) s.output.push_back(s.M);
  if (b_in.size() > 1) s.output.push_back(s.N);
  return s;
}

template <typename TA, typename TB, typename TAcc>
void batched_matmul(const MatMulShape& s, const TA* a, const std::vector<TAcc>& a_zero, const TB* b,
                    const std::vector<TAcc>& b_zero, TAcc* c) {
  for (size_t i = 0; i < s.a_batch_offset.size(); ++i)
    matmul_accumulate<TA, TB, TAcc>(s.M, s.K, s.N, a + s.a_batch_offset[i] * s.M * s.K, s.K, 1,
                                    a_zero.data(), b + s.b_batch_offset[i] * s.K * s.N, s.N, 1,
                                    b_zero.data(), c + static_cast<int64_t>(i) * s.M * s.N);
}

void matmul(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ctx.require(a.dtype() == DType::kFloat32 && b.dtype() == DType::kFloat32,
              "expects float32 inputs");
  MatMulShape s = matmul_shape(ctx, a.shape(), b.shape());
  Tensor y(DType::kFloat32, s.output);
  batched_matmul<float, float, float>(s, a.data<float>(), std::vector<float>(s.M, 0.0f),
                                      b.data<float>(), std::vector<float>(s.N, 0.0f),
                                      y.data<float>());
  ctx.output(0) = std::move(y);
}

// a's zero point is per tensor or per row (M); b's per tensor or per column (N).
void integer_matmul(const OpContext& ctx, const MatMulShape& s, const Tensor& a,
                    const std::vector<int32_t>& a_zero, const Tensor& b,
                    const std::vector<int32_t>& b_zero, int32_t* acc) {
  dispatch_quantized_pair(ctx, a.dtype(), b.dtype(), [&](auto at, auto bt) {
    using TA = decltype(at);
    using TB = decltype(bt);
    batched_matmul<TA, TB, int32_t>(s, a.data<TA>(), a_zero, b.data<TB>(), b_zero, acc);
  });
}

void matmul_integer(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  MatMulShape s = matmul_shape(ctx, a.shape(), b.shape());
  auto a_zero = read_zero_points(ctx, ctx.optional_input(2), s.M, "a_zero_point");
  auto b_zero = read_zero_points(ctx, ctx.optional_input(3), s.N, "b_zero_point");
  Tensor y(DType::kInt32, s.output);
  integer_matmul(ctx, s, a, a_zero, b, b_zero, y.data<int32_t>());
  ctx.output(0) = std::move(y);
}

void qlinear_matmul(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  MatMulShape s = matmul_shape(ctx, a.shape(), b.shape());
  auto a_scale = read_scales(ctx, ctx.input(1), s.M, "a_scale");
  auto a_zero = read_zero_points(ctx, &ctx.input(2), s.M, "a_zero_point");
  auto b_scale = read_scales(ctx, ctx.input(4), s.N, "b_scale");
  auto b_zero = read_zero_points(ctx, &ctx.input(5), s.N, "b_zero_point");
  const float y_scale = read_scale(ctx, ctx.input(6), "y_scale");
  Tensor acc(DType::kInt32, s.output);
  integer_matmul(ctx, s, a, a_zero, b, b_zero, acc.data<int32_t>());
  ctx.output(0) = requantize_accumulators(ctx, acc, ctx.input(7), [&](int64_t i) {
    return requantize_multiplier(a_scale[(i / s.N) % s.M], b_scale[i % s.N], y_scale);
  });
}

}  // namespace

void gemm_reference(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  ctx.require(a.dtype() == DType::kFloat32 && b.dtype() == DType::kFloat32,
              "expects float32 inputs");
  ctx.require(a.rank() == 2 && b.rank() == 2, [&] {
    return "expects 2-D inputs, got " + shape_to_string(a.shape()) + " and " +
           shape_to_string(b.shape());
  });
  const bool ta = ctx.attrs().get_int("transA", 0) != 0;
  const bool tb = ctx.attrs().get_int("transB", 0) != 0;
  const float alpha = ctx.attrs().get_float("alpha", 1.0f);
  const float beta = ctx.attrs().get_float("beta", 1.0f);
  const int64_t M = ta ? a.dim(1) : a.dim(0), K = ta ? a.dim(0) : a.dim(1);
  const int64_t N = tb ? b.dim(0) : b.dim(1), Kb = tb ? b.dim(1) : b.dim(0);
  ctx.require(K == Kb, [&] {
    return "inner dimensions differ: " + shape_to_string(a.shape()) + " x " +
           shape_to_string(b.shape());
  });
  Tensor y(DType::kFloat32, {M, N});
  std::vector<float> zeros(static_cast<size_t>(std::max(M, N)), 0.0f);
  matmul_accumulate<float, float, float>(M, K, N, a.data<float>(), ta ? 1 : K, ta ? M : 1,
                                         zeros.data(), b.data<float>(), tb ? 1 : N, tb ? K : 1,
                                         zeros.data(), y.data<float>());
  float* out = y.data<float>();
  for (int64_t i = 0; i < M * N; ++i) out[i] *= alpha;
  if (const Tensor* c = ctx.optional_input(2)) {
    ctx.require(c->dtype() == DType::kFloat32, "C must be float32");
    Shape full = broadcast_shapes(ctx, c->shape(), {M, N});
    ctx.require(full == Shape({M, N}), [&] {
      return "C " + shape_to_string(c->shape()) + " does not broadcast to [M, N]";
    });
    auto map = broadcast_index_map(c->shape(), {M, N});
    for (int64_t i = 0; i < M * N; ++i) out[i] += beta * c->data<float>()[map[i]];
  }
  ctx.output(0) = std::move(y);
}

void add_matmul_ops(ReferenceOpTable& table) {
  table["Gemm"] = gemm_reference;
  table["MatMul"] = matmul;
  table["MatMulInteger"] = matmul_integer;
  table["QLinearMatMul"] = qlinear_matmul;
}

}  // namespace qdq
