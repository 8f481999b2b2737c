// Matching the quantization side of a pattern: DequantizeLinear/QuantizeLinear
// nodes whose scale and zero point are constants.
#pragma once

#include <optional>
#include <vector>

#include "graph/graph.h"

namespace qdq {

struct QuantParams {
  Value* scale = nullptr;       // constant float32, one value or one per channel
  Value* zero_point = nullptr;  // constant, or nullptr (then 0, uint8)
  int64_t axis = 1;
  DType type = DType::kUInt8;  // the quantized element type (int32 for biases)

  bool is_8bit() const { return qdq::is_8bit(type); }

  bool per_tensor() const { return scale->constant->numel() == 1; }
  float scale_at(int64_t i) const;
  int32_t zero_point_at(int64_t i) const;
};

// The parameters of a DequantizeLinear or QuantizeLinear node when they are
// constants with positive finite scales; nullopt otherwise.
std::optional<QuantParams> constant_quant_params(const Node& q_or_dq);
// constant_quant_params of `n` when they are per tensor and 8-bit (the
// activations' kind); nullopt otherwise, also for a null `n`.
std::optional<QuantParams> per_tensor_8bit_params(const Node* n);
// The zero point as a value for a QLinear op's input list: the existing one,
// or a new uint8 0 (the type ONNX assumes when it is absent).
Value* zero_point_value(Graph& graph, const QuantParams& p, const std::string& base);
// Same parameters (scale and zero point values, type, axis where per-channel).
bool same_quant_params(const QuantParams& a, const QuantParams& b);

// The input side of a quantized convolution, Conv(DQ(x), DQ(w) [, bias]): x
// per-tensor 8-bit, w a constant 8-bit initializer quantized per tensor or per
// output channel (axis 0), the bias a float32 constant or DequantizeLinear of an
// int32 constant with zero points 0, one per output channel.
struct QdqConvInputs {
  Node* x_dq = nullptr;
  Node* w_dq = nullptr;
  Node* bias_dq = nullptr;  // when the bias is DequantizeLinear(int32)
  QuantParams x, w, bias;
};
std::optional<QdqConvInputs> match_qdq_conv_inputs(const Node& conv);

}  // namespace qdq
