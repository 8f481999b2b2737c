// The pooling kernels that optimized ones fall back on.
#pragma once

#include "runtime/reference/op_context.h"
#include "runtime/reference/spatial.h"

namespace qdq {

void global_average_pool_nhwc_reference(OpContext& ctx);
void max_pool_nhwc_reference(OpContext& ctx);

// The window geometry of ai.qdq.MaxPool over an 8-bit channels-last [N, H, W, C]
// input (checked): MaxPool's attributes, 2-D windows.
SpatialGeometry max_pool_nhwc_geometry(const OpContext& ctx, const Tensor& x);

}  // namespace qdq
