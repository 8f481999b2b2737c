// The reference QuantizeLinear and DequantizeLinear, for the optimized kernels
// to fall back on where they do not apply (per-axis parameters, int32 input).
#pragma once

#include "runtime/reference/op_context.h"

namespace qdq {

void quantize_linear_reference(OpContext& ctx);
void dequantize_linear_reference(OpContext& ctx);

}  // namespace qdq
