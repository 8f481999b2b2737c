// The pooling kernels that optimized ones fall back on.
#pragma once

#include "runtime/reference/op_context.h"
#include "runtime/reference/spatial.h"

namespace qdq {

// ai.qdq.GlobalAveragePool: GlobalAveragePool on a channels-last [N, H, W, C]
// tensor (the layout pass's form), output [N, 1, 1, C]. An 8-bit x comes with
// inputs 1-2 (x_scale, x_zero_point), each element dequantized as it is
// added; inputs 3-4 (y_scale, y_zero_point) quantize the mean:
// fold_qdq_global_pool's DequantizeLinear -> GlobalAveragePool ->
// QuantizeLinear, step for step.
void global_average_pool_nhwc_reference(OpContext& ctx);
struct GlobalPoolParams {
  int64_t pixels = 0, channels = 0;
  float x_scale = 1.0f;  // an 8-bit x's
  int32_t x_zero = 0;
  DType y_type = DType::kFloat32;  // 8-bit: the mean quantized
  float y_scale = 1.0f;
  int32_t y_zero = 0;
};
GlobalPoolParams read_global_pool_params(const OpContext& ctx);
// Writes one image's `channels` means to y from element `at`, quantized for
// an 8-bit y.
void store_means(const GlobalPoolParams& p, const float* means, Tensor& y, int64_t at);
void max_pool_nhwc_reference(OpContext& ctx);

// The window geometry of ai.qdq.MaxPool over an 8-bit channels-last [N, H, W, C]
// input (checked): MaxPool's attributes, 2-D windows.
SpatialGeometry max_pool_nhwc_geometry(const OpContext& ctx, const Tensor& x);

}  // namespace qdq
