// Pooling: MaxPool (any numeric type, optional Indices output), AveragePool,
// GlobalAveragePool, GlobalMaxPool.
#include "runtime/reference/pool.h"

#include <algorithm>
#include <limits>
#include <type_traits>

#include "graph/quantization.h"
#include "runtime/reference/quant_params.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/spatial.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {
namespace {

Shape pooled_shape(const Tensor& x, const SpatialGeometry& g) {
  Shape out = {x.dim(0), x.dim(1)};
  for (int i = 3 - g.rank; i < 3; ++i) out.push_back(g.out[i]);
  return out;
}

// Visits every (plane, output position) with the window's in-bounds taps.
// visit(plane, out_index, taps) where taps lists flat input offsets in the plane;
// `padded_count` is the window size clipped to the padded input (for
// count_include_pad).
template <typename Visit>
void for_each_window(const SpatialGeometry& g, int64_t planes, Visit&& visit) {
  parallel_for(planes, true, [&](int64_t p) {
    std::vector<int64_t> taps;
    taps.reserve(static_cast<size_t>(g.kernel_size()));
    int64_t out_index = 0;
    for (int64_t o0 = 0; o0 < g.out[0]; ++o0)
      for (int64_t o1 = 0; o1 < g.out[1]; ++o1)
        for (int64_t o2 = 0; o2 < g.out[2]; ++o2, ++out_index) {
          taps.clear();
          int64_t padded_count = 1;
          const int64_t o[3] = {o0, o1, o2};
          int64_t lo[3], hi[3];
          for (int d = 0; d < 3; ++d) {
            const int64_t start = o[d] * g.stride[d] - g.pad_begin[d];
            const int64_t end_padded =
                std::min(start + (g.kernel[d] - 1) * g.dilation[d] + 1, g.in[d] + g.pad_end[d]);
            int64_t n = 0;
            for (int64_t pos = start; pos < end_padded; pos += g.dilation[d]) ++n;
            padded_count *= n;
            lo[d] = start;
            hi[d] = start + (g.kernel[d] - 1) * g.dilation[d];
          }
          for (int64_t i0 = lo[0]; i0 <= hi[0]; i0 += g.dilation[0]) {
            if (i0 < 0 || i0 >= g.in[0]) continue;
            for (int64_t i1 = lo[1]; i1 <= hi[1]; i1 += g.dilation[1]) {
              if (i1 < 0 || i1 >= g.in[1]) continue;
              for (int64_t i2 = lo[2]; i2 <= hi[2]; i2 += g.dilation[2]) {
                if (i2 < 0 || i2 >= g.in[2]) continue;
                taps.push_back((i0 * g.in[1] + i1) * g.in[2] + i2);
              }
            }
          }
          visit(p, out_index, taps, padded_count);
        }
  });
}

// Row-major offset within a plane -> the same element's column-major offset.
int64_t to_column_major(const SpatialGeometry& g, int64_t offset) {
  const int64_t i2 = offset % g.in[2], i1 = (offset / g.in[2]) % g.in[1],
                i0 = offset / (g.in[2] * g.in[1]);
  return (i2 * g.in[1] + i1) * g.in[0] + i0;
}

void max_pool(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  // storage_order=1 asks for Indices counted in column-major order.
  const bool column_major = ctx.attrs().get_int("storage_order", 0) != 0;
  SpatialGeometry g = make_spatial_geometry(ctx, x.shape(), ctx.attrs().ints("kernel_shape"),
                                            ctx.attrs().get_int("ceil_mode", 0));
  const Shape out_shape = pooled_shape(x, g);
  const bool want_indices = ctx.output_count() > 1;
  Tensor indices(DType::kInt64, want_indices ? out_shape : Shape{0});
  dispatch_types<float, double, int8_t, uint8_t>(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor y(x.dtype(), out_shape);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    int64_t* idx = indices.data<int64_t>();
    for_each_window(g, x.dim(0) * x.dim(1),
                    [&](int64_t p, int64_t o, const std::vector<int64_t>& taps, int64_t) {
                      T best = std::numeric_limits<T>::lowest();
                      int64_t best_at = -1;
                      for (int64_t t : taps)
                        if (best_at < 0 || in[p * g.in_size() + t] > best) {
                          best = in[p * g.in_size() + t];
                          best_at = t;
                        }
                      out[p * g.out_size() + o] = best;
                      if (want_indices)
                        idx[p * g.out_size() + o] =
                            p * g.in_size() +
                            (column_major ? to_column_major(g, best_at) : best_at);
                    });
    ctx.output(0) = std::move(y);
  });
  if (want_indices) ctx.output(1) = std::move(indices);
}

