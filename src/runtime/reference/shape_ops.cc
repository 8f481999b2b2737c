// Data movement and shape ops: Identity, Dropout, Constant, ConstantOfShape,
// Shape, Flatten, Reshape, Squeeze, Unsqueeze, Transpose, Concat, Gather,
// Slice, Pad. Reshape-like ops return views of their input's storage.
#include <algorithm>
#include <cstring>
#include <limits>

#include "runtime/reference/registry.h"
#include "runtime/reference/tensor_util.h"

namespace qdq {
namespace {

void identity(OpContext& ctx) { ctx.output(0) = ctx.input(0); }

// Inference: the data passes through and the optional mask is all true. A
// training_mode input that is true asks for random masking, which a
// deterministic inference engine refuses.
void dropout(OpContext& ctx) {
  if (const Tensor* training = ctx.optional_input(2))
    ctx.require(training->scalar_as_double() == 0.0,
                "training_mode=true is not supported (inference only)");
  ctx.output(0) = ctx.input(0);
  if (ctx.output_count() > 1) {
    Tensor mask(DType::kBool, ctx.input(0).shape());
    std::fill_n(mask.data<bool>(), mask.numel(), true);
    ctx.output(1) = std::move(mask);
  }
}

void constant(OpContext& ctx) {
  const Attributes& a = ctx.attrs();
  if (a.has("value"))
    ctx.output(0) = a.get_tensor("value");
  else if (a.has("value_float"))
    ctx.output(0) = Tensor::scalar<float>(a.get_float("value_float", 0));
  else if (a.has("value_int"))
    ctx.output(0) = Tensor::scalar<int64_t>(a.get_int("value_int", 0));
  else if (a.has("value_floats")) {
    auto v = a.get_floats("value_floats");
    ctx.output(0) = Tensor::from_vector<float>({static_cast<int64_t>(v.size())}, v);
  } else if (a.has("value_ints")) {
    auto v = a.get_ints("value_ints");
    ctx.output(0) = Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  } else {
    ctx.error("has no supported value attribute");
  }
}

void constant_of_shape(OpContext& ctx) {
  Shape shape = ctx.input(0).to_dims();
  Tensor fill =
      ctx.attrs().has("value") ? ctx.attrs().get_tensor("value") : Tensor::scalar<float>(0.0f);
  ctx.require(fill.numel() == 1, "value must hold one element");
  Tensor y(fill.dtype(), shape);
  const size_t size = dtype_size(fill.dtype());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(dst + i * size, fill.raw(), size);
  ctx.output(0) = std::move(y);
}

void shape_op(OpContext& ctx) {
  const Shape& s = ctx.input(0).shape();
  const int64_t rank = static_cast<int64_t>(s.size());
  auto clamp_dim = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  const int64_t start = clamp_dim(ctx.attrs().get_int("start", 0));
  const int64_t end = clamp_dim(ctx.attrs().get_int("end", rank));
  std::vector<int64_t> dims(s.begin() + start, s.begin() + std::max(start, end));
  ctx.output(0) = Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
}

void flatten(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = ctx.attrs().get_int("axis", 1);
  if (axis < 0) axis += rank;
  ctx.require(axis >= 0 && axis <= rank, "axis is out of range");
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  ctx.output(0) = x.reshaped({outer, outer ? x.numel() / outer : 0});
}

void reshape(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  Shape target = ctx.opset() < 5 ? Shape(ctx.attrs().get_ints("shape")) : ctx.input(1).to_dims();
  const bool allow_zero = ctx.attrs().get_int("allowzero", 0) != 0;
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == 0 && !allow_zero) {
      ctx.require(i < x.rank(),
                  [&] { return "shape copies dim " + std::to_string(i) + " the input lacks"; });
      target[i] = x.dim(i);
    }
    if (target[i] == -1) {
      ctx.require(infer_at < 0, "shape has more than one -1");
      infer_at = static_cast<int64_t>(i);
    } else {
      ctx.require(target[i] >= 0, "shape has a negative dimension");
      known *= target[i];
    }
  }
  if (infer_at >= 0) {
    ctx.require(known != 0 && x.numel() % known == 0, [&] {
      return "cannot infer -1 reshaping " + shape_to_string(x.shape()) + " to " +
             shape_to_string(target);
    });
    target[infer_at] = x.numel() / known;
  }
  ctx.require(element_count(target) == x.numel(), [&] {
    return "cannot reshape " + shape_to_string(x.shape()) + " to " + shape_to_string(target);
  });
  ctx.output(0) = x.reshaped(target);
}

