// Resize (and opset-9 Upsample's successor) in nearest and linear modes. Both
// are separable, so the N-D resize is a sequence of 1-D resizes, one per axis
// whose size or scale changes.
#include <algorithm>
#include <cmath>

#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

struct ResizeAxis {
  int64_t in = 0, out = 0;
  float scale = 1.0f;
  float resized_length = 0.0f;  // in * scale when scales are given (not floored), else out
  float roi_start = 0.0f, roi_end = 1.0f;
};

// Output coordinate -> input coordinate, per coordinate_transformation_mode.
float source_coordinate(const OpContext& ctx, const std::string& mode, const ResizeAxis& a,
                        int64_t o) {
  const float x = static_cast<float>(o);
  if (mode == "half_pixel") return (x + 0.5f) / a.scale - 0.5f;
  if (mode == "pytorch_half_pixel") return a.out > 1 ? (x + 0.5f) / a.scale - 0.5f : 0.0f;
  if (mode == "asymmetric") return x / a.scale;
  if (mode == "tf_half_pixel_for_nn") return (x + 0.5f) / a.scale;
  if (mode == "align_corners")
    return a.resized_length == 1.0f ? 0.0f
                                    : x * static_cast<float>(a.in - 1) / (a.resized_length - 1.0f);
  if (mode == "tf_crop_and_resize")
    return a.out > 1 ? a.roi_start * static_cast<float>(a.in - 1) +
                           x * (a.roi_end - a.roi_start) * static_cast<float>(a.in - 1) /
                               static_cast<float>(a.out - 1)
                     : 0.5f * (a.roi_start + a.roi_end) * static_cast<float>(a.in - 1);
  ctx.error("coordinate_transformation_mode '" + mode + "' is not supported");
}

int64_t nearest_index(const std::string& mode, float x) {
  if (mode == "floor") return static_cast<int64_t>(std::floor(x));
  if (mode == "ceil") return static_cast<int64_t>(std::ceil(x));
  const float fl = std::floor(x);
  if (x - fl == 0.5f) return static_cast<int64_t>(mode == "round_prefer_ceil" ? fl + 1.0f : fl);
  return static_cast<int64_t>(std::round(x));
}

Tensor resize_axis(const OpContext& ctx, const Tensor& x, int64_t axis, const ResizeAxis& a) {
  const Attributes& at = ctx.attrs();
  const std::string mode = at.get_string("mode", "nearest");
  const std::string coord = at.get_string("coordinate_transformation_mode",
                                          ctx.opset() < 11 ? "asymmetric" : "half_pixel");
  const std::string nearest_mode = at.get_string("nearest_mode", "round_prefer_floor");
  const float extrapolation = at.get_float("extrapolation_value", 0.0f);
  Shape out_shape = x.shape();
  out_shape[axis] = a.out;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (size_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  Tensor y(DType::kFloat32, out_shape);
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for (int64_t o = 0; o < a.out; ++o) {
    const float src = source_coordinate(ctx, coord, a, o);
    const bool outside =
        coord == "tf_crop_and_resize" && (src < 0.0f || src > static_cast<float>(a.in - 1));
    int64_t i0 = 0, i1 = 0;
    float w1 = 0.0f;
    if (mode == "nearest") {
      i0 = i1 = std::clamp<int64_t>(nearest_index(nearest_mode, src), 0, a.in - 1);
    } else {
      const float clamped = std::clamp(src, 0.0f, static_cast<float>(a.in - 1));
      i0 = static_cast<int64_t>(std::floor(clamped));
      i1 = std::min(i0 + 1, a.in - 1);
      w1 = clamped - static_cast<float>(i0);
    }
    for (int64_t p = 0; p < outer; ++p)
      for (int64_t k = 0; k < inner; ++k) {
        const float v0 = in[(p * a.in + i0) * inner + k];
        const float v1 = in[(p * a.in + i1) * inner + k];
        out[(p * a.out + o) * inner + k] = outside ? extrapolation : v0 + (v1 - v0) * w1;
      }
  }
  return y;
}

void resize(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32, "expects float32");
  const std::string mode = ctx.attrs().get_string("mode", "nearest");
  ctx.require(mode == "nearest" || mode == "linear",
              [&] { return "mode '" + mode + "' is not supported (nearest, linear are)"; });
  ctx.require(ctx.attrs().get_int("antialias", 0) == 0, "antialias is not supported");
  ctx.require(!ctx.attrs().has("axes"), "the axes attribute is not supported");
  const int64_t rank = static_cast<int64_t>(x.rank());
  // Opset 10: (X, scales). Opset 11+: (X, roi, scales, sizes).
  const Tensor* roi = ctx.opset() < 11 ? nullptr : ctx.optional_input(1);
  const Tensor* scales = ctx.optional_input(ctx.opset() < 11 ? 1 : 2);
  const Tensor* sizes = ctx.opset() < 11 ? nullptr : ctx.optional_input(3);
  if (scales && scales->numel() == 0) scales = nullptr;
  if (sizes && sizes->numel() == 0) sizes = nullptr;
  ctx.require((scales != nullptr) != (sizes != nullptr),
              "exactly one of scales and sizes must be given");
  std::vector<ResizeAxis> axes(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    ResizeAxis& a = axes[d];
    a.in = x.dim(d);
    if (scales) {
      ctx.require(scales->numel() == rank && scales->dtype() == DType::kFloat32,
                  "scales must be float32, one per dim");
      a.scale = scales->data<float>()[d];
      ctx.require(a.scale > 0.0f, "scales must be positive");
      a.resized_length = static_cast<float>(a.in) * a.scale;
      a.out = static_cast<int64_t>(std::floor(a.resized_length));
    } else {
      auto s = sizes->to_int64_vector();
      ctx.require(static_cast<int64_t>(s.size()) == rank, "sizes must give one value per dim");
      a.out = s[d];
      a.scale = static_cast<float>(a.out) / static_cast<float>(a.in);
      a.resized_length = static_cast<float>(a.out);
    }
    if (roi && roi->numel() == 2 * rank && roi->dtype() == DType::kFloat32) {
      a.roi_start = roi->data<float>()[d];
      a.roi_end = roi->data<float>()[d + rank];
    }
  }
  Tensor y = x;
  for (int64_t d = 0; d < rank; ++d) {
    const bool crop =
        ctx.attrs().get_string("coordinate_transformation_mode", "") == "tf_crop_and_resize";
    if (axes[d].in == axes[d].out && axes[d].scale == 1.0f && !crop) continue;
    ctx.require(axes[d].in > 0 && axes[d].out >= 0, "cannot resize an empty dim");
    y = resize_axis(ctx, y, d, axes[d]);
  }
  ctx.output(0) = y;
}

}  // namespace

void add_resize_ops(ReferenceOpTable& table) { table["Resize"] = resize; }

}  // namespace qdq