void average_pool(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32, "expects float32");
  SpatialGeometry g = make_spatial_geometry(ctx, x.shape(), ctx.attrs().ints("kernel_shape"),
                                            ctx.attrs().get_int("ceil_mode", 0));
  const bool include_pad = ctx.attrs().get_int("count_include_pad", 0) != 0;
  Tensor y(DType::kFloat32, pooled_shape(x, g));
  const float* in = x.data<float>();
  float* out = y.data<float>();
  for_each_window(
      g, x.dim(0) * x.dim(1),
      [&](int64_t p, int64_t o, const std::vector<int64_t>& taps, int64_t padded_count) {
        float sum = 0.0f;
        for (int64_t t : taps) sum += in[p * g.in_size() + t];
        const int64_t count = include_pad ? padded_count : static_cast<int64_t>(taps.size());
        out[p * g.out_size() + o] = count ? sum / static_cast<float>(count) : 0.0f;
      });
  ctx.output(0) = std::move(y);
}

template <typename Reduce>
void global_pool(OpContext& ctx, Reduce reduce) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32 && x.rank() >= 3, "expects a float32 [N, C, ...] input");
  Shape out_shape(x.rank(), 1);
  out_shape[0] = x.dim(0);
  out_shape[1] = x.dim(1);
  const int64_t planes = x.dim(0) * x.dim(1);
  const int64_t plane = planes ? x.numel() / planes : 0;
  Tensor& y = ctx.allocate_output(0, DType::kFloat32, out_shape);
  for (int64_t p = 0; p < planes; ++p)
    y.data<float>()[p] = reduce(x.data<float>() + p * plane, plane);
}

void global_average_pool(OpContext& ctx) {
  global_pool(ctx, [](const float* v, int64_t n) {
    float sum = 0.0f;
    for (int64_t i = 0; i < n; ++i) sum += v[i];
    return sum / static_cast<float>(n);
  });
}

}  // namespace

GlobalPoolParams read_global_pool_params(const OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  ctx.require((x.dtype() == DType::kFloat32 || is_8bit(x.dtype())) && x.rank() == 4,
              "expects a float32 or 8-bit [N, H, W, C] input");
  ctx.require(is_8bit(x.dtype()) == ctx.has_input(1),
              "an 8-bit input takes x_scale (and x_zero_point), a float one neither");
  GlobalPoolParams p;
  p.pixels = x.dim(1) * x.dim(2);
  p.channels = x.dim(3);
  if (ctx.has_input(1)) p.x_scale = read_scale(ctx, ctx.input(1), "x_scale");
  p.x_zero = read_zero_point(ctx, ctx.optional_input(2), "x_zero_point");
  if (ctx.has_input(3)) {
    p.y_scale = read_scale(ctx, ctx.input(3), "y_scale");
    p.y_type = ctx.has_input(4) ? ctx.input(4).dtype() : DType::kUInt8;
    ctx.require(is_8bit(p.y_type), "y_zero_point must be 8-bit");
  }
  p.y_zero = read_zero_point(ctx, ctx.optional_input(4), "y_zero_point");
  return p;
}

void store_means(const GlobalPoolParams& p, const float* means, Tensor& y, int64_t at) {
  if (y.dtype() == DType::kFloat32) {
    std::copy_n(means, p.channels, y.data<float>() + at);
    return;
  }
  const auto quantize_into = [&](auto* out) {
    using Q = std::remove_pointer_t<decltype(out)>;
    for (int64_t c = 0; c < p.channels; ++c)
      out[c] = quantize_value<Q>(means[c], p.y_scale, p.y_zero);
  };
  if (y.dtype() == DType::kUInt8)
    quantize_into(y.data<uint8_t>() + at);
  else
    quantize_into(y.data<int8_t>() + at);
}