std::vector<int64_t> axes_from(const OpContext& ctx, size_t input_index) {
  if (ctx.opset() >= 13) {
    const Tensor* t = ctx.optional_input(input_index);
    return t ? t->to_int64_vector() : std::vector<int64_t>{};
  }
  return ctx.attrs().get_ints("axes");
}

void squeeze(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<bool> drop(x.rank(), false);
  auto axes = axes_from(ctx, 1);
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) drop[d] = x.dim(d) == 1;
  for (int64_t a : axes) {
    int64_t d = normalize_axis(ctx, a, rank);
    ctx.require(x.dim(d) == 1, [&] {
      return "cannot squeeze dim " + std::to_string(d) + " of size " + std::to_string(x.dim(d));
    });
    drop[d] = true;
  }
  Shape out;
  for (int64_t d = 0; d < rank; ++d)
    if (!drop[d]) out.push_back(x.dim(d));
  ctx.output(0) = x.reshaped(out);
}

void unsqueeze(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  auto axes = axes_from(ctx, 1);
  const int64_t rank = static_cast<int64_t>(x.rank() + axes.size());
  std::vector<bool> inserted(static_cast<size_t>(rank), false);
  for (int64_t a : axes) {
    int64_t d = normalize_axis(ctx, a, rank);
    ctx.require(!inserted[d], "axis repeated");
    inserted[d] = true;
  }
  Shape out;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) out.push_back(inserted[d] ? 1 : x.dim(next++));
  ctx.output(0) = x.reshaped(out);
}

// Copies elements by a gather map: out[i] = in[map[i]] on raw bytes.
Tensor gather_elements(const Tensor& x, const Shape& out_shape, const std::vector<int64_t>& map) {
  Tensor y(x.dtype(), out_shape);
  const size_t size = dtype_size(x.dtype());
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (size_t i = 0; i < map.size(); ++i) std::memcpy(dst + i * size, src + map[i] * size, size);
  return y;
}

// Writes the output in order; `strides` gives, per output dim, how far the
// input position moves. The odometer walks the outer dims and the innermost is
// one strided loop, so a CNN-sized layout change costs a few ns per element.
template <size_t Size>
void permute_elements(const uint8_t* src, uint8_t* dst, const Shape& out_shape,
                      const Strides& strides) {
  const int64_t count = element_count(out_shape);
  if (count == 0) return;
  if (out_shape.empty()) return std::memcpy(dst, src, Size), void();
  const size_t outer_dims = out_shape.size() - 1;
  const int64_t inner = out_shape.back(), inner_stride = strides.back();
  Shape index(outer_dims, 0);
  int64_t offset = 0;
  for (int64_t done = 0; done < count; done += inner) {
    if (inner_stride == 1) {  // a contiguous run
      std::memcpy(dst, src + offset * static_cast<int64_t>(Size),
                  static_cast<size_t>(inner) * Size);
      dst += inner * static_cast<int64_t>(Size);
    } else {
      for (int64_t i = 0; i < inner; ++i, dst += Size)
        std::memcpy(dst, src + (offset + i * inner_stride) * static_cast<int64_t>(Size), Size);
    }
    for (size_t d = outer_dims; d-- > 0;) {
      offset += strides[d];
      if (++index[d] < out_shape[d]) break;
      offset -= strides[d] * out_shape[d];
      index[d] = 0;
    }
  }
}

