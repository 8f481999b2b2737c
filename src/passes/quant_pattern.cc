#include "passes/quant_pattern.h"

#include <cmath>

#include "passes/pattern.h"

namespace qdq {

float QuantParams::scale_at(int64_t i) const {
  const Tensor& s = *scale->constant;
  return s.data<float>()[s.numel() == 1 ? 0 : i];
}

int32_t QuantParams::zero_point_at(int64_t i) const {
  if (!zero_point) return 0;
  const Tensor& z = *zero_point->constant;
  return static_cast<int32_t>(z.to_int64_vector()[z.numel() == 1 ? 0 : i]);
}

std::optional<QuantParams> constant_quant_params(const Node& n) {
  if (!n.domain.empty() || (n.op_type != "QuantizeLinear" && n.op_type != "DequantizeLinear"))
    return std::nullopt;
  QuantParams p;
  p.scale = n.input(1);
  p.zero_point = n.input(2);
  if (!p.scale || !p.scale->is_constant() || p.scale->constant->dtype() != DType::kFloat32)
    return std::nullopt;
  if (p.zero_point && !p.zero_point->is_constant()) return std::nullopt;
  if (n.attributes.get_int("block_size", 0) != 0) return std::nullopt;
  p.axis = n.attributes.get_int("axis", 1);
  p.type = p.zero_point ? p.zero_point->constant->dtype()
                        : (n.op_type == "DequantizeLinear" ? n.input(0)->dtype : DType::kUInt8);
  if (p.type != DType::kInt8 && p.type != DType::kUInt8 && p.type != DType::kInt32)
    return std::nullopt;
  for (float s : p.scale->constant->values<float>())
    if (!std::isfinite(s) || s <= 0.0f) return std::nullopt;
  if (p.zero_point && p.zero_point->constant->numel() != p.scale->constant->numel() &&
      p.zero_point->constant->numel() != 1)
    return std::nullopt;
  return p;
}

Value* zero_point_value(Graph& graph, const QuantParams& p, const std::string& base) {
  return p.zero_point ? p.zero_point : add_constant(graph, base, Tensor::scalar<uint8_t>(0));
}

bool same_quant_params(const QuantParams& a, const QuantParams& b) {
  const int64_t n = a.scale->constant->numel();
  if (a.type != b.type || n != b.scale->constant->numel()) return false;
  if (n > 1 && a.axis != b.axis) return false;
  for (int64_t i = 0; i < n; ++i)
    if (a.scale_at(i) != b.scale_at(i) || a.zero_point_at(i) != b.zero_point_at(i)) return false;
  return true;
}

}  // namespace qdq
