#include "passes/fold_qdq_passthrough.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

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

// Q(value) with per-tensor 8-bit parameters; infinities saturate.
int32_t quantized_level(const QuantParams& q, float value) {
  return q.type == DType::kInt8 ? quantize_value<int8_t>(value, q.scale_at(0), q.zero_point_at(0))
                                : quantize_value<uint8_t>(value, q.scale_at(0), q.zero_point_at(0));
}

// Q(value) as a scalar constant of the quantized type.
Value* quantized_constant(Graph& graph, const std::string& name, float value,
                          const QuantParams& q) {
  const int32_t level = quantized_level(q, value);
  return add_constant(graph, name,
                      q.type == DType::kInt8 ? Tensor::scalar(static_cast<int8_t>(level))
                                             : Tensor::scalar(static_cast<uint8_t>(level)));
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

// `op`, reading DQ(x) with parameters `p`, as the same op on x itself: its
// type and inputs (Pad's fill value and Relu/Clip's bounds quantized with p;
// Relu becomes a Clip). nullopt when a fill value or bound is not constant,
// or, with `representable`, when one does not survive Q then DQ unchanged
// (the result is then DQ'd, not Q'd, so the op must commute with DQ exactly).
struct OpOn8Bit {
  std::string op_type;
  std::vector<Value*> inputs;
  Attributes attributes;
};
std::optional<OpOn8Bit> on_8bit(Graph& graph, const Node& op, Value* x, const QuantParams& p,
                                bool representable) {
  auto exact = [&](float v) {
    return !representable ||
           dequantize_value(quantized_level(p, v), p.scale_at(0), p.zero_point_at(0)) == v;
  };
  OpOn8Bit out{op.op_type, op.inputs(), op.attributes};
  out.inputs[0] = x;
  if (op.op_type == "Pad" && op.attributes.get_string("mode", "constant") == "constant") {
    float fill = 0.0f;
    if (op.inputs().size() > 2 && op.input(2)) {
      const auto c = constant_fill(op.input(2));
      if (!c) return std::nullopt;
      fill = *c;
    }
    if (!exact(fill)) return std::nullopt;
    out.inputs.resize(std::max<size_t>(out.inputs.size(), 3));
    out.inputs[2] = quantized_constant(graph, op.name + "_fill_quantized", fill, p);
  }
  if (op.op_type == "Relu" || op.op_type == "Clip") {
    // clamp(DQ(x), lo, hi) -> Q: clamp(x, Q(lo), Q(hi)), Q being monotonic
    // and Q(DQ(x)) = x.
    const auto bounds = activation_bounds(op);
    if (!bounds || (std::isfinite(bounds->first) && !exact(bounds->first)) ||
        (std::isfinite(bounds->second) && !exact(bounds->second)))
      return std::nullopt;
    out.inputs = {x, quantized_constant(graph, op.name + "_min", bounds->first, p),
                  quantized_constant(graph, op.name + "_max", bounds->second, p)};
    out.op_type = "Clip";
    out.attributes = {};
  }
  return out;
}

// The ops this pass moves, with a DequantizeLinear of per-tensor 8-bit
// parameters before them; nullptr otherwise.
Node* dequantized_input(const Graph& graph, const Node& op) {
  if (!op.domain.empty() || op.outputs().size() != 1 || op.inputs().empty()) return nullptr;
  const int opset = first_8bit_opset(op.op_type);
  if (opset < 0 || graph.opset < opset) return nullptr;
  Node* dq = producer_if(op.input(0), "DequantizeLinear");
  return per_tensor_8bit_params(dq) ? dq : nullptr;
}

// DQ(x) -> op -> Q of the same parameters: op on x, writing the Q's output.
int fold_between_dq_and_q(Graph& graph) {
  int folded = 0;
  for (Node* q : graph.topological_order()) {
    if (q->op_type != "QuantizeLinear" || !q->domain.empty()) continue;
    const auto q_params = per_tensor_8bit_params(q);
    Node* op = q->input(0)->producer;
    if (!q_params || !op || !has_single_use(op->output(0))) continue;
    Node* dq = dequantized_input(graph, *op);
    if (!dq || !same_quant_params(*per_tensor_8bit_params(dq), *q_params)) continue;
    auto moved = on_8bit(graph, *op, dq->input(0), *q_params, false);
    if (!moved) continue;
    Value* out = q->output(0);
    const std::string name = op->name;
    graph.remove_node(q);
    graph.remove_node(op);  // the DQ stays while others read it
    if (moved->op_type == "Clip" && clamps_nothing(moved->inputs) && !out->is_graph_output)
      replace_all_uses(graph, out, moved->inputs[0]);  // the Q range implied the activation
    else
      graph.add_node(moved->op_type, moved->inputs, {out}, name)->attributes =
          std::move(moved->attributes);
    ++folded;
  }
  return folded;
}

// DQ(x) -> op read in float (no Q after it): op on x, then the DQ. The float
// reader (a residual add after an option-A shortcut's Slice and Pad) then
// reads a DequantizeLinear directly, which the conv epilogues fuse.
int sink_dequantize(Graph& graph) {
  int sunk = 0;
  std::set<const Node*> removed;  // the snapshot below still lists them
  for (Node* op : graph.topological_order()) {
    if (removed.count(op)) continue;
    Node* dq = dequantized_input(graph, *op);
    if (!dq) continue;
    const auto params = per_tensor_8bit_params(dq);
    Value* x = dq->input(0);
    auto moved = on_8bit(graph, *op, x, *params, true);
    if (!moved) continue;
    Value* out = op->output(0);
    Value* moved_out = graph.add_value(unique_name(graph, out->name + "_8bit"), x->dtype);
    moved_out->shape = out->shape;
    std::vector<Value*> dq_inputs = dq->inputs();
    dq_inputs[0] = moved_out;
    const std::string name = op->name;
    Attributes dq_attributes = dq->attributes;
    removed.insert(op);
    graph.remove_node(op);
    graph.add_node(moved->op_type, moved->inputs, {moved_out}, name)->attributes =
        std::move(moved->attributes);
    graph
        .add_node("DequantizeLinear", dq_inputs, {out},
                  unique_name(graph, name + "_DequantizeLinear"))
        ->attributes = std::move(dq_attributes);
    ++sunk;
  }
  return sunk;
}

}  // namespace

bool moves_8bit_values(const Node& n, int64_t opset) {
  const int first = n.domain.empty() ? first_8bit_opset(n.op_type) : -1;
  return first >= 0 && opset >= first;
}

int FoldQdqPassthrough::run(Graph& graph, PassContext&) const {
  const int folded = fold_between_dq_and_q(graph);
  return folded + sink_dequantize(graph);
}

}  // namespace qdq
