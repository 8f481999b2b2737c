#include "passes/lower_qdq_gemm.h"

#include <set>

#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// The operands of a Gemm/MatMul that lowers, found before anything changes.
struct GemmOperands {
  Node* x_dq = nullptr;
  Node* w_dq = nullptr;
  QuantParams w;
  bool w_is_k_by_m = false;  // MatMul, or Gemm with transB = 0
  Value* bias = nullptr;     // one value per output column, or nullptr
  Dim batch;                 // the rows of x
};

// The shape of `v`, looking through the Q/DQ chain that produced it (they keep
// shapes) when `v`'s own is not known; nullopt when no link knows it.
std::optional<SymbolicShape> shape_through_qdq(const Value* v) {
  while (!v->shape && v->producer && v->producer->domain.empty() &&
         (v->producer->op_type == "DequantizeLinear" || v->producer->op_type == "QuantizeLinear"))
    v = v->producer->input(0);
  return v->shape;
}

// The bias as a Conv takes it: M values, 1-D. A float constant or
// DequantizeLinear of an int32 constant (what fold_qdq_conv lowers); a bias
// that broadcasts over rows as well is not a per-column bias.
bool conv_bias(Value* c, int64_t m) {
  if (!c) return true;
  if (Node* dq = producer_if(c, "DequantizeLinear")) {
    const Tensor* q = constant_of(dq->input(0));
    return q && q->dtype() == DType::kInt32 && q->rank() == 1 && q->numel() == m;
  }
  const Tensor* t = constant_of(c);
  return t && t->dtype() == DType::kFloat32 && t->numel() == m &&
         (t->rank() == 1 || (t->rank() == 2 && t->dim(0) == 1));
}

std::optional<GemmOperands> match(const Node& n) {
  if (!n.domain.empty() || (n.op_type != "Gemm" && n.op_type != "MatMul")) return std::nullopt;
  GemmOperands g;
  if (n.op_type == "Gemm") {
    const Attributes& a = n.attributes;
    if (a.get_float("alpha", 1.0f) != 1.0f || a.get_float("beta", 1.0f) != 1.0f ||
        a.get_int("transA", 0) != 0)
      return std::nullopt;
    g.w_is_k_by_m = a.get_int("transB", 0) == 0;
  } else {
    g.w_is_k_by_m = true;
  }
  // Gemm's A is 2-D by definition; MatMul's must be known to be.
  const auto x_shape = shape_through_qdq(n.input(0));
  if (x_shape ? x_shape->size() != 2 : n.op_type != "Gemm") return std::nullopt;
  g.batch = x_shape ? (*x_shape)[0] : Dim{};
  g.x_dq = producer_if(n.input(0), "DequantizeLinear");
  g.w_dq = producer_if(n.input(1), "DequantizeLinear");
  const auto x_params = per_tensor_8bit_params(g.x_dq);
  if (!x_params || !g.w_dq) return std::nullopt;
  const Tensor* w = constant_of(g.w_dq->input(0));
  const auto w_params = constant_quant_params(*g.w_dq);
  if (!w || w->rank() != 2 || !is_8bit(w->dtype()) || !w_params) return std::nullopt;
  g.w = *w_params;
  const int64_t m = w->dim(g.w_is_k_by_m ? 1 : 0);
  const int64_t out_axis = g.w_is_k_by_m ? 1 : 0;
  if (!g.w.per_tensor() && ((g.w.axis + 2) % 2 != out_axis || g.w.scale->constant->numel() != m))
    return std::nullopt;
  g.bias = n.op_type == "Gemm" ? n.input(2) : nullptr;
  if (!conv_bias(g.bias, m)) return std::nullopt;
  return g;
}

// The weights as a 1x1 Conv reads them: [M, K, 1, 1].
Tensor conv_weights(const Tensor& w, bool k_by_m) {
  const int64_t m = w.dim(k_by_m ? 1 : 0), k = w.dim(k_by_m ? 0 : 1);
  Tensor out(w.dtype(), {m, k, 1, 1});
  const auto* src = static_cast<const uint8_t*>(w.raw());
  auto* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t o = 0; o < m; ++o)
    for (int64_t i = 0; i < k; ++i) dst[o * k + i] = k_by_m ? src[i * m + o] : src[o * k + i];
  return out;
}