// permute_elements for any element size. Dims of size 1 are dropped and dims
// that step through the input as one are merged first: a layout change of a
// [N, C, 1, 1] tensor is one run, not C runs of one element (a global pool's
// output went element by element).
void copy_strided(const Tensor& x, Tensor& y, int64_t first, const Strides& strides) {
  const auto* src = static_cast<const uint8_t*>(x.raw()) + first * dtype_size(x.dtype());
  auto* dst = static_cast<uint8_t*>(y.raw());
  Shape shape;
  Strides steps;
  for (size_t d = 0; d < y.shape().size(); ++d) {
    if (y.shape()[d] == 1) continue;
    if (!shape.empty() && steps.back() == strides[d] * y.shape()[d]) {
      shape.back() *= y.shape()[d];
      steps.back() = strides[d];
      continue;
    }
    shape.push_back(y.shape()[d]);
    steps.push_back(strides[d]);
  }
  switch (dtype_size(x.dtype())) {
    case 1:
      return permute_elements<1>(src, dst, shape, steps);
    case 2:
      return permute_elements<2>(src, dst, shape, steps);
    case 4:
      return permute_elements<4>(src, dst, shape, steps);
    default:
      return permute_elements<8>(src, dst, shape, steps);
  }
}

void transpose(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const std::span<const int64_t> given = ctx.attrs().ints("perm");
  SmallVector<int64_t, 6> perm(given.begin(), given.end());
  if (perm.empty())
    for (int64_t d = rank - 1; d >= 0; --d) perm.push_back(d);
  ctx.require(static_cast<int64_t>(perm.size()) == rank, "perm has the wrong length");
  SmallVector<bool, 6> seen(static_cast<size_t>(rank), false);
  Shape out_shape;
  for (int64_t p : perm) {
    ctx.require(p >= 0 && p < rank && !seen[p], "perm is not a permutation");
    seen[p] = true;
    out_shape.push_back(x.dim(p));
  }
  const auto in_strides = strides_of(x.shape());
  Strides strides;  // the input's stride along each output dim
  for (int64_t p : perm) strides.push_back(in_strides[static_cast<size_t>(p)]);
  copy_strided(x, ctx.allocate_output(0, x.dtype(), out_shape), 0, strides);
}

void concat(OpContext& ctx) {
  const Tensor& first = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(first.rank());
  // Concat-1 defaulted axis to 1; later versions require it.
  const int64_t axis =
      normalize_axis(ctx, ctx.attrs().get_int("axis", ctx.opset() < 4 ? 1 : 0), rank);
  Shape out_shape = first.shape();
  out_shape[axis] = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const Tensor& t = ctx.input(i);
    ctx.require(t.dtype() == first.dtype() && t.rank() == first.rank(),
                "inputs differ in type or rank");
    for (int64_t d = 0; d < rank; ++d)
      ctx.require(d == axis || t.dim(d) == first.dim(d), "inputs differ outside the concat axis");
    out_shape[axis] += t.dim(axis);
  }
  Tensor y(first.dtype(), out_shape);
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= out_shape[d];
  const size_t elem = dtype_size(first.dtype());
  const size_t out_row = static_cast<size_t>(y.numel() / std::max<int64_t>(outer, 1)) * elem;
  auto* dst = static_cast<uint8_t*>(y.raw());
  size_t offset = 0;
  for (size_t i = 0; i < ctx.input_count(); ++i) {
    const Tensor& t = ctx.input(i);
    const size_t row = static_cast<size_t>(t.numel() / std::max<int64_t>(outer, 1)) * elem;
    for (int64_t o = 0; o < outer; ++o)
      if (row)
        std::memcpy(dst + o * out_row + offset, static_cast<const uint8_t*>(t.raw()) + o * row,
                    row);
    offset += row;
  }
  ctx.output(0) = std::move(y);
}

