// FP32 Conv and ai.qdq.Conv (Conv + fused Relu/Clip) on AVX2+FMA: each image's
// windows gathered once into a [C*kernel, pixels] matrix (im2col; a 1x1
// stride-1 unpadded conv reads its input as that matrix directly), multiplied
// by the [M, C*kernel] weights with Eigen's GEMM on top of the bias, then
// clamped. Float sums in another order than the reference's direct loop: the
// results agree to rounding (tests/runtime/kernels/conv_fp32_kernel_test.cc
// bounds it), as any two FP32 convolutions do.
//
// This file alone is compiled with -mavx2 -mfma (Eigen picks its vector
// width at compile time), and uses no standard-library templates, so no
// AVX2 copy of a shared inline function can leak to CPUs without AVX2.
#include <omp.h>

#include <Eigen/Core>
#include <limits>

#include "runtime/kernels/registry.h"
#include "runtime/reference/spatial.h"

namespace qdq {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMajor>;

// Rows (c, k0, k1, k2) x columns (output pixels) of one group of one image;
// taps in the padding are 0.
void gather_windows(const ConvShape& s, const float* x, float* cols) {
  const SpatialGeometry& g = s.geometry;
  const int64_t channels = s.in_channels / s.group, pixels = g.out_size();
  const int64_t rows = channels * g.kernel_size();
#pragma omp parallel for schedule(static) if (!omp_in_parallel() && rows * pixels > 32768)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t k2 = r % g.kernel[2], k1 = (r / g.kernel[2]) % g.kernel[1],
                  k0 = (r / (g.kernel[2] * g.kernel[1])) % g.kernel[0], c = r / g.kernel_size();
    const float* plane = x + c * g.in_size();
    float* out = cols + r * pixels;
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
      const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
        const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
        const bool row_inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1];
        const float* row = plane + (i0 * g.in[1] + i1) * g.in[2];
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
          const int64_t i2 = o2 * g.stride[2] - g.pad_begin[2] + k2 * g.dilation[2];
          *out++ = row_inside && i2 >= 0 && i2 < g.in[2] ? row[i2] : 0.0f;
        }
      }
    }
  }
}

bool reads_input_directly(const SpatialGeometry& g) {
  for (int d = 0; d < 3; ++d)
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0)
      return false;
  return true;
}

// One image: y[m, pixel] for every group, bias first, then the products.
void convolve_image(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                    Eigen::VectorXf& scratch) {
  const SpatialGeometry& g = s.geometry;
  const int64_t cg = s.in_channels / s.group, mg = s.out_channels / s.group;
  const int64_t depth = cg * g.kernel_size(), pixels = g.out_size();
  const bool direct = reads_input_directly(g);
  if (!direct && scratch.size() < depth * pixels) scratch.resize(depth * pixels);
  for (int64_t grp = 0; grp < s.group; ++grp) {
    const float* group_x = x + grp * cg * g.in_size();
    if (!direct) gather_windows(s, group_x, scratch.data());
    ConstMatrixMap cols(direct ? group_x : scratch.data(), depth, pixels);
    ConstMatrixMap weights(w + grp * mg * depth, mg, depth);
    MatrixMap out(y + grp * mg * pixels, mg, pixels);
    if (bias)
      out.colwise() = Eigen::Map<const Eigen::VectorXf>(bias + grp * mg, mg);
    else
      out.setZero();
    out.noalias() += weights * cols;
  }
}

// Depthwise convs (one input and one output channel per group): a direct loop
// per channel plane, whose rows vectorize, since a GEMM with one output row
// would not pay for gathering the windows. Each output sums the bias, then
// the taps in the reference's order.
void depthwise_planes(const ConvShape& s, const float* x, const float* w, const float* bias,
                      float* y) {
  const SpatialGeometry& g = s.geometry;
#pragma omp parallel for schedule(static)
  for (int64_t plane = 0; plane < s.batch * s.out_channels; ++plane) {
    const int64_t c = plane % s.out_channels;
    const float* in = x + plane * g.in_size();
    const float* taps = w + c * g.kernel_size();
    float* out = y + plane * g.out_size();
    for (int64_t i = 0; i < g.out_size(); ++i) out[i] = bias ? bias[c] : 0.0f;
    for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0)
      for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1)
        for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
          const float tap = taps[(k0 * g.kernel[1] + k1) * g.kernel[2] + k2];
          const int64_t off2 = k2 * g.dilation[2] - g.pad_begin[2];
          const ColumnRange columns = tap_columns(g, k2);
          for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
            const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
            if (i0 < 0 || i0 >= g.in[0]) continue;
            for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
              const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
              if (i1 < 0 || i1 >= g.in[1]) continue;
              const float* row = in + (i0 * g.in[1] + i1) * g.in[2] + off2;
              float* out_row = out + (o0 * g.out[1] + o1) * g.out[2];
              if (g.stride[2] == 1)
                for (int64_t o2 = columns.begin; o2 < columns.end; ++o2)
                  out_row[o2] += tap * row[o2];
              else
                for (int64_t o2 = columns.begin; o2 < columns.end; ++o2)
                  out_row[o2] += tap * row[o2 * g.stride[2]];
            }
          }
        }
  }
}

}  // namespace

void conv_fp32_avx2(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& w = ctx.input(1);
  const Tensor* bias = ctx.optional_input(2);
  ctx.require(x.dtype() == DType::kFloat32 && w.dtype() == DType::kFloat32,
              "expects float32 input and weight");
  const ConvShape s = conv_shape(ctx, x, w);
  ctx.require(!bias || (bias->dtype() == DType::kFloat32 && bias->numel() == s.out_channels),
              "bias must be float32 of " + std::to_string(s.out_channels) + " values");
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, s.output_shape);
  const int64_t x_image = s.in_channels * s.geometry.in_size();
  const int64_t y_image = s.out_channels * s.geometry.out_size();
  const float* b = bias ? bias->data<float>() : nullptr;
  // Batch 1: Eigen splits the product over the threads; larger batches: one
  // image per thread, Eigen single-threaded inside. (Not one region with an
  // if clause: a parallel region nested in an inactive one gets a second
  // thread pool, whose spinning threads then fight the first's.)
  thread_local Eigen::VectorXf scratch;
  if (s.group == s.in_channels && s.group == s.out_channels) {
    depthwise_planes(s, x.data<float>(), w.data<float>(), b, y.data<float>());
  } else if (s.batch == 1) {
    convolve_image(s, x.data<float>(), w.data<float>(), b, y.data<float>(), scratch);
  } else {
#pragma omp parallel for schedule(static)
    for (int64_t n = 0; n < s.batch; ++n)
      convolve_image(s, x.data<float>() + n * x_image, w.data<float>(), b,
                     y.data<float>() + n * y_image, scratch);
  }
  const auto [lo, hi] = conv_activation_range(ctx.attrs());
  if (lo > -std::numeric_limits<float>::infinity() || hi < std::numeric_limits<float>::infinity()) {
    Eigen::Map<Eigen::ArrayXf> out(y.data<float>(), y.numel());
    out = out.max(lo).min(hi);
  }
}

}  // namespace qdq
