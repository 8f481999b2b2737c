// Node attributes as ONNX defines them (the subset CNN graphs use).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "graph/tensor.h"

namespace qdq {

using AttributeValue = std::variant<int64_t, float, std::string, std::vector<int64_t>,
                                    std::vector<float>, std::vector<std::string>, Tensor>;

class Attributes {
 public:
  void set(const std::string& name, AttributeValue value) { values_[name] = std::move(value); }
  bool has(const std::string& name) const { return values_.count(name) != 0; }
  void erase(const std::string& name) { values_.erase(name); }
  const std::map<std::string, AttributeValue>& all() const { return values_; }

  int64_t get_int(const std::string& name, int64_t fallback) const;
  float get_float(const std::string& name, float fallback) const;
  std::string get_string(const std::string& name, const std::string& fallback) const;
  std::vector<int64_t> get_ints(const std::string& name, std::vector<int64_t> fallback = {}) const;
  // The list itself, no copy (empty when absent): for kernels reading it each run.
  std::span<const int64_t> ints(const std::string& name) const;
  std::vector<float> get_floats(const std::string& name, std::vector<float> fallback = {}) const;
  const Tensor& get_tensor(const std::string& name) const;

 private:
  template <typename T>
  const T* find(const std::string& name) const;
  std::map<std::string, AttributeValue> values_;
};

}  // namespace qdq