void gather(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& indices_t = ctx.input(1);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const int64_t axis = normalize_axis(ctx, ctx.attrs().get_int("axis", 0), rank);
  std::vector<int64_t> indices = indices_t.to_int64_vector();
  const int64_t extent = x.dim(axis);
  for (int64_t& i : indices) {
    ctx.require(i >= -extent && i < extent,
                [&] { return "index " + std::to_string(i) + " is out of range"; });
    if (i < 0) i += extent;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
  for (int64_t d = axis + 1; d < rank; ++d) inner *= x.dim(d);
  Shape out_shape(x.shape().begin(), x.shape().begin() + axis);
  out_shape.insert(out_shape.end(), indices_t.shape().begin(), indices_t.shape().end());
  out_shape.insert(out_shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  std::vector<int64_t> map;
  map.reserve(static_cast<size_t>(outer * indices.size() * inner));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : indices)
      for (int64_t k = 0; k < inner; ++k) map.push_back((o * extent + i) * inner + k);
  ctx.output(0) = gather_elements(x, out_shape, map);
}

void slice(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.attrs().get_ints("starts");
    ends = ctx.attrs().get_ints("ends");
    axes = ctx.attrs().get_ints("axes");
  } else {
    starts = ctx.input(1).to_int64_vector();
    ends = ctx.input(2).to_int64_vector();
    if (const Tensor* t = ctx.optional_input(3)) axes = t->to_int64_vector();
    if (const Tensor* t = ctx.optional_input(4)) steps = t->to_int64_vector();
  }
  ctx.require(starts.size() == ends.size(), "starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  ctx.require(axes.size() == starts.size() && steps.size() == starts.size(),
              "axes/steps lengths differ");
  std::vector<int64_t> begin(rank, 0), step(rank, 1);
  Shape out_shape = x.shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t d = normalize_axis(ctx, axes[i], rank);
    const int64_t n = x.dim(d);
    ctx.require(steps[i] != 0, "step is zero");
    int64_t s = starts[i] < 0 ? starts[i] + n : starts[i];
    int64_t e = ends[i] < 0 ? ends[i] + n : ends[i];
    // Clamp as ONNX does: [0, n] for positive steps, [-1, n-1] for negative.
    if (steps[i] > 0) {
      s = std::clamp<int64_t>(s, 0, n);
      e = std::clamp<int64_t>(e, 0, n);
      out_shape[d] = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
    } else {
      s = std::clamp<int64_t>(s, -1, n - 1);
      e = std::clamp<int64_t>(e, -1, n - 1);
      out_shape[d] = s > e ? (s - e - steps[i] - 1) / -steps[i] : 0;
    }
    begin[d] = s;
    step[d] = steps[i];
  }
  // The slice is a strided view of x: its first element, and per dim the step
  // in elements.
  const auto in_strides = strides_of(x.shape());
  int64_t first = 0;
  Strides strides(static_cast<size_t>(rank));
  for (int64_t d = 0; d < rank; ++d) {
    if (out_shape[d] > 0) first += begin[d] * in_strides[d];
    strides[d] = step[d] * in_strides[d];
  }
  copy_strided(x, ctx.allocate_output(0, x.dtype(), out_shape), first, strides);
}

// Maps a padded coordinate back into [0, n) for the modes that read x.
int64_t pad_source(int64_t i, int64_t n, const std::string& mode) {
  if (i >= 0 && i < n) return i;
  if (mode == "edge") return std::clamp<int64_t>(i, 0, n - 1);
  if (mode == "wrap") return ((i % n) + n) % n;
  // reflect: mirror without repeating the edge
  const int64_t period = 2 * (n - 1);
  if (period == 0) return 0;
  int64_t r = ((i % period) + period) % period;
  return r < n ? r : period - r;
}

