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

// The AMX QConv leaves a layer of fewer than `tiles` of its tiles (16 pixels x
// 2 blocks) a thread to AVX-512 VNNI's (by default 4: kernels/amx/qconv.cc
// says why); 0 keeps on AMX every layer it can run, as the kernel tests need
// on their small shapes. Returns the previous value.
int set_amx_min_tiles_per_thread(int tiles);

#define QDQ_KERNEL(isa, op, function) void function(OpContext& ctx);
#include "runtime/kernels/kernels.inc"
#undef QDQ_KERNEL

}  // namespace qdq