Value* shape_constant(Graph& graph, const std::string& base, std::vector<int64_t> dims) {
  return add_constant(graph, base,
                      Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
}

// A new value named after `base`, of `dtype`, with the given known dims after
// `batch` (the rows' dim of the Gemm, kept symbolic when it is).
Value* add_value(Graph& graph, const std::string& base, DType dtype, const Dim& batch,
                 std::vector<int64_t> dims) {
  Value* v = graph.add_value(unique_name(graph, base), dtype);
  SymbolicShape shape = {batch};
  for (int64_t d : dims) shape.push_back(Dim{d, ""});
  v->shape = shape;
  return v;
}

}  // namespace

int LowerQdqGemm::run(Graph& graph, PassContext& context) const {
  int lowered = 0;
  std::set<const Node*> removed;  // the snapshot below still lists them
  for (Node* n : graph.topological_order()) {
    if (removed.count(n) || context.float_layers.count(n->name)) continue;
    const auto g = match(*n);
    if (!g) continue;
    const Tensor& w = *constant_of(g->w_dq->input(0));
    const int64_t m = w.dim(g->w_is_k_by_m ? 1 : 0), k = w.dim(g->w_is_k_by_m ? 0 : 1);
    const Dim batch = g->batch;
    const std::string name = n->name;
    Value* x_q = g->x_dq->input(0);

    Value* x4 = add_value(graph, x_q->name + "_nk11", x_q->dtype, batch, {k, 1, 1});
    graph.add_node("Reshape", {x_q, shape_constant(graph, name + "_nk11", {0, -1, 1, 1})}, {x4},
                   unique_name(graph, name + "_to_nk11"));
    Value* x4_float =
        add_value(graph, x4->name + "_dequantized", DType::kFloat32, batch, {k, 1, 1});
    graph.add_node("DequantizeLinear", {x4, g->x_dq->input(1), g->x_dq->input(2)}, {x4_float},
                   unique_name(graph, g->x_dq->name + "_nk11"));

    Value* w4 =
        add_constant(graph, g->w_dq->input(0)->name + "_mk11", conv_weights(w, g->w_is_k_by_m));
    Value* w4_float =
        graph.add_value(unique_name(graph, w4->name + "_dequantized"), DType::kFloat32);
    Node* w4_dq = graph.add_node("DequantizeLinear", {w4, g->w.scale, g->w_dq->input(2)},
                                 {w4_float}, unique_name(graph, g->w_dq->name + "_mk11"));
    if (!g->w.per_tensor()) w4_dq->attributes.set("axis", int64_t{0});

    Value* bias = g->bias;
    if (bias && bias->is_constant() && bias->constant->rank() != 1)
      bias = add_constant(graph, bias->name + "_1d", bias->constant->clone().reshaped({m}));
    Value* y4 = add_value(graph, name + "_nm11", DType::kFloat32, batch, {m, 1, 1});
    std::vector<Value*> conv_inputs = {x4_float, w4_float};
    if (bias) conv_inputs.push_back(bias);
    graph.add_node("Conv", conv_inputs, {y4}, name);

    // The QuantizeLinear reading the product moves before the Reshape back,
    // where fold_qdq_conv looks for it.
    Value* out = n->output(0);
    Node* q = out->consumers.size() == 1 && !out->is_graph_output ? out->consumers[0] : nullptr;
    const bool quantized = q && q->op_type == "QuantizeLinear" && q->domain.empty() &&
                           per_tensor_8bit_params(q).has_value();
    graph.remove_node(n);
    Value* flat_source = y4;
    if (quantized) {
      out = q->output(0);
      Value* y4_q = add_value(graph, out->name + "_nm11", out->dtype, batch, {m, 1, 1});
      std::vector<Value*> q_inputs = q->inputs();
      q_inputs[0] = y4;
      const std::string q_name = q->name;
      removed.insert(q);
      graph.remove_node(q);
      graph.add_node("QuantizeLinear", q_inputs, {y4_q}, q_name);
      flat_source = y4_q;
    }
    graph.add_node("Reshape", {flat_source, shape_constant(graph, name + "_nm", {0, -1})}, {out},
                   unique_name(graph, name + "_to_nm"));
    ++lowered;
  }
  return lowered;
}

}  // namespace qdq
