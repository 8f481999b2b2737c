// Tensor: a typed, shaped, dense buffer. Storage is shared and 64-byte aligned so
// views (Reshape, Flatten, Identity) cost nothing and SIMD kernels can load it
// aligned.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "support/small_vector.h"
#include "support/status.h"

namespace qdq {

enum class DType : uint8_t { kUndefined, kFloat32, kFloat64, kUInt8, kInt8, kInt32, kInt64, kBool };

size_t dtype_size(DType t);
// uint8 or int8: the element types of quantized activations and weights.
inline bool is_8bit(DType t) { return t == DType::kUInt8 || t == DType::kInt8; }
const char* dtype_name(DType t);
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::kFloat32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kFloat64;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::kUInt8;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::kInt8;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::kInt32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::kInt64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::kBool;
}

// Calls fn(T{}) with T the C++ element type of `t` (one switch over the types,
// for every place that handles any of them); fails for kUndefined.
template <typename Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::kFloat32:
      return fn(float{});
    case DType::kFloat64:
      return fn(double{});
    case DType::kUInt8:
      return fn(uint8_t{});
    case DType::kInt8:
      return fn(int8_t{});
    case DType::kInt32:
      return fn(int32_t{});
    case DType::kInt64:
      return fn(int64_t{});
    case DType::kBool:
      return fn(bool{});
    case DType::kUndefined:
      break;
  }
  fail("tensor of undefined element type", ErrorKind::kInternal);
}

// Per-dim values inline up to rank 6 (every CNN tensor's), so that making
// and copying shapes and strides costs no allocation.
using Shape = SmallVector<int64_t, 6>;
using Strides = SmallVector<int64_t, 6>;

// Product of dims; throws on negative dims or int64 overflow (shapes come from
// untrusted files).
int64_t element_count(const Shape& shape);
std::string shape_to_string(const Shape& shape);

// The largest tensor this thread may allocate: shapes come from files, so
// sizes are checked before the allocator is asked. 64 GiB unless narrowed —
// the executor narrows it to what is left of its activation budget during a
// run; `what` (owned by the caller, outliving the scope) names the limit in
// the error. Setting one costs no allocation: it sits on the run's hot path.
class ScopedTensorLimit {
 public:
  ScopedTensorLimit(size_t bytes, const std::string* what);
  ~ScopedTensorLimit();
  ScopedTensorLimit(const ScopedTensorLimit&) = delete;
  ScopedTensorLimit& operator=(const ScopedTensorLimit&) = delete;

 private:
  size_t previous_bytes_;
  const std::string* previous_what_;
};

class Tensor {
 public:
  Tensor() = default;
  Tensor(DType dtype, Shape shape);  // zero-filled
  // A tensor over `storage`, which must hold at least its bytes (the
  // executor's memory plan hands out such views); contents as they are.
  Tensor(DType dtype, Shape shape, std::shared_ptr<void> storage);

  template <typename T>
  static Tensor from_vector(Shape shape, const std::vector<T>& values) {
    Tensor t(dtype_of<T>(), std::move(shape));
    check(static_cast<size_t>(t.numel()) == values.size(),
          "tensor: value count does not match shape");
    std::copy(values.begin(), values.end(), t.data<T>());
    return t;
  }
  template <typename T>
  static Tensor scalar(T value) {
    return from_vector<T>({}, {value});
  }

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(size_t i) const { return shape_[i]; }
  size_t rank() const { return shape_.size(); }
  int64_t numel() const { return numel_; }
  size_t nbytes() const { return static_cast<size_t>(numel_) * dtype_size(dtype_); }
  bool empty() const { return dtype_ == DType::kUndefined; }

  template <typename T>
  T* data() {
    check_type(dtype_of<T>());
    return static_cast<T*>(storage_.get());
  }
  template <typename T>
  const T* data() const {
    check_type(dtype_of<T>());
    return static_cast<const T*>(storage_.get());
  }
  template <typename T>
  std::span<const T> values() const {
    return {data<T>(), static_cast<size_t>(numel_)};
  }
  // The memory, shared with its views (use_count: who else holds it).
  const std::shared_ptr<void>& storage() const { return storage_; }
  void* raw() { return storage_.get(); }
  const void* raw() const { return storage_.get(); }

  // Same storage, new shape of the same element count.
  Tensor reshaped(Shape shape) const;
  Tensor clone() const;
  // Any integer or float element, widened: for shape inputs, axes, scalars.
  std::vector<int64_t> to_int64_vector() const;
  // An integer tensor's elements as dims (Reshape's shape input): no vector.
  Shape to_dims() const;
  // Every element as float (values, not dequantized): for comparing outputs.
  std::vector<float> to_float_vector() const;
  double scalar_as_double() const;

 private:
  void check_type(DType requested) const;

  DType dtype_ = DType::kUndefined;
  Shape shape_;
  int64_t numel_ = 0;
  std::shared_ptr<void> storage_;
};

}  // namespace qdq
