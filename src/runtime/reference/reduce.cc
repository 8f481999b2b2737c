// Reductions over a set of axes: ReduceMean, ReduceMax.
#include <limits>

#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

// Reduces float32 x over the node's axes with (init, combine, finish).
template <typename Combine, typename Finish>
void reduce(OpContext& ctx, float init, Combine combine, Finish finish) {
  const Tensor& x = ctx.input(0);
  ctx.require(x.dtype() == DType::kFloat32, "expects float32");
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes;
  if (ctx.opset() >= 18) {
    if (const Tensor* t = ctx.optional_input(1)) axes = t->to_int64_vector();
  } else {
    axes = ctx.attrs().get_ints("axes");
  }
  const bool keepdims = ctx.attrs().get_int("keepdims", 1) != 0;
  if (axes.empty() && ctx.attrs().get_int("noop_with_empty_axes", 0) != 0) {
    ctx.output(0) = x;
    return;
  }
  std::vector<bool> reduced(static_cast<size_t>(rank), axes.empty());
  for (int64_t a : axes) reduced[normalize_axis(ctx, a, rank)] = true;
  Shape kept_shape = x.shape(), out_shape;
  for (int64_t d = 0; d < rank; ++d) {
    if (reduced[d]) kept_shape[d] = 1;
    if (!reduced[d] || keepdims) out_shape.push_back(kept_shape[d]);
  }
  // Each input element's destination: x broadcast-reduced onto kept_shape.
  auto out_strides = strides_of(kept_shape);
  Tensor y(DType::kFloat32, out_shape);
  std::vector<float> acc(static_cast<size_t>(y.numel()), init);
  std::vector<int64_t> count(acc.size(), 0);
  Shape idx(static_cast<size_t>(rank), 0);  // the element's index, per dim
  const float* in = x.data<float>();
  for (int64_t n = 0; n < x.numel(); ++n) {
    int64_t dst = 0;
    for (int64_t d = 0; d < rank; ++d)
      if (!reduced[d]) dst += idx[d] * out_strides[d];
    acc[dst] = combine(acc[dst], in[n]);
    ++count[dst];
    for (int64_t d = rank - 1; d >= 0; --d) {
      if (++idx[d] < x.dim(d)) break;
      idx[d] = 0;
    }
  }
  for (size_t i = 0; i < acc.size(); ++i) y.data<float>()[i] = finish(acc[i], count[i]);
  ctx.output(0) = std::move(y);
}

void reduce_mean(OpContext& ctx) {
  reduce(
      ctx, 0.0f, [](float a, float v) { return a + v; },
      [](float a, int64_t n) {
        return n ? a / static_cast<float>(n) : std::numeric_limits<float>::quiet_NaN();
      });
}

void reduce_max(OpContext& ctx) {
  reduce(
      ctx, -std::numeric_limits<float>::infinity(), [](float a, float v) { return std::max(a, v); },
      [](float a, int64_t) { return a; });
}

}  // namespace

void add_reduce_ops(ReferenceOpTable& table) {
  table["ReduceMean"] = reduce_mean;
  table["ReduceMax"] = reduce_max;
}

}  // namespace qdq
