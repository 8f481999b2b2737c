// Element-wise ops on quantized tensors: com.microsoft.QLinearAdd (ONNX
// Runtime's contrib op, which qdq's passes emit for DQ -> Add -> Q groups) and
// ai.qdq.LookupTable (any unary function of an 8-bit tensor).
// Semantics: exactly QuantizeLinear(DequantizeLinear(a) + DequantizeLinear(b)),
// the float steps of the Q/DQ graph it replaces, so the rewrite changes nothing.
#include <cstring>

#include "graph/quantization.h"
#include "runtime/reference/quant_params.h"
#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"
#include "support/parallel.h"

namespace qdq {
namespace {

void qlinear_add(OpContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor& b = ctx.input(3);
  ctx.require(a.dtype() == b.dtype(), "A and B must have the same type");
  const float a_scale = read_scale(ctx, ctx.input(1), "A_scale");
  const int32_t a_zero = read_zero_point(ctx, ctx.optional_input(2), "A_zero_point");
  const float b_scale = read_scale(ctx, ctx.input(4), "B_scale");
  const int32_t b_zero = read_zero_point(ctx, ctx.optional_input(5), "B_zero_point");
  const float c_scale = read_scale(ctx, ctx.input(6), "C_scale");
  const int32_t c_zero = read_zero_point(ctx, ctx.optional_input(7), "C_zero_point");
  const Shape shape = broadcast_shapes(ctx, a.shape(), b.shape());
  dispatch_types<uint8_t, int8_t>(ctx, a.dtype(), [&](auto tag) {
    using Q = decltype(tag);
    Tensor c(a.dtype(), shape);
    const Q* pa = a.data<Q>();
    const Q* pb = b.data<Q>();
    Q* out = c.data<Q>();
    auto add = [&](Q x, Q y) {
      return quantize_value<Q>(
          dequantize_value(x, a_scale, a_zero) + dequantize_value(y, b_scale, b_zero), c_scale,
          c_zero);
    };
    if (a.shape() == b.shape()) {
      for (int64_t i = 0; i < c.numel(); ++i) out[i] = add(pa[i], pb[i]);
    } else {
      const auto ia = broadcast_index_map(a.shape(), shape),
                 ib = broadcast_index_map(b.shape(), shape);
      for (int64_t i = 0; i < c.numel(); ++i) out[i] = add(pa[ia[i]], pb[ib[i]]);
    }
    ctx.output(0) = std::move(c);
  });
}

// ai.qdq.LookupTable(x, table): y[i] = table[byte of x[i]], x and the table's
// entries 8-bit (passes/fold_qdq_lookup makes it).
void lookup_table(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& table = ctx.input(1);
  ctx.require(x.dtype() == DType::kUInt8 || x.dtype() == DType::kInt8, "x must be 8-bit");
  ctx.require(table.numel() == 256 && dtype_size(table.dtype()) == 1,
              "the table must hold 256 8-bit entries");
  Tensor& y = ctx.allocate_output(0, table.dtype(), x.shape());
  uint8_t t[256];  // a local copy: the compiler knows the output cannot alias it
  std::memcpy(t, table.raw(), sizeof t);
  const auto* in = static_cast<const uint8_t*>(x.raw());
  auto* out = static_cast<uint8_t*>(y.raw());
  parallel_for(x.numel(), x.numel() > (1 << 16), [&](int64_t i) { out[i] = t[in[i]]; });
}

}  // namespace

void add_qlinear_elementwise_ops(ReferenceOpTable& table) {
  table["com.microsoft.QLinearAdd"] = qlinear_add;
  table["ai.qdq.LookupTable"] = lookup_table;
}

}  // namespace qdq
