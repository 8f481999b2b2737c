// Reading the scale and zero-point inputs of the quantized ops, per tensor or
// per channel, with the checks every quantized op needs.
#pragma once

#include <cstdint>
#include <vector>

#include "runtime/reference/op_context.h"

namespace qdq {

// `channels` values: one value broadcast, or exactly `channels` per-channel ones.
// Scales must be positive and finite (a zero, negative, NaN or infinite scale
// has no meaningful quantized result, so it is refused rather than propagated).
std::vector<float> read_scales(const OpContext& ctx, const Tensor& scale, int64_t channels,
                               const char* what);
// A missing zero point is 0. Any integer type is accepted and widened.
std::vector<int32_t> read_zero_points(const OpContext& ctx, const Tensor* zero_point,
                                      int64_t channels, const char* what);

}  // namespace qdq
