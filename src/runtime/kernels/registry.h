// Optimized kernels by op type and instruction set (the list: kernels.inc).
#pragma once

#include <string>
#include <vector>

#include "runtime/cpu_features.h"
#include "runtime/reference/op_context.h"

namespace qdq {

// The best kernel for `op_type` (a kernel_key) at or below `isa`; nullptr when only the
// reference kernel exists.
ReferenceKernel find_optimized_kernel(const std::string& op_type, Isa isa);
// The level of the kernel find_optimized_kernel returns (kRef when none).
Isa optimized_kernel_isa(const std::string& op_type, Isa isa);

#define QDQ_KERNEL(isa, op, function) void function(OpContext& ctx);
#include "runtime/kernels/kernels.inc"
#undef QDQ_KERNEL

}  // namespace qdq