void pad(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t rank = static_cast<int64_t>(x.rank());
  const std::string mode = ctx.attrs().get_string("mode", "constant");
  ctx.require(mode == "constant" || mode == "reflect" || mode == "edge" || mode == "wrap",
              [&] { return "unknown mode '" + mode + "'"; });
  std::vector<int64_t> pads;
  double value = 0.0;
  std::vector<int64_t> axes;
  ctx.require(!ctx.attrs().has("paddings"), "Pad-1's paddings attribute is not supported");
  if (ctx.opset() < 11) {
    pads = ctx.attrs().get_ints("pads");
    value = ctx.attrs().get_float("value", 0.0f);
  } else {
    pads = ctx.input(1).to_int64_vector();
    if (const Tensor* v = ctx.optional_input(2); v && v->numel()) value = v->scalar_as_double();
    if (const Tensor* a = ctx.optional_input(3)) axes = a->to_int64_vector();
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  ctx.require(pads.size() == 2 * axes.size(), "pads has the wrong length");
  std::vector<int64_t> before(rank, 0), after(rank, 0);
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t d = normalize_axis(ctx, axes[i], rank);
    before[d] = pads[i];
    after[d] = pads[i + axes.size()];
  }
  Shape out_shape = x.shape();
  for (int64_t d = 0; d < rank; ++d) {
    out_shape[d] += before[d] + after[d];
    ctx.require(out_shape[d] >= 0, "pads remove more than the dimension holds");
    ctx.require(mode == "constant" || x.dim(d) > 0 || before[d] + after[d] == 0,
                "cannot pad an empty dim");
  }
  auto in_strides = strides_of(x.shape());
  if (mode == "constant") {
    // The fill everywhere, then the part of x that stays (pads may be
    // negative: crops) copied in row by row.
    Tensor& y = ctx.allocate_output(0, x.dtype(), out_shape);
    dispatch_any(ctx, x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      std::fill_n(y.data<T>(), y.numel(), static_cast<T>(value));
    });
    if (y.numel() == 0 || rank == 0) return;
    const auto out_strides = strides_of(out_shape);
    std::vector<int64_t> extent(rank);
    int64_t src_first = 0, dst_first = 0;
    for (int64_t d = 0; d < rank; ++d) {
      const int64_t from = std::max<int64_t>(0, -before[d]), to = std::max<int64_t>(0, before[d]);
      extent[d] = std::min(x.dim(d) - from, out_shape[d] - to);
      if (extent[d] <= 0) return;  // nothing of x is left
      src_first += from * in_strides[d];
      dst_first += to * out_strides[d];
    }
    const size_t size = dtype_size(x.dtype());
    const auto* src = static_cast<const uint8_t*>(x.raw());
    auto* dst = static_cast<uint8_t*>(y.raw());
    std::vector<int64_t> idx(static_cast<size_t>(rank - 1), 0);
    for (;;) {
      int64_t s_off = src_first, d_off = dst_first;
      for (int64_t d = 0; d + 1 < rank; ++d)
        s_off += idx[d] * in_strides[d], d_off += idx[d] * out_strides[d];
      std::memcpy(dst + d_off * size, src + s_off * size,
                  static_cast<size_t>(extent[rank - 1]) * size);
      int64_t d = rank - 2;
      for (; d >= 0; --d) {
        if (++idx[d] < extent[d]) break;
        idx[d] = 0;
      }
      if (d < 0) return;
    }
  }
  dispatch_any(ctx, x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor y(x.dtype(), out_shape);
    const T* in = x.data<T>();
    T* out = y.data<T>();
    std::vector<int64_t> idx(static_cast<size_t>(rank), 0);
    for (int64_t n = 0; n < y.numel(); ++n) {
      int64_t flat = 0;
      for (int64_t d = 0; d < rank; ++d)
        flat += pad_source(idx[d] - before[d], x.dim(d), mode) * in_strides[d];
      out[n] = in[flat];
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++idx[d] < out_shape[d]) break;
        idx[d] = 0;
      }
    }
    ctx.output(0) = std::move(y);
  });
}

}  // namespace

void add_shape_ops(ReferenceOpTable& table) {
  table["Identity"] = identity;
  table["Dropout"] = dropout;
  table["Constant"] = constant;
  table["ConstantOfShape"] = constant_of_shape;
  table["Shape"] = shape_op;
  table["Flatten"] = flatten;
  table["Reshape"] = reshape;
  table["Squeeze"] = squeeze;
  table["Unsqueeze"] = unsqueeze;
  table["Transpose"] = transpose;
  table["Concat"] = concat;
  table["Gather"] = gather;
  table["Slice"] = slice;
  table["Pad"] = pad;
}

}  // namespace qdq
