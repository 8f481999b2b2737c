#include "runtime/reference/quant_params.h"

#include <cmath>

namespace qdq {
namespace {

void check_count(const OpContext& ctx, int64_t count, int64_t channels, const char* what) {
  ctx.require(count == 1 || count == channels, [&] {
    return std::string(what) + " has " + std::to_string(count) + " values, expected 1 or " +
           std::to_string(channels);
  });
}

}  // namespace

std::vector<float> read_scales(const OpContext& ctx, const Tensor& scale, int64_t channels,
                               const char* what) {
  ctx.require(scale.dtype() == DType::kFloat32,
              [&] { return std::string(what) + " must be float32"; });
  check_count(ctx, scale.numel(), channels, what);
  std::vector<float> out(static_cast<size_t>(channels));
  for (int64_t c = 0; c < channels; ++c) {
    float s = scale.data<float>()[scale.numel() == 1 ? 0 : c];
    ctx.require(std::isfinite(s) && s > 0.0f, [&] {
      return std::string(what) + " must be positive and finite, got " + std::to_string(s);
    });
    out[static_cast<size_t>(c)] = s;
  }
  return out;
}

std::vector<int32_t> read_zero_points(const OpContext& ctx, const Tensor* zero_point,
                                      int64_t channels, const char* what) {
  std::vector<int32_t> out(static_cast<size_t>(channels), 0);
  if (!zero_point) return out;
  check_count(ctx, zero_point->numel(), channels, what);
  std::vector<int64_t> values = zero_point->to_int64_vector();
  for (int64_t c = 0; c < channels; ++c)
    out[static_cast<size_t>(c)] = static_cast<int32_t>(values[zero_point->numel() == 1 ? 0 : c]);
  return out;
}

}  // namespace qdq
