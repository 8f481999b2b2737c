// The reference kernels by op type. Each op family's file lists its ops in an
// add_*_ops function; registry.cc calls them all.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "graph/onnx_import.h"
#include "runtime/reference/op_context.h"

namespace qdq {

using ReferenceOpTable = std::map<std::string, ReferenceKernel>;

// How kernels are keyed: the op type for the default ONNX domain, else
// "domain.op_type" (com.microsoft.QLinearAdd).
std::string kernel_key(const std::string& domain, const std::string& op_type);

// nullptr when the op has no reference kernel. `key` as kernel_key makes it.
ReferenceKernel find_reference_kernel(const std::string& key);
std::vector<std::string> reference_op_types();
// Import options for models qdq will run: ONNX shape inference only for ops
// with a reference kernel (ImportOptions::trusted_op says why).
ImportOptions runtime_import_options();

void add_activation_ops(ReferenceOpTable& table);
void add_elementwise_ops(ReferenceOpTable& table);
void add_conv_ops(ReferenceOpTable& table);
void add_matmul_ops(ReferenceOpTable& table);
void add_pool_ops(ReferenceOpTable& table);
void add_normalization_ops(ReferenceOpTable& table);
void add_shape_ops(ReferenceOpTable& table);
void add_reduce_ops(ReferenceOpTable& table);
void add_resize_ops(ReferenceOpTable& table);
void add_quantize_ops(ReferenceOpTable& table);
void add_cast_ops(ReferenceOpTable& table);
void add_qlinear_elementwise_ops(ReferenceOpTable& table);
void add_qconv_ops(ReferenceOpTable& table);

}  // namespace qdq
