// The pooling kernels that optimized ones fall back on.
#pragma once

#include "runtime/reference/op_context.h"

namespace qdq {

void global_average_pool_nhwc_reference(OpContext& ctx);

}  // namespace qdq
