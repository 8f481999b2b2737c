// Small helpers the reference kernels share: axis normalization, numpy
// broadcasting, strides, and dispatch over element types.
#pragma once

#include <cstdint>
#include <vector>

#include "graph/tensor.h"
#include "runtime/reference/op_context.h"

namespace qdq {

// Maps a possibly negative axis into [0, rank); fails when out of range.
int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank);
Strides strides_of(const Shape& shape);
// Numpy multidirectional broadcast of two shapes.
Shape broadcast_shapes(const OpContext& ctx, const Shape& a, const Shape& b);
// For each element of `out_shape` (row-major), the flat index into a tensor of
// shape `in_shape` broadcast to it.
std::vector<int64_t> broadcast_index_map(const Shape& in_shape, const Shape& out_shape);

// Calls fn(T{}) with T the C++ type of `dtype`, over the types listed.
template <typename... Ts, typename Fn>
void dispatch_types(const OpContext& ctx, DType dtype, Fn&& fn) {
  bool done = false;
  ((dtype == dtype_of<Ts>() && !done ? (fn(Ts{}), done = true) : false), ...);
  if (!done) ctx.error(std::string("element type ") + dtype_name(dtype) + " is not supported");
}

template <typename Fn>
void dispatch_numeric(const OpContext& ctx, DType dtype, Fn&& fn) {
  dispatch_types<float, double, int32_t, int64_t, int8_t, uint8_t>(ctx, dtype, fn);
}

template <typename Fn>
void dispatch_any(const OpContext& ctx, DType dtype, Fn&& fn) {
  dispatch_types<float, double, int32_t, int64_t, int8_t, uint8_t, bool>(ctx, dtype, fn);
}

// Calls fn(A{}, B{}) for the uint8/int8 types of two quantized operands.
template <typename Fn>
void dispatch_quantized_pair(const OpContext& ctx, DType a, DType b, Fn&& fn) {
  dispatch_types<uint8_t, int8_t>(ctx, a, [&](auto at) {
    dispatch_types<uint8_t, int8_t>(ctx, b, [&](auto bt) { fn(at, bt); });
  });
}

}  // namespace qdq
