#include "passes/fold_qdq_conv.h"

#include <cmath>
#include <limits>
#include <tuple>

#include "graph/quantization.h"
#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

// The nodes of one foldable group, found read-only before anything changes.
struct ConvGroup : QdqConvInputs {
  Node* conv;
  Node* activation;  // Relu or Clip, or nullptr
  Node* y_q;
  QuantParams y;
  float act_min = -std::numeric_limits<float>::infinity();
  float act_max = std::numeric_limits<float>::infinity();
};

std::optional<ConvGroup> match(Node* q) {
  ConvGroup g{};
  g.y_q = q;
  auto y = constant_quant_params(*q);
  if (!y || !y->per_tensor() || !y->is_8bit()) return std::nullopt;
  g.y = *y;
  Value* v = q->input(0);
  if (!has_single_use(v) || !v->producer) return std::nullopt;
  Node* n = v->producer;
  if (n->op_type == "Relu" || n->op_type == "Clip") {
    const auto bounds = activation_bounds(*n);
    if (!bounds) return std::nullopt;
    std::tie(g.act_min, g.act_max) = *bounds;
    g.activation = n;
    v = n->input(0);
    if (!has_single_use(v)) return std::nullopt;
  }
  g.conv = producer_if(v, "Conv");
  if (!g.conv) return std::nullopt;
  auto inputs = match_qdq_conv_inputs(*g.conv);
  if (!inputs) return std::nullopt;
  static_cast<QdqConvInputs&>(g) = *inputs;
  return g;
}

// Bias in accumulator units (scale x_scale * w_scale[c]), rounded as ONNX
// Runtime's quantizer rounds it. An int32 bias already in those units (its scale
// equals the float32 product, as quantize_static makes it) is taken as it is.
Value* int32_bias(Graph& graph, const ConvGroup& g, int64_t channels) {
  Tensor bias(DType::kInt32, {channels});
  const Value* b = g.conv->input(2);
  for (int64_t c = 0; c < channels; ++c) {
    const float unit = g.x.scale_at(0) * g.w.scale_at(c);
    double real = 0.0;
    if (g.bias_dq) {
      const int32_t q = g.bias_dq->input(0)->constant->data<int32_t>()[c];
      if (g.bias.scale_at(c) == unit) {
        bias.data<int32_t>()[c] = q;
        continue;
      }
      real = static_cast<double>(dequantize_value(q, g.bias.scale_at(c), 0));
    } else if (b) {
      real = b->constant->data<float>()[c];
    }
    bias.data<int32_t>()[c] = quantize_bias_value(real, unit);
  }
  return add_constant(graph, g.conv->name + "_bias_int32", std::move(bias));
}

template <typename Q>
std::pair<Tensor, Tensor> clamp_bounds(const ConvGroup& g) {
  const float s = g.y.scale_at(0);
  const int32_t z = g.y.zero_point_at(0);
  const Q lo =
      std::isfinite(g.act_min) ? quantize_value<Q>(g.act_min, s, z) : std::numeric_limits<Q>::min();
  const Q hi =
      std::isfinite(g.act_max) ? quantize_value<Q>(g.act_max, s, z) : std::numeric_limits<Q>::max();
  return {Tensor::scalar<Q>(lo), Tensor::scalar<Q>(hi)};
}

void rewrite(Graph& graph, const ConvGroup& g) {
  const int64_t channels = g.w_dq->input(0)->constant->dim(0);
  Value* out = g.y_q->output(0);
  std::vector<Value*> inputs = {g.x_dq->input(0),
                                g.x.scale,
                                zero_point_value(graph, g.x, g.x_dq->name + "_zero"),
                                g.w_dq->input(0),
                                g.w.scale,
                                zero_point_value(graph, g.w, g.w_dq->name + "_zero"),
                                g.y.scale,
                                zero_point_value(graph, g.y, g.y_q->name + "_zero"),
                                int32_bias(graph, g, channels)};
  auto [lo, hi] = g.y.type == DType::kInt8 ? clamp_bounds<int8_t>(g) : clamp_bounds<uint8_t>(g);
  const bool clamps = lo.scalar_as_double() > (g.y.type == DType::kInt8 ? -128.0 : 0.0) ||
                      hi.scalar_as_double() < (g.y.type == DType::kInt8 ? 127.0 : 255.0);
  Attributes attrs = g.conv->attributes;
  const std::string name = g.conv->name;
  graph.remove_node(g.y_q);
  if (g.activation) graph.remove_node(g.activation);
  graph.remove_node(g.conv);
  Value* conv_out = out;
  if (clamps) {
    conv_out = graph.add_value(unique_name(graph, name + "_quantized"), g.y.type);
    conv_out->shape = out->shape;
  }
  Node* qconv = graph.add_node("QLinearConv", inputs, {conv_out}, name);
  qconv->attributes = std::move(attrs);
  if (clamps)
    graph.add_node("Clip",
                   {conv_out, add_constant(graph, name + "_clip_min", std::move(lo)),
                    add_constant(graph, name + "_clip_max", std::move(hi))},
                   {out}, unique_name(graph, name + "_clip"));
}

}  // namespace

int FoldQdqConv::run(Graph& graph, PassContext& context) const {
  // QLinearConv needs opset 10, a Clip on int8 tensors opset 12.
  if (graph.opset < 12) return 0;
  int folded = 0;
  for (Node* n : graph.topological_order()) {
    if (n->op_type != "QuantizeLinear" || !n->domain.empty()) continue;
    if (auto group = match(n); group && !context.float_layers.count(group->conv->name)) {
      // The engine adds a float bias exactly (QConv's float sum, made by
      // layout_nhwc and fuse_qconv_float_sum): no int32 rounding for it.
      const bool float_bias = group->conv->input(2) && !group->bias_dq;
      if (float_bias && context.form == PipelineForm::kEngine) continue;
      rewrite(graph, *group);
      ++folded;
    }
  }
  return folded;
}

}  // namespace qdq
