// Cast between the element types qdq supports. QAT exporters emit it for
// zero-point tensors (zeros_like(scale).to(int32)).
#include <cmath>
#include <limits>

#include "graph/onnx_tensor.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

// Float -> integer truncates toward zero; values outside the target range are
// undefined in ONNX, and saturated here so the conversion is never UB.
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
    if (std::isnan(v)) return To(0);
    const From t = std::trunc(v);
    if (t <= static_cast<From>(std::numeric_limits<To>::lowest()))
      return std::numeric_limits<To>::lowest();
    if (t >= static_cast<From>(std::numeric_limits<To>::max()))
      return std::numeric_limits<To>::max();
    return static_cast<To>(t);
  } else {
    return static_cast<To>(v);
  }
}

void cast(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const DType to = dtype_from_onnx(static_cast<int32_t>(ctx.attrs().get_int("to", 0)));
  ctx.require(to != DType::kUndefined, [&] {
    return "target type " + std::to_string(ctx.attrs().get_int("to", 0)) + " is not supported";
  });
  Tensor y(to, x.shape());
  dispatch_any(ctx, x.dtype(), [&](auto from_tag) {
    dispatch_any(ctx, to, [&](auto to_tag) {
      using From = decltype(from_tag);
      using To = decltype(to_tag);
      const From* in = x.data<From>();
      To* out = y.data<To>();
      for (int64_t i = 0; i < x.numel(); ++i) out[i] = convert<To>(in[i]);
    });
  });
  ctx.output(0) = std::move(y);
}

}  // namespace

void add_cast_ops(ReferenceOpTable& table) { table["Cast"] = cast; }

}  // namespace qdq
