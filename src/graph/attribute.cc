#include "graph/attribute.h"

namespace qdq {

template <typename T>
const T* Attributes::find(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return nullptr;
  const T* v = std::get_if<T>(&it->second);
  check(v != nullptr, [&] { return "attribute '" + name + "' has the wrong type"; });
  return v;
}

int64_t Attributes::get_int(const std::string& name, int64_t fallback) const {
  const int64_t* v = find<int64_t>(name);
  return v ? *v : fallback;
}

float Attributes::get_float(const std::string& name, float fallback) const {
  const float* v = find<float>(name);
  return v ? *v : fallback;
}

std::string Attributes::get_string(const std::string& name, const std::string& fallback) const {
  const std::string* v = find<std::string>(name);
  return v ? *v : fallback;
}

std::vector<int64_t> Attributes::get_ints(const std::string& name,
                                          std::vector<int64_t> fallback) const {
  const auto* v = find<std::vector<int64_t>>(name);
  return v ? *v : fallback;
}

std::span<const int64_t> Attributes::ints(const std::string& name) const {
  const auto* v = find<std::vector<int64_t>>(name);
  return v ? std::span<const int64_t>(*v) : std::span<const int64_t>();
}

std::vector<float> Attributes::get_floats(const std::string& name,
                                          std::vector<float> fallback) const {
  const auto* v = find<std::vector<float>>(name);
  return v ? *v : fallback;
}

const Tensor& Attributes::get_tensor(const std::string& name) const {
  const Tensor* v = find<Tensor>(name);
  check(v != nullptr, "attribute '" + name + "' is missing");
  return *v;
}

}  // namespace qdq
