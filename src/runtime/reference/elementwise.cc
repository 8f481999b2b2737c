// Binary element-wise ops with numpy broadcasting: Add, Sub, Mul, Div.
#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

// Before opset 7, B broadcasts only when broadcast=1, aligned to A's dims
// starting at `axis` (default: trailing). Expressed as numpy broadcasting by
// giving B trailing 1-dims.
Tensor legacy_broadcast_operand(const OpContext& ctx, const Tensor& a, const Tensor& b) {
  if (ctx.opset() >= 7 || ctx.attrs().get_int("broadcast", 0) == 0) return b;
  const int64_t rank = static_cast<int64_t>(a.rank());
  const int64_t axis = ctx.attrs().get_int("axis", rank - static_cast<int64_t>(b.rank()));
  ctx.require(axis >= 0 && axis + static_cast<int64_t>(b.rank()) <= rank,
              "legacy broadcast axis is out of range");
  Shape shape = b.shape();
  shape.resize(static_cast<size_t>(rank - axis), 1);
  return b.reshaped(shape);
}

template <typename Op>
void binary(OpContext& ctx, Op op) {
  const Tensor& a = ctx.input(0);
  const Tensor b = legacy_broadcast_operand(ctx, a, ctx.input(1));
  ctx.require(a.dtype() == b.dtype(), [&] {
    return std::string("input types differ: ") + dtype_name(a.dtype()) + " and " +
           dtype_name(b.dtype());
  });
  Shape out_shape = broadcast_shapes(ctx, a.shape(), b.shape());
  dispatch_numeric(ctx, a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor& y = ctx.allocate_output(0, a.dtype(), out_shape);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    T* out = y.data<T>();
    if (a.shape() == b.shape()) {
      for (int64_t i = 0; i < y.numel(); ++i) out[i] = op(pa[i], pb[i]);
    } else {
      auto ia = broadcast_index_map(a.shape(), out_shape);
      auto ib = broadcast_index_map(b.shape(), out_shape);
      for (int64_t i = 0; i < y.numel(); ++i) out[i] = op(pa[ia[i]], pb[ib[i]]);
    }
  });
}

// Integer arithmetic wraps like the fixed-width types ONNX names (uint8 200 + 100
// = 44); done in uint64 so signed overflow is never undefined behaviour.
template <typename T, typename Op>
T wrapping(T x, T y, Op op) {
  if constexpr (std::is_integral_v<T>) {
    return static_cast<T>(op(static_cast<uint64_t>(static_cast<int64_t>(x)),
                             static_cast<uint64_t>(static_cast<int64_t>(y))));
  } else {
    return op(x, y);
  }
}

void add(OpContext& ctx) {
  binary(ctx, [](auto x, auto y) { return wrapping(x, y, [](auto p, auto q) { return p + q; }); });
}
void sub(OpContext& ctx) {
  binary(ctx, [](auto x, auto y) { return wrapping(x, y, [](auto p, auto q) { return p - q; }); });
}
void mul(OpContext& ctx) {
  binary(ctx, [](auto x, auto y) { return wrapping(x, y, [](auto p, auto q) { return p * q; }); });
}
void div(OpContext& ctx) {
  binary(ctx, [&ctx](auto x, auto y) {
    using T = decltype(x);
    if constexpr (std::is_integral_v<T>) {
      if (y == T(0)) ctx.error("integer division by zero");
      if constexpr (std::is_signed_v<T>) {
        // The one signed quotient that overflows: INT_MIN / -1.
        if (y == T(-1)) return wrapping(T(0), x, [](auto p, auto q) { return p - q; });
      }
    }
    return static_cast<T>(x / y);
  });
}

}  // namespace

void add_elementwise_ops(ReferenceOpTable& table) {
  table["Add"] = add;
  table["Sub"] = sub;
  table["Mul"] = mul;
  table["Div"] = div;
}

}  // namespace qdq
