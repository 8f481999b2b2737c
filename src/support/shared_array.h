// A read-only array that shares ownership of its storage: either values it
// owns, or a range inside a larger buffer (a mapped plan file) that its owner
// keeps alive. Lets packed weights come from a plan without being copied.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace qdq {

template <typename T>
class SharedArray {
 public:
  SharedArray() = default;
  explicit SharedArray(std::vector<T> values) {
    auto held = std::make_shared<const std::vector<T>>(std::move(values));
    data_ = held->data();
    size_ = held->size();
    owner_ = std::move(held);
  }
  SharedArray(std::shared_ptr<const void> owner, const T* data, size_t size)
      : owner_(std::move(owner)), data_(data), size_(size) {}

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T& operator[](size_t i) const { return data_[i]; }

 private:
  std::shared_ptr<const void> owner_;
  const T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace qdq
