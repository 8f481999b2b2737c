#include "passes/fusion_explainer.h"

#include "passes/fold_qdq_lookup.h"
#include "passes/fold_qdq_passthrough.h"
#include "passes/fuse_qconv_float_sum.h"
#include "passes/layout_nhwc.h"
#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

std::string quoted(const std::string& s) { return "'" + s + "'"; }

bool is_op(const Node& n, const char* op_type) { return n.domain.empty() && n.op_type == op_type; }

bool is_conv_like(const Node& n) {
  return (n.domain.empty() &&
          (n.op_type == "Conv" || n.op_type == "ConvInteger" || n.op_type == "QLinearConv")) ||
         (n.domain == "ai.qdq" && (n.op_type == "QConv" || n.op_type == "Conv"));
}

// The data inputs a quantized form of `n` reads through DequantizeLinear, when
// some pass lowers `n` to integers; nullopt for ops without an integer form.
std::optional<std::vector<size_t>> quantizable_inputs(const Node& n, int64_t opset) {
  if (!n.domain.empty()) return std::nullopt;
  if (n.op_type == "Conv" || n.op_type == "Gemm" || n.op_type == "MatMul" || n.op_type == "Add")
    return std::vector<size_t>{0, 1};
  if (moves_8bit_values(n, opset) || has_lookup_form(n)) return std::vector<size_t>{0};
  return std::nullopt;
}

// The value before the layout pass's conversion, if it made one: what the
// user's graph calls it.
const Value* before_layout(const Value* v) {
  return v->producer && is_layout_conversion(*v->producer) ? v->producer->input(0) : v;
}

std::string source(const Value* v) {
  v = before_layout(v);
  if (v->is_graph_input) return "the model's input " + quoted(v->name);
  return v->producer ? "from " + v->producer->describe() : "from nothing";
}

// A float-output QConv's sum is exact: an add or activation after it may run
// in its epilogue.
bool is_integer_sum(const Value* v) { return v->producer && is_float_output_qconv(*v->producer); }

// What is wrong with the DequantizeLinear feeding input `index` of `n`, or "".
std::string input_problem(const Node& n, size_t index) {
  const Value* v = before_layout(n.input(index));
  const bool weight = index == 1 && (is_op(n, "Conv") || is_op(n, "Gemm") || is_op(n, "MatMul"));
  const std::string what =
      (weight ? "weight " : "input " + std::to_string(index) + " ") + quoted(v->name);
  Node* dq = producer_if(v, "DequantizeLinear");
  if (!dq) {
    if (v->is_constant())
      return what + " is a float constant, not DequantizeLinear of 8-bit values (quantize the " +
             (weight ? "weights" : "constant") + ")";
    if (v->is_graph_input) return what + " is the model's float input: no QuantizeLinear before it";
    const std::string from = source(v);
    if (is_op(n, "Add"))
      return what + " (" + from +
             ") has no Q/DQ (residual branch): quantize the identity branch, or let "
             "qdq-opt's insert_residual_qdq reuse a quantizer of that tensor";
    return what + " is float (" + from + ", no QuantizeLinear/DequantizeLinear between)";
  }
  const auto params = constant_quant_params(*dq);
  if (!params)
    return dq->describe() +
           ": scale or zero point not constant (or the scale not a positive normal float)";
  if (!params->is_8bit())
    return dq->describe() + ": " + dtype_name(params->type) +
           " values (the INT8 kernels take 8-bit)";
  if (weight) {
    if (!dq->input(0)->is_constant()) return what + " is quantized at run time, not a constant";
    return "";
  }
  if (!params->per_tensor())
    return what + " is quantized per channel (activations must be per tensor)";
  return "";
}

// The QuantizeLinear after `n` (through one Relu/Clip), or "why not".
std::string output_problem(const Node& n) {
  const Value* v = n.output(0);
  std::string where = "its output";
  for (int step = 0;; ++step) {
    if (v->is_graph_output) return where + " " + quoted(v->name) + " is a float model output";
    if (!has_single_use(v))
      return where + " " + quoted(v->name) + " has " + std::to_string(v->consumers.size()) +
             " readers (an INT8 layer needs exactly one QuantizeLinear after it)";
    const Node* next = v->consumers.front();
    if (step == 0 && activation_bounds(*next)) {
      where = "after " + next->describe() + ", the value";
      v = next->output(0);
      continue;
    }
    if (!is_op(*next, "QuantizeLinear"))
      return where + " is read in float by " + next->describe() +
             " (no QuantizeLinear: no output scale to requantize to)";
    if (!per_tensor_8bit_params(next))
      return next->describe() + " is not per-tensor 8-bit with a constant, positive scale";
    return "";
  }
}