// ai.qdq.GlobalAveragePool (pool.h): each channel summed in the same pixel
// order as the ONNX op sums its plane, an 8-bit element dequantized as it is
// added, so the results are DQ -> GlobalAveragePool -> Q's bit for bit.
void global_average_pool_nhwc_reference(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const GlobalPoolParams p = read_global_pool_params(ctx);
  Tensor y(p.y_type, {x.dim(0), 1, 1, p.channels});
  std::vector<float> means(static_cast<size_t>(p.channels));
  dispatch_types<float, uint8_t, int8_t>(ctx, x.dtype(), [&](auto xt) {
    using X = decltype(xt);
    for (int64_t n = 0; n < x.dim(0); ++n) {
      for (int64_t c = 0; c < p.channels; ++c) {
        const X* v = x.data<X>() + n * p.pixels * p.channels + c;
        float sum = 0.0f;
        for (int64_t i = 0; i < p.pixels; ++i) {
          if constexpr (std::is_same_v<X, float>)
            sum += v[i * p.channels];
          else
            sum += dequantize_value(v[i * p.channels], p.x_scale, p.x_zero);
        }
        means[static_cast<size_t>(c)] = sum / static_cast<float>(p.pixels);
      }
      store_means(p, means.data(), y, n * p.channels);
    }
  });
  ctx.output(0) = std::move(y);
}

SpatialGeometry max_pool_nhwc_geometry(const OpContext& ctx, const Tensor& x) {
  ctx.require(is_8bit(x.dtype()) && x.rank() == 4, "expects an 8-bit [N, H, W, C] input");
  return make_spatial_geometry(ctx, {x.dim(0), x.dim(3), x.dim(1), x.dim(2)},
                               ctx.attrs().ints("kernel_shape"),
                               ctx.attrs().get_int("ceil_mode", 0));
}

// ai.qdq.MaxPool: MaxPool on a channels-last 8-bit tensor (the layout pass's
// form of a MaxPool between quantized tensors), output [N, OH, OW, C]. Without
// Indices, only the maxima: the same values as MaxPool's, channel by channel.
void max_pool_nhwc_reference(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const SpatialGeometry g = max_pool_nhwc_geometry(ctx, x);
  const int64_t height = g.in[1], width = g.in[2], channels = x.dim(3);
  Tensor y(x.dtype(), {x.dim(0), g.out[1], g.out[2], channels});
  dispatch_types<int8_t, uint8_t>(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    for (int64_t n = 0; n < x.dim(0); ++n)
      for (int64_t oh = 0; oh < g.out[1]; ++oh)
        for (int64_t ow = 0; ow < g.out[2]; ++ow)
          for (int64_t c = 0; c < channels; ++c) {
            T best = std::numeric_limits<T>::lowest();
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh) {
              const int64_t ih = oh * g.stride[1] - g.pad_begin[1] + kh * g.dilation[1];
              if (ih < 0 || ih >= height) continue;
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw) {
                const int64_t iw = ow * g.stride[2] - g.pad_begin[2] + kw * g.dilation[2];
                if (iw < 0 || iw >= width) continue;
                best = std::max(best, in[((n * height + ih) * width + iw) * channels + c]);
              }
            }
            out[((n * g.out[1] + oh) * g.out[2] + ow) * channels + c] = best;
          }
  });
  ctx.output(0) = std::move(y);
}

namespace {

void global_max_pool(OpContext& ctx) {
  global_pool(ctx, [](const float* v, int64_t n) {
    float best = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) best = std::max(best, v[i]);
    return best;
  });
}

}  // namespace

void add_pool_ops(ReferenceOpTable& table) {
  table["MaxPool"] = max_pool;
  table["AveragePool"] = average_pool;
  table["GlobalAveragePool"] = global_average_pool;
  table["GlobalMaxPool"] = global_max_pool;
  table["ai.qdq.GlobalAveragePool"] = global_average_pool_nhwc_reference;
  table["ai.qdq.MaxPool"] = max_pool_nhwc_reference;
}

}  // namespace qdq
