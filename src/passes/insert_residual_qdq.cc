#include "passes/insert_residual_qdq.h"

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// A QuantizeLinear reading `v` per tensor into 8 bits, or nullptr.
Node* quantizer_of(const Value* v) {
  for (Node* c : v->consumers)
    if (c->op_type == "QuantizeLinear" && c->domain.empty() && c->input(0) == v &&
        per_tensor_8bit_params(c))
      return c;
  return nullptr;
}

// A convolution the lowering makes integer: its float output is what the
// add can be fused after.
bool is_quantized_conv_output(const Value* v) {
  return v->producer && match_qdq_conv_inputs(*v->producer).has_value();
}

}  // namespace

int InsertResidualQdq::run(Graph& graph, PassContext& context) const {
  int inserted = 0;
  for (Node* add : graph.topological_order()) {
    if (add->op_type != "Add" || !add->domain.empty() || add->inputs().size() != 2) continue;
    for (size_t side = 0; side < 2; ++side) {
      Value* identity = add->input(side);
      Node* q = quantizer_of(identity);
      if (!q || identity->is_constant() || producer_if(identity, "DequantizeLinear") ||
          !is_quantized_conv_output(add->input(1 - side)))
        continue;
      Value* dequantized =
          graph.add_value(unique_name(graph, q->output(0)->name + "_residual"), DType::kFloat32);
      dequantized->shape = identity->shape;
      graph.add_node("DequantizeLinear", {q->output(0), q->input(1), q->input(2)}, {dequantized},
                     unique_name(graph, q->name + "_residual_dq"));
      graph.replace_input(add, side, dequantized);
      ++inserted;
      break;
    }
  }
  if (inserted > 0)
    context.warnings.push_back(
        "insert_residual_qdq: " + std::to_string(inserted) +
        " residual Add(s) now read their float input quantized, through the Q/DQ of its other "
        "reader (TensorRT's rule, so the add runs in the conv's epilogue): that input is "
        "rounded to its quantizer's step");
  return inserted;
}

}  // namespace qdq
