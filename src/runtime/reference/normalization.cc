// BatchNormalization (inference) and Softmax.
#include <cmath>

#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

void batch_normalization(OpContext& ctx) {
  ctx.require(ctx.attrs().get_int("training_mode", 0) == 0 && ctx.output_count() == 1,
              "training mode is not supported (inference only)");
  // BatchNormalization before opset 9 could normalize per element (spatial=0).
  ctx.require(ctx.attrs().get_int("spatial", 1) == 1, "spatial=0 is not supported");
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32 && x.rank() >= 2, "expects a float32 [N, C, ...] input");
  const int64_t channels = x.dim(1);
  const float epsilon = ctx.attrs().get_float("epsilon", 1e-5f);
  const float* p[4];
  for (size_t i = 0; i < 4; ++i) {
    const Tensor& t = ctx.input(i + 1);
    ctx.require(t.dtype() == DType::kFloat32 && t.numel() == channels,
                "scale, B, mean and var must be float32 with one value per channel");
    p[i] = t.data<float>();
  }
  const int64_t plane = x.numel() / std::max<int64_t>(1, x.dim(0) * channels);
  Tensor y(DType::kFloat32, x.shape());
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for (int64_t n = 0; n < x.dim(0); ++n)
    for (int64_t c = 0; c < channels; ++c) {
      const float inv = 1.0f / std::sqrt(p[3][c] + epsilon);
      const int64_t base = (n * channels + c) * plane;
      for (int64_t i = 0; i < plane; ++i)
        out[base + i] = (in[base + i] - p[2][c]) * inv * p[0][c] + p[1][c];
    }
  ctx.output(0) = std::move(y);
}

// Opset >= 13 normalizes along one axis; older opsets flatten to 2-D at `axis`
// and normalize each row.
void softmax(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32, "expects float32");
  const int64_t rank = static_cast<int64_t>(x.rank());
  const bool legacy = ctx.opset() < 13;
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", legacy ? 1 : -1), rank);
  int64_t outer = 1, length = 1, inner = 1;
  for (int64_t d = 0; d < rank; ++d) {
    if (d < axis)
      outer *= x.dim(d);
    else if (d == axis || legacy)
      length *= x.dim(d);
    else
      inner *= x.dim(d);
  }
  Tensor y(DType::kFloat32, x.shape());
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      const int64_t base = o * length * inner + i;
      float mx = -INFINITY;
      for (int64_t k = 0; k < length; ++k) mx = std::max(mx, in[base + k * inner]);
      float sum = 0.0f;
      for (int64_t k = 0; k < length; ++k)
        sum += out[base + k * inner] = std::exp(in[base + k * inner] - mx);
      for (int64_t k = 0; k < length; ++k) out[base + k * inner] /= sum;
    }
  ctx.output(0) = std::move(y);
}

}  // namespace

void add_normalization_ops(ReferenceOpTable& table) {
  table["BatchNormalization"] = batch_normalization;
  table["Softmax"] = softmax;
}

}  // namespace qdq
