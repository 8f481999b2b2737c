// The requantization every integer kernel shares, reference and SIMD alike, so
// that they agree bit for bit (rounding: see graph/quantization.h).
//
// Requantization follows ONNX Runtime's QLinearConv/QLinearMatMul: the real
// multiplier x_scale * w_scale / y_scale is formed in float32 (in that order),
// the int32 accumulator is converted to float32 and multiplied once. float(acc)
// is exact while |acc| < 2^24; beyond that the float rounding is part of the
// reference semantics, not an error of ours.
#pragma once

#include <cstdint>

#include "graph/quantization.h"

namespace qdq {

inline float requantize_multiplier(float input_scale, float weight_scale, float output_scale) {
  return input_scale * weight_scale / output_scale;
}

template <typename Q>
inline Q requantize(int32_t accumulator, float multiplier, int32_t output_zero_point) {
  return round_and_saturate<Q>(static_cast<float>(accumulator) * multiplier, output_zero_point);
}

}  // namespace qdq
