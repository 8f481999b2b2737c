#include "runtime/reference/registry.h"

namespace qdq {

static const ReferenceOpTable& table() {
  static const ReferenceOpTable t = [] {
    ReferenceOpTable ops;
    add_activation_ops(ops);
    add_elementwise_ops(ops);
    add_conv_ops(ops);
    add_matmul_ops(ops);
    add_pool_ops(ops);
    add_normalization_ops(ops);
    add_shape_ops(ops);
    add_reduce_ops(ops);
    add_resize_ops(ops);
    add_quantize_ops(ops);
    add_cast_ops(ops);
    add_qlinear_elementwise_ops(ops);
    add_qconv_ops(ops);
    return ops;
  }();
  return t;
}

std::string kernel_key(const std::string& domain, const std::string& op_type) {
  return domain.empty() ? op_type : domain + "." + op_type;
}

ReferenceKernel find_reference_kernel(const std::string& key) {
  auto it = table().find(key);
  return it == table().end() ? nullptr : it->second;
}

std::vector<std::string> reference_op_types() {
  std::vector<std::string> names;
  for (const auto& [name, kernel] : table()) names.push_back(name);
  return names;
}

ImportOptions runtime_import_options() {
  ImportOptions options;
  options.trusted_op = [](const std::string& domain, const std::string& op_type) {
    return find_reference_kernel(kernel_key(domain == "ai.onnx" ? "" : domain, op_type)) != nullptr;
  };
  return options;
}

}  // namespace qdq
