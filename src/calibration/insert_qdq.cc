#include "calibration/insert_qdq.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "graph/quantization.h"
#include "passes/pattern.h"

namespace qdq {
namespace {

// A layer with constant float weights and the axis of its weight that holds
// the output channels; -1 for other nodes.
int64_t output_channel_axis(const Node& n) {
  if (!n.domain.empty() || !n.input(0) || n.input(0)->is_constant()) return -1;
  const Tensor* w = constant_of(n.input(1));
  if (!w || w->dtype() != DType::kFloat32) return -1;
  if (n.op_type == "Conv" && w->rank() >= 3) return 0;
  if (n.op_type == "Gemm" && w->rank() == 2)
    return n.attributes.get_int("transB", 0) ? 0 : 1;  // B is [N, K] or [K, N]
  if (n.op_type == "MatMul" && w->rank() == 2) return 1;
  return -1;
}

std::vector<Node*> quantizable_layers(const Graph& graph, const QuantizeOptions& options) {
  std::vector<Node*> layers;
  for (Node* n : graph.topological_order())
    if (output_channel_axis(*n) >= 0) layers.push_back(n);
  if (options.keep_last_layer && !layers.empty()) layers.pop_back();
  if (options.keep_first_layer && !layers.empty()) layers.erase(layers.begin());
  return layers;
}

float positive_scale(float amax, float levels) { return amax > 0.0f ? amax / levels : 1.0f; }

struct QuantizedWeight {
  Value* dq_output;
  std::vector<float> scales;
};

// w -> int8 per output channel (symmetric, max |w| / 127) -> DequantizeLinear.
QuantizedWeight quantize_weight(Graph& graph, const Node& layer, int64_t axis) {
  const Tensor& w = *layer.input(1)->constant;
  const int64_t channels = w.dim(static_cast<size_t>(axis));
  // Element i's channel: (i / inner) % channels, inner = product of dims after axis.
  int64_t inner = 1;
  for (size_t d = static_cast<size_t>(axis) + 1; d < w.rank(); ++d) inner *= w.dim(d);
  std::vector<float> amax(static_cast<size_t>(channels), 0.0f);
  for (int64_t i = 0; i < w.numel(); ++i) {
    float& a = amax[static_cast<size_t>((i / inner) % channels)];
    a = std::max(a, std::fabs(w.data<float>()[i]));
  }
  QuantizedWeight out;
  for (float a : amax) out.scales.push_back(positive_scale(a, 127.0f));
  Tensor q(DType::kInt8, w.shape());
  for (int64_t i = 0; i < w.numel(); ++i)
    q.data<int8_t>()[i] = quantize_value<int8_t>(
        w.data<float>()[i], out.scales[static_cast<size_t>((i / inner) % channels)], 0);
  const std::string base = layer.input(1)->name;
  Value* scale =
      add_constant(graph, base + "_scale", Tensor::from_vector<float>({channels}, out.scales));
  Value* zero =
      add_constant(graph, base + "_zero_point",
                   Tensor::from_vector<int8_t>(
                       {channels}, std::vector<int8_t>(static_cast<size_t>(channels), 0)));
  out.dq_output = graph.add_value(unique_name(graph, base + "_dequantized"), DType::kFloat32);
  out.dq_output->shape = layer.input(1)->shape;
  Node* dq = graph.add_node("DequantizeLinear",
                            {add_constant(graph, base + "_quantized", std::move(q)), scale, zero},
                            {out.dq_output}, unique_name(graph, base + "_DequantizeLinear"));
  dq->attributes.set("axis", axis);
  return out;
}

// bias -> int32 with scale x_scale * w_scale[c] -> DequantizeLinear.
Value* quantize_bias(Graph& graph, const Value* bias, float x_scale,
                     const std::vector<float>& w_scales) {
  const Tensor& b = *bias->constant;
  const int64_t n = b.numel();
  std::vector<float> scales(static_cast<size_t>(n));
  Tensor q(DType::kInt32, {n});
  for (int64_t c = 0; c < n; ++c) {
    scales[c] = x_scale * w_scales[static_cast<size_t>(c)];
    q.data<int32_t>()[c] = quantize_bias_value(b.data<float>()[c], static_cast<double>(scales[c]));
  }
  Value* out = graph.add_value(unique_name(graph, bias->name + "_dequantized"), DType::kFloat32);
  out->shape = bias->shape;
  Node* dq = graph.add_node(
      "DequantizeLinear",
      {add_constant(graph, bias->name + "_quantized", std::move(q)),
       add_constant(graph, bias->name + "_scale", Tensor::from_vector<float>({n}, scales)),
       add_constant(
           graph, bias->name + "_zero_point",
           Tensor::from_vector<int32_t>({n}, std::vector<int32_t>(static_cast<size_t>(n), 0)))},
      {out}, unique_name(graph, bias->name + "_DequantizeLinear"));
  dq->attributes.set("axis", int64_t{0});
  return out;
}

struct QuantizedActivation {
  Value* dq_output;
  float scale;
};

// uint8 over `range`: zero point 0 for a nonnegative tensor, else the grid
// point nearest to zero's place in [min, max] (ONNX Runtime's u8 activations).
struct ActivationQuantization {
  float scale;
  uint8_t zero_point;
};

ActivationQuantization activation_quantization(const TensorRange& range) {
  const float scale = positive_scale(range.max - range.min, 255.0f);
  const float zero = std::nearbyint(-range.min / scale);
  return {scale, static_cast<uint8_t>(std::clamp(zero, 0.0f, 255.0f))};
}

// x -> QuantizeLinear -> DequantizeLinear, and every float reader of x but the
// new Q reads the DQ instead.
QuantizedActivation quantize_activation(Graph& graph, Value* x, const TensorRange& range) {
  const ActivationQuantization quantization = activation_quantization(range);
  Value* s = add_constant(graph, x->name + "_scale", Tensor::scalar(quantization.scale));
  Value* z = add_constant(graph, x->name + "_zero_point",
                          Tensor::scalar<uint8_t>(quantization.zero_point));
  const std::vector<Node*> readers = x->consumers;
  Value* q = graph.add_value(unique_name(graph, x->name + "_quantized"), DType::kUInt8);
  q->shape = x->shape;
  graph.add_node("QuantizeLinear", {x, s, z}, {q}, unique_name(graph, x->name + "_QuantizeLinear"));
  Value* dq = graph.add_value(unique_name(graph, x->name + "_dequantized"), DType::kFloat32);
  dq->shape = x->shape;
  graph.add_node("DequantizeLinear", {q, s, z}, {dq},
                 unique_name(graph, x->name + "_DequantizeLinear"));
  for (Node* reader : readers)
    for (size_t i = 0; i < reader->inputs().size(); ++i)
      if (reader->inputs()[i] == x) graph.replace_input(reader, i, dq);
  return {dq, quantization.scale};
}

}  // namespace

std::vector<std::string> tensors_to_calibrate(const Graph& graph, const QuantizeOptions& options) {
  std::vector<std::string> names;
  std::set<std::string> seen;
  for (const Node* layer : quantizable_layers(graph, options))
    if (seen.insert(layer->input(0)->name).second) names.push_back(layer->input(0)->name);
  return names;
}

int insert_qdq(Graph& graph, const std::map<std::string, TensorRange>& ranges,
               const QuantizeOptions& options) {
  const std::vector<Node*> layers = quantizable_layers(graph, options);
  // Each layer's input before any is rewired (layers may share one).
  std::vector<Value*> inputs;
  for (Node* layer : layers) inputs.push_back(layer->input(0));
  std::map<const Value*, QuantizedActivation> activations;
  for (Value* x : inputs) {
    if (activations.count(x)) continue;
    auto range = ranges.find(x->name);
    check(range != ranges.end(), "no calibrated range for tensor '" + x->name + "'");
    activations.emplace(x, quantize_activation(graph, x, range->second));
  }
  for (size_t i = 0; i < layers.size(); ++i) {
    Node* layer = layers[i];
    const QuantizedWeight w = quantize_weight(graph, *layer, output_channel_axis(*layer));
    graph.replace_input(layer, 1, w.dq_output);
    const Value* bias = layer->input(2);
    if (bias && bias->is_constant() && bias->constant->dtype() == DType::kFloat32 &&
        bias->constant->numel() == static_cast<int64_t>(w.scales.size()))
      graph.replace_input(layer, 2,
                          quantize_bias(graph, bias, activations.at(inputs[i]).scale, w.scales));
  }
  return static_cast<int>(layers.size());
}

}  // namespace qdq
