// FP32 Conv and ai.qdq.Conv (Conv + fused Relu/Clip) on AVX2+FMA: an image's
// windows gathered into a [C*kernel, pixels] matrix (im2col, one column chunk
// per thread; a 1x1 stride-1 unpadded conv reads its input as that matrix
// directly), multiplied by the [M, C*kernel] weights with Eigen's GEMM on top
// of the bias, then clamped. Float sums in another order than the reference's direct loop: the
// results agree to rounding (tests/runtime/kernels/conv_fp32_kernel_test.cc
// bounds it), as any two FP32 convolutions do.
//
// This file alone is compiled with -mavx2 -mfma (Eigen picks its vector
// width at compile time), and uses no standard-library templates, so no
// AVX2 copy of a shared inline function can leak to CPUs without AVX2.
#include <omp.h>

#include <Eigen/Core>
#include <cstring>
#include <limits>

#include "runtime/kernels/registry.h"
#include "runtime/reference/spatial.h"

namespace qdq {
namespace {

using RowMajor = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixMap = Eigen::Map<RowMajor>;
using ConstMatrixMap = Eigen::Map<const RowMajor>;

// Not std::min/std::clamp: this file's copies of shared templates would be
// AVX2 code the linker may pick for every caller (see the file comment).
int64_t smaller(int64_t a, int64_t b) { return a < b ? a : b; }
int64_t clamped(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

using StridedMap = Eigen::Map<RowMajor, 0, Eigen::OuterStride<>>;
using ConstStridedMap = Eigen::Map<const RowMajor, 0, Eigen::OuterStride<>>;

// Rows (c, k0, k1, k2) x columns (output pixels p0 .. p1) of one group of one
// image; taps in the padding are 0. Each output row's run is zeros, the
// columns whose tap lands in the input row (one copy at stride 1), zeros:
// the gather, not the GEMM, was most of a narrow layer's time (ResNet-20's
// 16-channel 3x3 layers: 9 gathered values per multiply-add row of 16).
void gather_windows(const ConvShape& s, const float* x, int64_t p0, int64_t p1, float* cols) {
  const SpatialGeometry& g = s.geometry;
  const int64_t rows = s.in_channels / s.group * g.kernel_size(), width = p1 - p0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t k2 = r % g.kernel[2], k1 = (r / g.kernel[2]) % g.kernel[1],
                  k0 = (r / (g.kernel[2] * g.kernel[1])) % g.kernel[0], c = r / g.kernel_size();
    const float* plane = x + c * g.in_size();
    const ColumnRange inside = tap_columns(g, k2);
    const int64_t offset = k2 * g.dilation[2] - g.pad_begin[2];
    float* out = cols + r * width;
    for (int64_t p = p0; p < p1;) {  // one output row's run at a time
      const int64_t o2 = p % g.out[2], o1 = p / g.out[2] % g.out[1], o0 = p / g.out[2] / g.out[1];
      const int64_t run = smaller(g.out[2] - o2, p1 - p);
      const int64_t i0 = o0 * g.stride[0] - g.pad_begin[0] + k0 * g.dilation[0];
      const int64_t i1 = o1 * g.stride[1] - g.pad_begin[1] + k1 * g.dilation[1];
      const bool row_inside = i0 >= 0 && i0 < g.in[0] && i1 >= 0 && i1 < g.in[1];
      // Output columns [begin, end) of this run read the input row.
      const int64_t begin = row_inside ? clamped(inside.begin, o2, o2 + run) : o2 + run;
      const int64_t end = row_inside ? clamped(inside.end, begin, o2 + run) : o2 + run;
      const float* row = row_inside ? plane + (i0 * g.in[1] + i1) * g.in[2] + offset : plane;
      for (int64_t o = o2; o < begin; ++o) *out++ = 0.0f;
      if (g.stride[2] == 1) {
        std::memcpy(out, row + begin, static_cast<size_t>(end - begin) * sizeof(float));
        out += end - begin;
      } else {
        for (int64_t o = begin; o < end; ++o) *out++ = row[o * g.stride[2]];
      }
      for (int64_t o = end; o < o2 + run; ++o) *out++ = 0.0f;
      p += run;
    }
  }
}

bool reads_input_directly(const SpatialGeometry& g) {
  for (int d = 0; d < 3; ++d)
    if (g.kernel[d] != 1 || g.stride[d] != 1 || g.pad_begin[d] != 0 || g.pad_end[d] != 0)
      return false;
  return true;
}

// Output channels m0 .. m1 at pixels p0 .. p1 of one group of one image: bias
// first, then the product of the weights and the gathered windows. Called
// inside a parallel region, where Eigen multiplies on the calling thread.
void convolve_part(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                   int64_t m0, int64_t m1, int64_t p0, int64_t p1, Eigen::VectorXf& scratch) {
  const SpatialGeometry& g = s.geometry;
  const int64_t depth = s.in_channels / s.group * g.kernel_size(), pixels = g.out_size();
  const int64_t width = p1 - p0;
  const bool direct = reads_input_directly(g);
  if (!direct) {
    if (scratch.size() < depth * width) scratch.resize(depth * width);
    gather_windows(s, x, p0, p1, scratch.data());
  }
  ConstStridedMap cols(direct ? x + p0 : scratch.data(), depth, width,
                       Eigen::OuterStride<>(direct ? pixels : width));
  ConstMatrixMap weights(w + m0 * depth, m1 - m0, depth);
  StridedMap out(y + m0 * pixels + p0, m1 - m0, width, Eigen::OuterStride<>(pixels));
  if (bias)
    out.colwise() = Eigen::Map<const Eigen::VectorXf>(bias + m0, m1 - m0);
  else
    out.setZero();
  out.noalias() += weights * cols;
}

// One image, every group, on the calling thread.
void convolve_image(const ConvShape& s, const float* x, const float* w, const float* bias, float* y,
                    Eigen::VectorXf& scratch) {
  const SpatialGeometry& g = s.geometry;
  const int64_t cg = s.in_channels / s.group, mg = s.out_channels / s.group;
  const int64_t depth = cg * g.kernel_size();
  for (int64_t grp = 0; grp < s.group; ++grp)
    convolve_part(s, x + grp * cg * g.in_size(), w + grp * mg * depth,
                  bias ? bias + grp * mg : nullptr, y + grp * mg * g.out_size(), 0, mg, 0,
                  g.out_size(), scratch);
}

// Batch 1 of a group-1 conv, split over the threads in one parallel region:
// column chunks of at least 64 output pixels, and row (output channel) parts
// where there are fewer chunks than threads. Eigen's own split would start
// its threads for every product and cut small ones too fine.
void convolve_image_split(const ConvShape& s, const float* x, const float* w, const float* bias,
                          float* y) {
  const int64_t pixels = s.geometry.out_size(), m = s.out_channels;
  const int64_t threads = omp_get_max_threads();
  const int64_t pixel_parts = clamped(pixels / 64, 1, threads);
  const int64_t channel_parts = clamped(threads / pixel_parts, 1, m / 16 > 1 ? m / 16 : 1);
  const int64_t parts = pixel_parts * channel_parts;
#pragma omp parallel
  {
    thread_local Eigen::VectorXf scratch;
#pragma omp for schedule(static)
    for (int64_t part = 0; part < parts; ++part) {
      const int64_t pp = part % pixel_parts, mp = part / pixel_parts;
      // Channel parts in multiples of 8 (Eigen's register block).
      const int64_t m0 = smaller(m, (m * mp / channel_parts + 7) / 8 * 8);
      const int64_t m1 =
          mp + 1 == channel_parts ? m : smaller(m, (m * (mp + 1) / channel_parts + 7) / 8 * 8);
      if (m0 < m1)
        convolve_part(s, x, w, bias, y, m0, m1, pixels * pp / pixel_parts,
                      pixels * (pp + 1) / pixel_parts, scratch);
    }
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
  ctx.require(!bias || (bias->dtype() == DType::kFloat32 && bias->numel() == s.out_channels), [&] {
    return "bias must be float32 of " + std::to_string(s.out_channels) + " values";
  });
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, s.output_shape);
  const int64_t x_image = s.in_channels * s.geometry.in_size();
  const int64_t y_image = s.out_channels * s.geometry.out_size();
  const float* b = bias ? bias->data<float>() : nullptr;
  // Batch 1: the product split over the threads; larger batches: one image
  // per thread. Either way Eigen multiplies inside a parallel region, on the
  // thread that calls it.
  if (s.group == s.in_channels && s.group == s.out_channels) {
    depthwise_planes(s, x.data<float>(), w.data<float>(), b, y.data<float>());
  } else if (s.batch == 1 && s.group == 1) {
    convolve_image_split(s, x.data<float>(), w.data<float>(), b, y.data<float>());
  } else {
#pragma omp parallel
    {
      thread_local Eigen::VectorXf scratch;
#pragma omp for schedule(static)
      for (int64_t n = 0; n < s.batch; ++n)
        convolve_image(s, x.data<float>() + n * x_image, w.data<float>(), b,
                       y.data<float>() + n * y_image, scratch);
    }
  }
  apply_conv_activation(conv_activation(ctx.attrs()), y.data<float>(), y.numel());
}

}  // namespace qdq
