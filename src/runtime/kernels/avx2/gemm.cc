// FP32 Gemm on AVX2+FMA with Eigen's GEMM: Y = alpha * op(A) * op(B) + beta * C
// for the classifiers of CNNs (C absent, or a row of N biases); other shapes
// of C go to the reference kernel. Float sums in another order than the
// reference's: the results agree to rounding (tests/runtime/kernels/
// gemm_fp32_kernel_test.cc). Compiled with -mavx2 -mfma, like avx2/conv.cc
// and for the same reason.
#include <Eigen/Core>

#include "runtime/kernels/registry.h"
#include "runtime/reference/matmul.h"
#include "support/parallel.h"

namespace qdq {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMajor>;

// C as one bias per output column: [N] or [1, N].
bool is_column_bias(const Tensor& c, int64_t n) {
  return c.dtype() == DType::kFloat32 && c.numel() == n &&
         (c.rank() == 1 || (c.rank() == 2 && c.dim(0) == 1));
}

}  // namespace

void gemm_fp32_avx2(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(1);
  const Tensor* c = ctx.optional_input(2);
  if (a.dtype() != DType::kFloat32 || b.dtype() != DType::kFloat32 || a.rank() != 2 ||
      b.rank() != 2)
    return gemm_reference(ctx);  // which says what is wrong
  const bool ta = ctx.attrs().get_int("transA", 0) != 0;
  const bool tb = ctx.attrs().get_int("transB", 0) != 0;
  const int64_t m = ta ? a.dim(1) : a.dim(0), k = ta ? a.dim(0) : a.dim(1);
  const int64_t n = tb ? b.dim(0) : b.dim(1), kb = tb ? b.dim(1) : b.dim(0);
  if (k != kb || (c && !is_column_bias(*c, n))) return gemm_reference(ctx);
  const float alpha = ctx.attrs().get_float("alpha", 1.0f);
  const float beta = ctx.attrs().get_float("beta", 1.0f);
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, {m, n});
  Eigen::Map<RowMajor> all_out(y.data<float>(), m, n);
  ConstMatrixMap a_map(a.data<float>(), a.dim(0), a.dim(1));
  ConstMatrixMap b_map(b.data<float>(), b.dim(0), b.dim(1));
  // Output columns [c0, c0 + w).
  const auto columns = [&](int64_t c0, int64_t w) {
    auto out = all_out.middleCols(c0, w);
    if (c)
      out.rowwise() = beta * Eigen::Map<const Eigen::RowVectorXf>(c->data<float>() + c0, w);
    else
      out.setZero();
    if (ta && tb)
      out.noalias() += alpha * (a_map.transpose() * b_map.middleRows(c0, w).transpose());
    else if (ta)
      out.noalias() += alpha * (a_map.transpose() * b_map.middleCols(c0, w));
    else if (tb)
      out.noalias() += alpha * (a_map * b_map.middleRows(c0, w).transpose());
    else
      out.noalias() += alpha * (a_map * b_map.middleCols(c0, w));
  };
  // Eigen's own threads stay off inside the run's OpenMP region: a GEMM
  // worth threads splits its columns, in 16s, one part per thread.
  if (m * n * k < (int64_t{1} << 22)) return columns(0, n);
  parallel_region([&](int, int) {
    const auto [first, end] = thread_range((n + 15) / 16);
    const int64_t c0 = first * 16, c1 = std::min(n, end * 16);
    if (c1 > c0) columns(c0, c1 - c0);
  });
}

}  // namespace qdq