std::string float_layer_reason(const Node& n, int64_t opset) {
  if (is_op(n, "DequantizeLinear")) {
    const Value* out = n.output(0);
    if (out->is_graph_output) return "dequantizes a model output";
    if (out->consumers.empty()) return "dequantizes a value nothing reads";
    return "hands " + quoted(out->name) + " to float " + out->consumers.front()->describe();
  }
  if (is_op(n, "QuantizeLinear")) {
    const Value* in = n.input(0);
    if (in->is_graph_input) return "quantizes the model's float input";
    return "quantizes the float output of " +
           (in->producer ? in->producer->describe() : quoted(in->name));
  }
  if (is_layout_conversion(n))
    return "layout change between the channels-last INT8 layers and a layer that reads NCHW";
  if (n.domain == "ai.qdq" && n.op_type == "Conv")
    return "convolution with float weights (no DequantizeLinear of 8-bit weights): FP32 kernel";
  const auto inputs = quantizable_inputs(n, opset);
  if (!inputs) return "no INT8 kernel for " + n.op_type + ": it runs in float between its Q/DQ";
  if (is_op(n, "Add")) {
    const Value* a = n.input(0);
    const Value* b = n.input(1);
    auto float_branch = [](const Value* v) {
      return !producer_if(v, "DequantizeLinear") && !is_integer_sum(v);
    };
    if (float_branch(a) && float_branch(b))
      return "neither input has Q/DQ (" + source(a) + ", " + source(b) +
             "): a residual add of two float branches; quantize one of them (the shortcut's "
             "output) so the add can run in the other's convolution";
    if ((is_integer_sum(a) || is_integer_sum(b)) && !same_shape(a, b))
      return "adds a float-output convolution's result to a tensor of another shape (" + source(a) +
             ", " + source(b) +
             "): a convolution's epilogue adds only a tensor of its output's shape";
  }
  for (size_t i : *inputs) {
    const Value* v = n.input(i);
    if (v && !is_integer_sum(v))
      if (std::string problem = input_problem(n, i); !problem.empty()) return problem;
  }
  if (std::string problem = output_problem(n); !problem.empty()) return problem;
  return "its Q/DQ group matched no folding rule (shapes unknown, or a case qdq does not fold yet)";
}

// Integer layers worth a note: exact, but not the fast form.
std::string slow_integer_reason(const Node& n) {
  if (is_op(n, "QLinearConv"))
    return "stays QLinearConv in NCHW (weights not int8 with zero point 0, or not 2-D): exact, "
           "reference kernel (slower than the channels-last QConv)";
  return "";
}

}  // namespace

bool is_integer_layer(const Node& n) {
  if (n.op_type == "QLinearConv" || n.op_type == "QLinearMatMul" || n.op_type == "ConvInteger" ||
      n.op_type == "MatMulInteger")
    return true;
  // qdq's own: integer convolutions (also those with a float output: their
  // sums are int32) and lookups on 8-bit tensors.
  if (n.domain == "ai.qdq" && (n.op_type == "QConv" || n.op_type == "LookupTable")) return true;
  if (n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") return false;
  auto is_8bit = [](const Value* v) { return v && qdq::is_8bit(v->dtype); };
  return !n.inputs().empty() && is_8bit(n.input(0)) && is_8bit(n.output(0));
}

std::optional<Shape> per_image_shape(const Value& v) {
  if (!v.shape) return std::nullopt;
  Shape shape;
  for (const Dim& d : *v.shape) {
    if (!d.is_known() && d.symbol.empty()) return std::nullopt;
    shape.push_back(d.is_known() ? d.size : 1);
  }
  return shape;
}

int64_t multiply_adds(const Node& n, const ShapeLookup& shape_of) {
  const Value* out = n.output(0);
  const auto out_shape = out ? shape_of(*out) : std::nullopt;
  if (!out_shape) return 0;
  const int64_t outputs = element_count(*out_shape);
  if (is_conv_like(n)) {
    // Weights [M, C/group, kH, kW]: each output sums C/group * kH * kW products.
    const Value* w = n.input(n.op_type == "QLinearConv" || n.op_type == "QConv" ? 3 : 1);
    const auto w_shape = w ? shape_of(*w) : std::nullopt;
    if (!w_shape || w_shape->empty() || (*w_shape)[0] <= 0) return 0;
    return outputs * (element_count(*w_shape) / (*w_shape)[0]);
  }
  const bool matmul = n.domain.empty() && (n.op_type == "MatMul" || n.op_type == "MatMulInteger" ||
                                           n.op_type == "QLinearMatMul" || n.op_type == "Gemm");
  if (!matmul) return 0;
  // K is A's last dim (Gemm: its first when transA).
  const auto a_shape = shape_of(*n.input(0));
  if (!a_shape || a_shape->empty()) return 0;
  const bool trans_a = n.op_type == "Gemm" && n.attributes.get_int("transA", 0) != 0;
  return outputs * (trans_a ? a_shape->front() : a_shape->back());
}

FusionExplanation explain_fusion(const Graph& graph, const ShapeLookup& shape_of) {
  FusionExplanation e;
  for (const Node* n : graph.topological_order()) {
    ++e.layers;
    const int64_t macs = multiply_adds(*n, shape_of);
    e.multiply_adds += macs;
    if (is_integer_layer(*n)) {
      ++e.integer_layers;
      e.integer_multiply_adds += macs;
      if (std::string reason = slow_integer_reason(*n); !reason.empty())
        e.notes.push_back({n, std::move(reason)});
    } else {
      e.notes.push_back({n, float_layer_reason(*n, graph.opset)});
    }
  }
  return e;
}

}  // namespace qdq
