#include "passes/fold_qdq_passthrough.h"

#include <map>

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// The first opset whose schema of the op accepts 8-bit tensors; unknown ops
// are not pass-through.
int first_8bit_opset(const std::string& op_type) {
  static const std::map<std::string, int> opsets = {{"MaxPool", 12}, {"Reshape", 5},
                                                    {"Flatten", 9},  {"Transpose", 1},
                                                    {"Squeeze", 1},  {"Unsqueeze", 1}};
  auto it = opsets.find(op_type);
  return it == opsets.end() ? -1 : it->second;
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
    Value* out = q->output(0);
    const std::string op_type = op->op_type, name = op->name;
    Attributes attributes = op->attributes;
    graph.remove_node(q);
    graph.remove_node(op);  // the DQ stays while others read it
    graph.add_node(op_type, inputs, {out}, name)->attributes = std::move(attributes);
    ++folded;
  }
  return folded;
}

}  // namespace qdq
