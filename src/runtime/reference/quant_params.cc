#include "runtime/reference/quant_params.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace qdq {
namespace {

void check_count(const OpContext& ctx, int64_t count, int64_t channels, const char* what) {
  ctx.require(count == 1 || count == channels, [&] {
    return std::string(what) + " has " + std::to_string(count) + " values, expected 1 or " +
           std::to_string(channels);
  });
}

// Element i of an integer tensor of any width, widened.
int64_t integer_at(const OpContext& ctx, const Tensor& t, int64_t i, const char* what) {
  return visit_dtype(t.dtype(), [&](auto tag) -> int64_t {
    using T = decltype(tag);
    if constexpr (!std::is_integral_v<T>)
      ctx.error(std::string(what) + " must be an integer tensor, got " + dtype_name(t.dtype()));
    else
      return static_cast<int64_t>(t.data<T>()[i]);
  });
}

}  // namespace

void read_scales(const OpContext& ctx, const Tensor& scale, int64_t channels, const char* what,
                 float* out) {
  ctx.require(scale.dtype() == DType::kFloat32,
              [&] { return std::string(what) + " must be float32"; });
  check_count(ctx, scale.numel(), channels, what);
  for (int64_t c = 0; c < channels; ++c) {
    const float s = scale.data<float>()[scale.numel() == 1 ? 0 : c];
    ctx.require(usable_scale(s), [&] {
      std::ostringstream text;
      text << what << " must be a positive normal float (not zero, denormal, infinite or NaN), got "
           << s;
      return text.str();
    });
    out[c] = s;
  }
}

float read_scale(const OpContext& ctx, const Tensor& scale, const char* what) {
  float s;
  read_scales(ctx, scale, 1, what, &s);
  return s;
}

std::vector<float> read_scales(const OpContext& ctx, const Tensor& scale, int64_t channels,
                               const char* what) {
  std::vector<float> out(static_cast<size_t>(channels));
  read_scales(ctx, scale, channels, what, out.data());
  return out;
}

void read_zero_points(const OpContext& ctx, const Tensor* zero_point, int64_t channels,
                      const char* what, int32_t* out) {
  if (!zero_point) {
    std::fill_n(out, channels, 0);
    return;
  }
  check_count(ctx, zero_point->numel(), channels, what);
  for (int64_t c = 0; c < channels; ++c)
    out[c] =
        static_cast<int32_t>(integer_at(ctx, *zero_point, zero_point->numel() == 1 ? 0 : c, what));
}

std::vector<int32_t> read_zero_points(const OpContext& ctx, const Tensor* zero_point,
                                      int64_t channels, const char* what) {
  std::vector<int32_t> out(static_cast<size_t>(channels));
  read_zero_points(ctx, zero_point, channels, what, out.data());
  return out;
}

int32_t read_zero_point(const OpContext& ctx, const Tensor* zero_point, const char* what) {
  int32_t zero;
  read_zero_points(ctx, zero_point, 1, what, &zero);
  return zero;
}

}  // namespace qdq
