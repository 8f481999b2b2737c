#include "runtime/reference/tensor_util.h"

namespace qdq {

int64_t normalize_axis(const OpContext& ctx, int64_t axis, int64_t rank) {
  int64_t a = axis < 0 ? axis + rank : axis;
  ctx.require(a >= 0 && a < rank, [&] {
    return "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank);
  });
  return a;
}

Strides strides_of(const Shape& shape) {
  Strides s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

Shape broadcast_shapes(const OpContext& ctx, const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    ctx.require(da == db || da == 1 || db == 1, [&] {
      return "shapes " + shape_to_string(a) + " and " + shape_to_string(b) + " do not broadcast";
    });
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> broadcast_index_map(const Shape& in_shape, const Shape& out_shape) {
  const size_t rank = out_shape.size();
  Shape padded(rank, 1);
  for (size_t i = 0; i < in_shape.size(); ++i) padded[rank - in_shape.size() + i] = in_shape[i];
  Strides in_strides = strides_of(padded);
  for (size_t i = 0; i < rank; ++i)
    if (padded[i] == 1) in_strides[i] = 0;
  const int64_t total = element_count(out_shape);
  std::vector<int64_t> map(static_cast<size_t>(total));
  std::vector<int64_t> idx(rank, 0);
  int64_t flat = 0;
  for (int64_t n = 0; n < total; ++n) {
    map[static_cast<size_t>(n)] = flat;
    for (int64_t d = static_cast<int64_t>(rank) - 1; d >= 0; --d) {
      if (++idx[d] < out_shape[d]) {
        flat += in_strides[d];
        break;
      }
      flat -= in_strides[d] * (out_shape[d] - 1);
      idx[d] = 0;
    }
  }
  return map;
}

}  // namespace qdq
