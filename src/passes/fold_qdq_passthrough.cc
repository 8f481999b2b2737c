#include "passes/fold_qdq_passthrough.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>

#include "graph/quantization.h"
#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// The first opset whose schema of the op accepts 8-bit tensors; unknown ops
// are not pass-through.
int first_8bit_opset(const std::string& op_type) {
  static const std::map<std::string, int> opsets = {
      {"MaxPool", 12}, {"Reshape", 5},   {"Flatten", 9}, {"Transpose", 1},
      {"Squeeze", 1},  {"Unsqueeze", 1}, {"Slice", 1},   {"Pad", 11},
      {"Relu", 12},    {"Clip", 12}};  // as a Clip on the 8-bit tensor
  auto it = opsets.find(op_type);
  return it == opsets.end() ? -1 : it->second;
}

// Q(value) as an 8-bit scalar constant; infinities saturate.
Value* quantized_constant(Graph& graph, const std::string& name, float value,
                          const QuantParams& q) {
  const float scale = q.scale_at(0);
  const int32_t zero = q.zero_point_at(0);
  Tensor t = q.type == DType::kInt8 ? Tensor::scalar(quantize_value<int8_t>(value, scale, zero))
                                    : Tensor::scalar(quantize_value<uint8_t>(value, scale, zero));
  return add_constant(graph, name, std::move(t));
}

// An 8-bit Clip's bounds at its type's limits.
bool clamps_nothing(const std::vector<Value*>& clip_inputs) {
  const Tensor& lo = *clip_inputs[1]->constant;
  const Tensor& hi = *clip_inputs[2]->constant;
  return lo.dtype() == DType::kInt8
             ? lo.data<int8_t>()[0] == INT8_MIN && hi.data<int8_t>()[0] == INT8_MAX
             : lo.data<uint8_t>()[0] == 0 && hi.data<uint8_t>()[0] == UINT8_MAX;
}

// A float constant, also one that comes dequantized (ONNX Runtime's
// quantize_static quantizes Pad's fill value too).
std::optional<float> constant_fill(const Value* v) {
  if (const auto c = constant_scalar(v)) return static_cast<float>(*c);
  Node* dq = producer_if(v, "DequantizeLinear");
  const auto params = dq ? per_tensor_8bit_params(dq) : std::nullopt;
  const auto q = dq ? constant_scalar(dq->input(0)) : std::nullopt;
  if (!params || !q) return std::nullopt;
  return dequantize_value(static_cast<int32_t>(*q), params->scale_at(0), params->zero_point_at(0));
}

// Pad's fill value on the 8-bit tensor: Q(c), so that Q(Pad(DQ(x), c)) =
// Pad(x, Q(c)) element for element (Q of a padded element is Q(c)). nullptr
// when the fill value is not a constant.
Value* quantized_fill(Graph& graph, const Node& pad, const QuantParams& q) {
  float fill = 0.0f;
  if (pad.inputs().size() > 2 && pad.input(2)) {
    const auto c = constant_fill(pad.input(2));
    if (!c) return nullptr;
    fill = *c;
  }
  return quantized_constant(graph, pad.name + "_fill_quantized", fill, q);
}

}  // namespace

int FoldQdqPassthrough::run(Graph& graph, PassContext&) const {
  int folded = 0;
  for (Node* q : graph.topological_order()) {
    if (q->op_type != "QuantizeLinear" || !q->domain.empty()) continue;
    const auto q_params = per_tensor_8bit_params(q);
    Node* op = q->input(0)->producer;
    if (!q_params || !op || !op->domain.empty() || op->outputs().size() != 1 ||
        !has_single_use(op->output(0)) || op->inputs().empty())
      continue;
    const int opset = first_8bit_opset(op->op_type);
    if (opset < 0 || graph.opset < opset) continue;
    Node* dq = producer_if(op->input(0), "DequantizeLinear");
    const auto dq_params = per_tensor_8bit_params(dq);
    if (!dq_params || !same_quant_params(*dq_params, *q_params)) continue;
    std::vector<Value*> inputs = op->inputs();
    inputs[0] = dq->input(0);
    if (op->op_type == "Pad" && op->attributes.get_string("mode", "constant") == "constant") {
      Value* fill = quantized_fill(graph, *op, *q_params);
      if (!fill) continue;
      inputs.resize(std::max<size_t>(inputs.size(), 3));
      inputs[2] = fill;
    }
    std::string op_type = op->op_type;
    Attributes attributes = op->attributes;
    if (op_type == "Relu" || op_type == "Clip") {
      // Q(clamp(DQ(x), lo, hi)) = clamp(x, Q(lo), Q(hi)): Q is monotonic and
      // Q(DQ(x)) = x.
      const auto bounds = activation_bounds(*op);
      if (!bounds) continue;
      inputs = {inputs[0], quantized_constant(graph, op->name + "_min", bounds->first, *q_params),
                quantized_constant(graph, op->name + "_max", bounds->second, *q_params)};
      op_type = "Clip";
      attributes = {};
    }
    Value* out = q->output(0);
    const std::string name = op->name;
    graph.remove_node(q);
    graph.remove_node(op);  // the DQ stays while others read it
    if (op_type == "Clip" && clamps_nothing(inputs) && !out->is_graph_output)
      replace_all_uses(graph, out, inputs[0]);  // the Q range implied the activation
    else
      graph.add_node(op_type, inputs, {out}, name)->attributes = std::move(attributes);
    ++folded;
  }
  return folded;
}

}  // namespace qdq
