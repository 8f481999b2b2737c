// The matrix-product kernels that optimized ones fall back on.
#pragma once

#include "runtime/reference/op_context.h"

namespace qdq {

void gemm_reference(OpContext& ctx);

}  // namespace qdq
