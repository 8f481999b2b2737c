#include "runtime/layer_comparison.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>

#include "passes/layout_nhwc.h"

namespace qdq {
namespace {

struct Affine {
  float scale;
  int32_t zero_point;
};

// A one-element tensor's value, from the graph or from the run.
using ScalarLookup = std::function<std::optional<double>(const Value*)>;

bool is_qlinear_pair_op(const Node& n) {  // inputs (a, a_s, a_z, b, b_s, b_z, y_s, y_z)
  return n.op_type == "QLinearMatMul" || (n.domain == "com.microsoft" && n.op_type == "QLinearAdd");
}
bool is_qconv(const Node& n) {
  return n.op_type == "QLinearConv" || (n.domain == "ai.qdq" && n.op_type == "QConv");
}

// The (scale, zero point) inputs by which `n` states the parameters of its
// input `index`, or of its output when `index` is npos.
std::optional<std::pair<size_t, size_t>> param_inputs(const Node& n, size_t index) {
  constexpr size_t kOutput = std::string::npos;
  if (n.op_type == "DequantizeLinear" && index == 0) return std::pair<size_t, size_t>{1, 2};
  if (n.op_type == "QuantizeLinear" && index == kOutput) return std::pair<size_t, size_t>{1, 2};
  if (is_qconv(n) || is_qlinear_pair_op(n)) {
    if (index == 0) return std::pair<size_t, size_t>{1, 2};
    if (index == kOutput && n.input(6)) return std::pair<size_t, size_t>{6, 7};
    if (is_qlinear_pair_op(n) && index == 3) return std::pair<size_t, size_t>{4, 5};
    if (is_qconv(n) && index == 9) return std::pair<size_t, size_t>{10, 11};
  }
  return std::nullopt;
}

std::optional<Affine> affine_at(const Node& n, std::pair<size_t, size_t> slots,
                                const ScalarLookup& scalar) {
  const auto scale = scalar(n.input(slots.first));
  if (!scale || !(*scale > 0)) return std::nullopt;
  const auto zero = n.input(slots.second) ? scalar(n.input(slots.second)) : std::optional(0.0);
  if (!zero) return std::nullopt;
  return Affine{static_cast<float>(*scale), static_cast<int32_t>(*zero)};
}

// The parameters of an 8-bit activation, as a reader or its producer states
// them; through ops that move 8-bit values unchanged (MaxPool, Reshape, Slice,
// Pad, Clip, Transpose) back to where they are stated.
std::optional<Affine> activation_params(const Value& v, const ScalarLookup& scalar, int depth = 0) {
  for (const Node* reader : v.consumers)
    for (size_t i = 0; i < reader->inputs().size(); ++i)
      if (reader->input(i) == &v)
        if (const auto slots = param_inputs(*reader, i))
          if (const auto a = affine_at(*reader, *slots, scalar)) return a;
  const Node* producer = v.producer;
  if (!producer) return std::nullopt;
  if (const auto slots = param_inputs(*producer, std::string::npos))
    return affine_at(*producer, *slots, scalar);
  const bool moves_values = producer->domain.empty() && producer->input(0) &&
                            producer->input(0)->dtype == v.dtype && producer->op_type != "Cast";
  if (moves_values && depth < 64) return activation_params(*producer->input(0), scalar, depth + 1);
  return std::nullopt;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// [N, H, W, C] -> [N, C, H, W], in place of `t`.
void to_nchw(RecordedTensor& t) {
  const int64_t n = t.shape[0], h = t.shape[1], w = t.shape[2], c = t.shape[3];
  std::vector<float> out(t.values.size());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int64_t k = 0; k < c; ++k)
          out[static_cast<size_t>(((b * c + k) * h + y) * w + x)] =
              t.values[static_cast<size_t>(((b * h + y) * w + x) * c + k)];
  t.values = std::move(out);
  t.shape = {n, c, h, w};
}

std::optional<std::vector<float>> as_float(const Value& v, const Tensor& t,
                                           const ScalarLookup& scalar) {
  std::vector<float> values(static_cast<size_t>(t.numel()));
  if (t.dtype() == DType::kFloat32) {
    std::copy_n(t.data<float>(), values.size(), values.begin());
    return values;
  }
  if (t.dtype() != DType::kInt8 && t.dtype() != DType::kUInt8) return std::nullopt;
  const auto params = activation_params(v, scalar);
  if (!params) return std::nullopt;
  // DequantizeLinear's arithmetic: (q - zero_point) * scale in float32.
  for (size_t i = 0; i < values.size(); ++i) {
    const int32_t q = t.dtype() == DType::kInt8 ? t.data<int8_t>()[i] : t.data<uint8_t>()[i];
    values[i] = static_cast<float>(q - params->zero_point) * params->scale;
  }
  return values;
}

}  // namespace

ReferenceExecutor::NodeObserver TensorRecorder::observer() {
  return [this](const Node& node, const std::vector<Tensor>& outputs) {
    for (size_t i = 0; i < outputs.size() && i < node.outputs().size(); ++i)
      if (const Value* v = node.output(i)) {
        by_value_[v] = outputs_.size();
        outputs_.push_back({&node, v, outputs[i].clone()});  // the run reuses its memory
      }
  };
}

RecordedTensors TensorRecorder::tensors() const {
  const ScalarLookup scalar = [this](const Value* v) -> std::optional<double> {
    if (!v) return std::nullopt;
    const Tensor* t = v->constant ? &*v->constant : nullptr;
    if (auto it = by_value_.find(v); !t && it != by_value_.end()) t = &outputs_[it->second].tensor;
    if (!t || t->numel() != 1) return std::nullopt;
    return t->scalar_as_double();
  };
  RecordedTensors out;
  for (const Output& o : outputs_) {
    auto values = as_float(*o.value, o.tensor, scalar);
    if (!values) continue;
    RecordedTensor t{o.node, out.size(), o.tensor.shape(), std::move(*values)};
    std::string name = o.value->name;
    if (ends_with(name, kChannelsLastTwinSuffix) && t.shape.size() == 4) {
      name.resize(name.size() - std::string(kChannelsLastTwinSuffix).size());
      to_nchw(t);
    }
    out.emplace(name, std::move(t));  // the first of a name stays
  }
  return out;
}

std::map<std::string, std::string> quantized_tensor_sources(const Graph& model) {
  std::map<std::string, std::string> sources;
  for (const Node* n : model.nodes())
    if (n->domain.empty() && n->op_type == "QuantizeLinear" && n->input(0) && n->output(0))
      sources[n->output(0)->name] = n->input(0)->name;
  return sources;
}

std::vector<TensorDifference> compare_tensors(
    const RecordedTensors& engine, const RecordedTensors& reference,
    const std::map<std::string, std::string>& quantized_sources) {
  std::vector<std::pair<const std::string*, const RecordedTensor*>> in_order;
  for (const auto& [name, t] : engine) in_order.emplace_back(&name, &t);
  std::sort(in_order.begin(), in_order.end(),
            [](const auto& a, const auto& b) { return a.second->order < b.second->order; });
  std::vector<TensorDifference> diffs;
  std::set<std::string> paired;
  for (const auto& [name, e] : in_order) {
    std::string ref_name = *name;
    auto r = reference.find(ref_name);
    if (r == reference.end()) {
      const auto source = quantized_sources.find(*name);
      if (source == quantized_sources.end()) continue;
      ref_name = source->second;
      r = reference.find(ref_name);
      if (r == reference.end()) continue;
    }
    if (r->second.shape != e->shape || !paired.insert(ref_name).second) continue;
    double signal = 0, noise = 0, dot = 0, ee = 0, max_err = 0;
    for (size_t i = 0; i < e->values.size(); ++i) {
      const double a = e->values[i], b = r->second.values[i], d = a - b;
      signal += b * b;
      noise += d * d;
      dot += a * b;
      ee += a * a;
      max_err = std::max(max_err, std::abs(d));
    }
    const double inf = std::numeric_limits<double>::infinity();
    const double sqnr = noise == 0 ? inf : signal == 0 ? -inf : 10 * std::log10(signal / noise);
    const double cosine = ee == 0 && signal == 0   ? 1.0
                          : ee == 0 || signal == 0 ? 0.0
                                                   : dot / std::sqrt(ee * signal);
    diffs.push_back({ref_name, e->layer, e->order, static_cast<int64_t>(e->values.size()), sqnr,
                     cosine, max_err});
  }
  return diffs;
}

}  // namespace qdq
