#include "passes/quant_pattern.h"

#include <cmath>

#include "graph/quantization.h"
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
    if (!usable_scale(s)) return std::nullopt;
  if (p.zero_point && p.zero_point->constant->numel() != p.scale->constant->numel() &&
      p.zero_point->constant->numel() != 1)
    return std::nullopt;
  return p;
}

std::optional<QuantParams> per_tensor_8bit_params(const Node* n) {
  if (!n) return std::nullopt;
  auto p = constant_quant_params(*n);
  if (!p || !p->per_tensor() || !p->is_8bit()) return std::nullopt;
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

std::optional<QdqConvInputs> match_qdq_conv_inputs(const Node& conv) {
  if (conv.op_type != "Conv" || !conv.domain.empty()) return std::nullopt;
  QdqConvInputs g;
  g.x_dq = producer_if(conv.input(0), "DequantizeLinear");
  g.w_dq = producer_if(conv.input(1), "DequantizeLinear");
  if (!g.x_dq || !g.w_dq) return std::nullopt;
  auto x = constant_quant_params(*g.x_dq);
  auto w = constant_quant_params(*g.w_dq);
  if (!x || !w || !x->is_8bit() || !w->is_8bit() || !x->per_tensor() ||
      !g.w_dq->input(0)->is_constant())
    return std::nullopt;
  const int64_t channels = g.w_dq->input(0)->constant->dim(0);
  if (!w->per_tensor() && (w->axis != 0 || w->scale->constant->numel() != channels))
    return std::nullopt;
  if (Value* bias = conv.input(2)) {
    // A float initializer (QAT exports) or DequantizeLinear(int32 initializer)
    // (ONNX Runtime's quantize_static).
    if (Node* bias_dq = producer_if(bias, "DequantizeLinear")) {
      auto p = constant_quant_params(*bias_dq);
      const Value* bias_q = bias_dq->input(0);
      if (!p || !bias_q->is_constant() || bias_q->constant->dtype() != DType::kInt32 ||
          bias_q->constant->numel() != channels)
        return std::nullopt;
      for (int64_t c = 0; c < channels; ++c)
        if (p->zero_point_at(c) != 0) return std::nullopt;
      g.bias_dq = bias_dq;
      g.bias = *p;
    } else if (!bias->is_constant() || bias->constant->dtype() != DType::kFloat32 ||
               bias->constant->numel() != channels) {
      return std::nullopt;
    }
  }
  g.x = *x;
  g.w = *w;
  return g;
}

}  // namespace qdq
