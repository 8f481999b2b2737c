#include "graph/tensor.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace qdq {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32:
      return 4;
    case DType::kFloat64:
      return 8;
    case DType::kUInt8:
      return 1;
    case DType::kInt8:
      return 1;
    case DType::kInt32:
      return 4;
    case DType::kInt64:
      return 8;
    case DType::kBool:
      return 1;
    case DType::kUndefined:
      return 0;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32:
      return "float32";
    case DType::kFloat64:
      return "float64";
    case DType::kUInt8:
      return "uint8";
    case DType::kInt8:
      return "int8";
    case DType::kInt32:
      return "int32";
    case DType::kInt64:
      return "int64";
    case DType::kBool:
      return "bool";
    case DType::kUndefined:
      return "undefined";
  }
  return "undefined";
}

// Called for every tensor a run makes or views: the messages are built only
// on failure (building them eagerly was ~500 allocations a ResNet-20 run).
int64_t element_count(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    check(d >= 0, [&] { return "shape " + shape_to_string(shape) + " has a negative dimension"; });
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      fail("shape " + shape_to_string(shape) + ": element count overflows int64");
    n *= d;
  }
  return n;
}

std::string shape_to_string(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ',';
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

namespace {
const std::string kTensorCap = "the 64 GiB tensor limit";
thread_local size_t tensor_limit_bytes = size_t{64} << 30;  // far above any CNN tensor
thread_local const std::string* tensor_limit_what = &kTensorCap;
}  // namespace

ScopedTensorLimit::ScopedTensorLimit(size_t bytes, const std::string* what)
    : previous_bytes_(tensor_limit_bytes), previous_what_(tensor_limit_what) {
  tensor_limit_bytes = std::min(bytes, previous_bytes_);
  tensor_limit_what = what;
}

ScopedTensorLimit::~ScopedTensorLimit() {
  tensor_limit_bytes = previous_bytes_;
  tensor_limit_what = previous_what_;
}

Tensor::Tensor(DType dtype, Shape shape) : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = element_count(shape_);
  check(
      static_cast<uint64_t>(numel_) <= tensor_limit_bytes / std::max<size_t>(1, dtype_size(dtype_)),
      [&] {
        return "a tensor of shape " + shape_to_string(shape_) + " would exceed " +
               *tensor_limit_what;
      });
  const size_t bytes = nbytes();
  size_t alloc = (bytes + 63) / 64 * 64;
  if (alloc == 0) alloc = 64;
  void* p = std::aligned_alloc(64, alloc);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, alloc);
  storage_ = std::shared_ptr<void>(p, std::free);
}

Tensor::Tensor(DType dtype, Shape shape, std::shared_ptr<void> storage)
    : dtype_(dtype), shape_(std::move(shape)), storage_(std::move(storage)) {
  numel_ = element_count(shape_);
}

Tensor Tensor::reshaped(Shape shape) const {
  check(element_count(shape) == numel_, [&] {
    return "reshape " + shape_to_string(shape_) + " to " + shape_to_string(shape) +
           ": element counts differ";
  });
  Tensor t = *this;
  t.shape_ = std::move(shape);
  return t;
}

Tensor Tensor::clone() const {
  Tensor t(dtype_, shape_);
  if (nbytes()) std::memcpy(t.raw(), raw(), nbytes());
  return t;
}

void Tensor::check_type(DType requested) const {
  check(
      requested == dtype_,
      [&] {
        std::string message = "tensor is ";
        message += dtype_name(dtype_);
        message += ", accessed as ";
        message += dtype_name(requested);
        return message;
      },
      ErrorKind::kInternal);
}

namespace {

template <typename Out>
Out widened_integers(const Tensor& t) {
  return visit_dtype(t.dtype(), [&t](auto tag) -> Out {
    using T = decltype(tag);
    if constexpr (!std::is_integral_v<T>) {
      fail(std::string("expected an integer tensor, got ") + dtype_name(t.dtype()));
    } else {
      auto v = t.values<T>();
      return Out(v.begin(), v.end());
    }
  });
}

}  // namespace

std::vector<int64_t> Tensor::to_int64_vector() const {
  return widened_integers<std::vector<int64_t>>(*this);
}

Shape Tensor::to_dims() const { return widened_integers<Shape>(*this); }

std::vector<float> Tensor::to_float_vector() const {
  return visit_dtype(dtype_, [this](auto tag) -> std::vector<float> {
    std::vector<float> out(static_cast<size_t>(numel_));
    auto v = values<decltype(tag)>();
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<float>(v[i]);
    return out;
  });
}

double Tensor::scalar_as_double() const {
  check(numel_ == 1,
        [&] { return "expected a single value, got shape " + shape_to_string(shape_); });
  return visit_dtype(dtype_,
                     [this](auto tag) { return static_cast<double>(data<decltype(tag)>()[0]); });
}

}  // namespace qdq
