#include "passes/fuse_qconv_float_sum.h"

#include <limits>
#include <set>

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// The single node reading `v`, or nullptr.
Node* only_reader(const Value* v) { return has_single_use(v) ? v->consumers.front() : nullptr; }

// The nodes of one fusable chain, found before anything changes.
struct FloatSum {
  Node* add = nullptr;
  Value* residual = nullptr;    // the Add's other input, or the 8-bit value below
  Node* residual_dq = nullptr;  // the DequantizeLinear it came through, if 8-bit
  Node* activation = nullptr;
  std::pair<float, float> bounds{-std::numeric_limits<float>::infinity(),
                                 std::numeric_limits<float>::infinity()};
  Node* q = nullptr;  // absent: the output stays float
  QuantParams y;
  Value* output = nullptr;  // what the fused conv writes
};

std::optional<FloatSum> match(const Node& conv) {
  FloatSum f;
  Value* v = conv.output(0);
  Node* next = only_reader(v);
  if (next && next->domain.empty() && next->op_type == "Add") {
    Value* other = next->input(next->input(0) == v ? 1 : 0);
    // Elementwise on equal shapes, so the sum is per output element in
    // whatever layout both sides are in (the layout pass keeps them alike).
    if (!same_shape(other, v)) return std::nullopt;
    f.residual_dq = producer_if(other, "DequantizeLinear");
    if (f.residual_dq && per_tensor_8bit_params(f.residual_dq)) {
      f.residual = f.residual_dq->input(0);
    } else if (other->dtype == DType::kFloat32) {  // another float-output conv's, say
      f.residual_dq = nullptr;
      f.residual = other;
    } else {
      return std::nullopt;
    }
    f.add = next;
    v = next->output(0);
    next = only_reader(v);
  }
  if (const auto bounds = next ? activation_bounds(*next) : std::nullopt) {
    f.activation = next;
    f.bounds = *bounds;
    v = next->output(0);
    next = only_reader(v);
  }
  const auto y = next && next->op_type == "QuantizeLinear" && next->domain.empty()
                     ? per_tensor_8bit_params(next)
                     : std::nullopt;
  if (y) {
    f.q = next;
    f.y = *y;
    f.output = next->output(0);
  } else if (f.add || f.activation) {  // read in float (a pooling, several readers)
    f.output = v;
  } else {
    return std::nullopt;
  }
  return f;
}

// The conv's float bias, or zeros: a float bias is what marks the float sum.
Value* float_bias(Graph& graph, const Node& conv) {
  if (Value* b = conv.input(8)) return b;
  const int64_t channels = constant_of(conv.input(3))->dim(0);
  return add_constant(graph, conv.name + "_bias", Tensor(DType::kFloat32, {channels}));
}

}  // namespace

bool is_float_output_qconv(const Node& n) {
  return n.domain == "ai.qdq" && n.op_type == "QConv" && !n.input(6) && !n.input(9);
}

int FuseQConvFloatSum::run(Graph& graph, PassContext&) const {
  int fused = 0;
  std::set<const Node*> removed;  // the snapshot below still lists them
  for (Node* conv : graph.topological_order()) {
    if (removed.count(conv) || !is_float_output_qconv(*conv)) continue;
    const auto f = match(*conv);
    if (!f) continue;
    std::vector<Value*> inputs = conv->inputs();
    inputs.resize(9, nullptr);
    if (f->q) {
      inputs[6] = f->y.scale;
      inputs[7] = zero_point_value(graph, f->y, f->q->name + "_zero");
    }
    inputs[8] = float_bias(graph, *conv);
    if (f->residual) inputs.push_back(f->residual);
    if (f->residual_dq) {
      const auto r = *per_tensor_8bit_params(f->residual_dq);
      inputs.push_back(r.scale);
      inputs.push_back(zero_point_value(graph, r, f->residual_dq->name + "_zero"));
    }
    Attributes attributes = conv->attributes;
    attributes.set("activation_min", f->bounds.first);
    attributes.set("activation_max", f->bounds.second);
    if (f->activation && f->activation->op_type == "Relu")
      attributes.set("activation_relu", int64_t{1});
    Value* out = f->output;
    const std::string name = conv->name;
    for (Node* n : {f->q, f->activation, f->add, conv})
      if (n) {
        removed.insert(n);
        graph.remove_node(n);
      }
    Node* fused_conv = graph.add_node("QConv", inputs, {out}, name);
    fused_conv->domain = "ai.qdq";
    fused_conv->attributes = std::move(attributes);
    ++fused;
  }
  return fused;
}

}  // namespace qdq
