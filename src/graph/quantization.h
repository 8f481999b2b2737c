// QuantizeLinear / DequantizeLinear arithmetic as ONNX defines it: part of the
// IR's meaning, used by the reference kernels, the integer kernels and the
// passes that fold quantization parameters.
//
// Rounding: ONNX specifies round-half-to-even. std::nearbyint under the default
// FE_TONEAREST mode does exactly that, and so does cvtps2dq under the default
// MXCSR, which is what the SIMD kernels use.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace qdq {

// A scale quantization can use: a positive normal float. Zero, negative, NaN
// and infinite scales have no meaningful quantized result; a denormal one
// comes from a broken calibration and overflows requantization multipliers.
// The runtime refuses the others (read_scales), the passes leave them unfolded.
inline bool usable_scale(float s) { return std::isnormal(s) && s > 0.0f; }

template <typename Q>
constexpr float quant_min() {
  return static_cast<float>(std::numeric_limits<Q>::min());
}
template <typename Q>
constexpr float quant_max() {
  return static_cast<float>(std::numeric_limits<Q>::max());
}

// std::nearbyint without the libm call it compiles to on baseline x86-64 (it
// inlines only with SSE4.1): for |v| < 2^23, |v| + 2^23 lies in [2^23, 2^24)
// where the float spacing is 1, so the addition itself rounds to an integer,
// half to even (2^23 is even), and the subtraction is exact. Larger floats are
// integers already. Equal to nearbyint in the default rounding mode (tested).
inline float round_half_even(float v) {
  constexpr float kTwo23 = 8388608.0f;
  const float magnitude = std::fabs(v);
  if (!(magnitude < kTwo23)) return v;  // integral already, or NaN/Inf
  return std::copysign((magnitude + kTwo23) - kTwo23, v);
}

// Rounds, shifts by the zero point and saturates. NaN maps to the zero point
// (ONNX leaves it undefined; converting NaN to an integer would be UB).
template <typename Q>
inline Q round_and_saturate(float value, int32_t zero_point) {
  if (std::isnan(value)) value = 0.0f;
  float r = round_half_even(value) + static_cast<float>(zero_point);
  if (r < quant_min<Q>()) r = quant_min<Q>();
  if (r > quant_max<Q>()) r = quant_max<Q>();
  return static_cast<Q>(r);
}

// QuantizeLinear: saturate(round(x / scale) + zero_point).
template <typename Q>
inline Q quantize_value(float x, float scale, int32_t zero_point) {
  return round_and_saturate<Q>(x / scale, zero_point);
}

// A bias in QLinearConv's int32 units: round(real / unit), saturated (no real
// model's bias comes near), NaN as 0.
inline int32_t quantize_bias_value(double real, double unit) {
  const double q = std::nearbyint(real / unit);
  if (std::isnan(q)) return 0;
  return static_cast<int32_t>(q < -2147483648.0  ? -2147483648.0
                              : q > 2147483647.0 ? 2147483647.0
                                                 : q);
}

// DequantizeLinear: (q - zero_point) * scale.
inline float dequantize_value(int32_t q, float scale, int32_t zero_point) {
  return static_cast<float>(q - zero_point) * scale;
}

}  // namespace qdq
