#include "passes/layout_nhwc.h"

#include <algorithm>
#include <unordered_map>

#include "graph/quantization.h"
#include "passes/pattern.h"
#include "passes/quant_pattern.h"

namespace qdq {
namespace {

const std::vector<int64_t> kToNhwc = {0, 2, 3, 1};
const std::vector<int64_t> kToNchw = {0, 3, 1, 2};

bool is_zero(const Tensor* t) {
  if (!t) return false;
  for (int64_t i = 0; i < t->numel(); ++i)
    if (t->dtype() != DType::kInt8 || t->data<int8_t>()[i] != 0) return false;
  return true;
}

// QLinearConv over a 4-D input whose weights the QConv kernels pack: int8,
// constant, zero points all 0 (ONNX Runtime's and pytorch-quantization's
// symmetric weights).
bool is_channels_last_conv(const Node& n) {
  if (n.op_type != "QLinearConv" || !n.domain.empty()) return false;
  const Tensor* w = constant_of(n.input(3));
  return w && w->dtype() == DType::kInt8 && w->rank() == 4 && is_zero(constant_of(n.input(5)));
}

// Conv(DQ(x), DQ(w)) that fold_qdq_conv left in float because its output is
// not quantized again (TensorRT-style QAT: a residual Add or a pooling comes
// first): a QConv with a float output, when its weights pack.
std::optional<QdqConvInputs> float_output_conv(const Node& n) {
  auto in = match_qdq_conv_inputs(n);
  if (!in) return std::nullopt;
  const Tensor* w = constant_of(in->w_dq->input(0));
  if (w->dtype() != DType::kInt8 || w->rank() != 4) return std::nullopt;
  for (int64_t c = 0; c < (in->w.per_tensor() ? 1 : w->dim(0)); ++c)
    if (in->w.zero_point_at(c) != 0) return std::nullopt;
  return in;
}

// The float bias of a float-output QConv: the Conv's, dequantized when it
// comes through DequantizeLinear(int32).
Value* float_bias(Graph& graph, const Node& conv, const QdqConvInputs& in) {
  if (!in.bias_dq) return conv.input(2);
  const Tensor& q = *in.bias_dq->input(0)->constant;
  Tensor bias(DType::kFloat32, {q.numel()});
  for (int64_t c = 0; c < q.numel(); ++c)
    bias.data<float>()[c] = dequantize_value(q.data<int32_t>()[c], in.bias.scale_at(c), 0);
  return add_constant(graph, conv.name + "_bias_float", std::move(bias));
}

// Ops whose result at an element depends only on the inputs' same element (with
// broadcasting, which commutes with permuting every input's dims alike), so they
// run unchanged in any layout: the ones between convolutions in CNNs. Returns
// the indices of their data inputs.
std::vector<size_t> layout_free_inputs(const Node& n) {
  if (n.domain == "com.microsoft" && n.op_type == "QLinearAdd") return {0, 3};
  if (n.domain == "ai.qdq" && n.op_type == "LookupTable") return {0};
  if (!n.domain.empty()) return {};
  if (n.op_type == "Add") return {0, 1};
  if (n.op_type == "Clip" || n.op_type == "Relu") return {0};
  // Per-tensor quantization: one scale for every element.
  const bool per_tensor =
      constant_scalar(n.input(1)) && (!n.input(2) || constant_scalar(n.input(2)));
  if ((n.op_type == "QuantizeLinear" || n.op_type == "DequantizeLinear") && per_tensor) return {0};
  return {};
}

// GlobalAveragePool, or an AveragePool whose one window is the whole 2-D plane
// (CIFAR ResNets pool 8x8 that way): the same sums in the same order.
bool averages_whole_planes(const Node& n) {
  if (!n.domain.empty()) return false;
  if (n.op_type == "GlobalAveragePool") return true;
  const Value* x = n.input(0);
  if (n.op_type != "AveragePool" || !x->shape || x->shape->size() != 4) return false;
  const auto kernel = n.attributes.get_ints("kernel_shape");
  const auto pads = n.attributes.get_ints("pads");
  const auto dilations = n.attributes.get_ints("dilations");
  const std::string auto_pad = n.attributes.get_string("auto_pad", "NOTSET");
  return kernel.size() == 2 && (*x->shape)[2].is_known() && kernel[0] == (*x->shape)[2].size &&
         (*x->shape)[3].is_known() && kernel[1] == (*x->shape)[3].size &&
         std::all_of(pads.begin(), pads.end(), [](int64_t p) { return p == 0; }) &&
         std::all_of(dilations.begin(), dilations.end(), [](int64_t d) { return d == 1; }) &&
         (auto_pad == "NOTSET" || auto_pad == "VALID");
}

// Where an NCHW dim (axis, possibly negative) sits in NHWC; -1 for no dim.
int64_t channels_last_axis(int64_t axis) {
  const int64_t nchw = axis < 0 ? axis + 4 : axis;
  if (nchw < 0 || nchw > 3) return -1;
  return std::find(kToNhwc.begin(), kToNhwc.end(), nchw) - kToNhwc.begin();
}

// The parameter inputs of an 8-bit Slice or Pad (opsets 10 / 11 on, constant
// parameters) rewritten for its data in NHWC: Slice's axes renumbered, Pad's
// pads given for every dim in NHWC order. Input 0 is left for the caller;
// nullopt when a parameter is not constant. The CIFAR ResNets' "option A"
// shortcut is such a Slice and Pad between channels-last convolutions.
std::optional<std::vector<Value*>> channels_last_slice_or_pad(Graph& graph, const Node& n) {
  if (!n.domain.empty() || !is_8bit(n.input(0)->dtype) || n.outputs().size() != 1)
    return std::nullopt;
  std::vector<Value*> inputs = n.inputs();
  inputs.resize(std::max<size_t>(inputs.size(), 4));
  std::vector<int64_t> axes;  // none: dims 0, 1, ... in order
  if (inputs[3]) {
    const Tensor* t = constant_of(inputs[3]);
    if (!t) return std::nullopt;
    axes = t->to_int64_vector();
  }
  auto axis_at = [&](size_t i) { return i < axes.size() ? axes[i] : static_cast<int64_t>(i); };
  if (n.op_type == "Slice" && graph.opset >= 10) {
    const Tensor* starts = constant_of(inputs[1]);
    if (!starts) return std::nullopt;
    Tensor renumbered(DType::kInt64, {starts->numel()});
    for (int64_t i = 0; i < starts->numel(); ++i) {
      renumbered.data<int64_t>()[i] = channels_last_axis(axis_at(static_cast<size_t>(i)));
      if (renumbered.data<int64_t>()[i] < 0) return std::nullopt;
    }
    inputs[3] = add_constant(graph, n.name + "_axes_nhwc", std::move(renumbered));
    return inputs;
  }
  if (n.op_type == "Pad" && graph.opset >= 11) {
    const Tensor* pads = constant_of(inputs[1]);
    if (!pads) return std::nullopt;
    const std::vector<int64_t> given = pads->to_int64_vector();
    const size_t count = given.size() / 2;
    Tensor all(DType::kInt64, {8});
    std::fill_n(all.data<int64_t>(), 8, 0);
    for (size_t i = 0; i < count; ++i) {
      const int64_t d = channels_last_axis(axis_at(i));
      if (d < 0) return std::nullopt;
      all.data<int64_t>()[d] = given[i];
      all.data<int64_t>()[d + 4] = given[i + count];
    }
    inputs[1] = add_constant(graph, n.name + "_pads_nhwc", std::move(all));
    inputs.resize(3);
    return inputs;
  }
  return std::nullopt;
}

std::optional<SymbolicShape> permuted(const std::optional<SymbolicShape>& shape,
                                      const std::vector<int64_t>& perm) {
  if (!shape || shape->size() != 4) return std::nullopt;
  SymbolicShape out;
  for (int64_t p : perm) out.push_back((*shape)[static_cast<size_t>(p)]);
  return out;
}

class Rewriter {
 public:
  explicit Rewriter(Graph& graph) : graph_(graph) {}

  // The channels-last twin of `v`: made by a copy of its layout-free producer
  // when that producer's inputs have twins by now (a DequantizeLinear visited
  // before the convolution that gave its input a twin), else by a Transpose.
  Value* channels_last(Value* v) {
    if (auto it = twin_.find(v); it != twin_.end()) return it->second;
    if (Node* p = v->producer; p && p->outputs().size() == 1) {
      const auto data = layout_free_inputs(*p);
      std::vector<Value*> inputs = p->inputs();
      bool ready = !data.empty();
      for (size_t i : data) {
        ready &= has_twin(inputs[i]);
        if (ready) inputs[i] = twin_.at(inputs[i]);
      }
      if (ready) {
        duplicate(p, std::move(inputs));
        return twin_.at(v);
      }
    }
    Value* t = new_twin(v);
    graph_.add_node("Transpose", {v}, {t}, unique_name(graph_, v->name + kToNhwcSuffix))
        ->attributes.set("perm", kToNhwc);
    return t;
  }

  // Replaces `n` by a node of `op_type` reading `inputs` and writing
  // channels-last twins of n's outputs; n's outputs become Transposes of the
  // twins, which dead-code elimination drops when nothing reads them.
  Node* replace(Node* n, std::string domain, std::string op_type, std::vector<Value*> inputs) {
    std::vector<Value*> outputs = n->outputs(), twins;
    for (Value* out : outputs) twins.push_back(new_twin(out));
    Attributes attrs = n->attributes;
    const std::string name = n->name;
    graph_.remove_node(n);
    Node* m = graph_.add_node(op_type, inputs, twins, name);
    m->domain = domain;
    m->attributes = std::move(attrs);
    for (size_t i = 0; i < outputs.size(); ++i)
      graph_
          .add_node("Transpose", {twins[i]}, {outputs[i]},
                    unique_name(graph_, outputs[i]->name + kToNchwSuffix))
          ->attributes.set("perm", kToNchw);
    return m;
  }

  // Adds a channels-last copy of `n` reading `inputs`, and keeps `n`.
  void duplicate(const Node* n, std::vector<Value*> inputs) {
    std::vector<Value*> twins;
    for (Value* out : n->outputs()) twins.push_back(new_twin(out));
    Node* m = graph_.add_node(n->op_type, inputs, twins,
                              unique_name(graph_, n->name + kChannelsLastTwinSuffix));
    m->domain = n->domain;
    m->attributes = n->attributes;
  }

  bool has_twin(const Value* v) const { return twin_.count(v) != 0; }

 private:
  Value* new_twin(Value* v) {
    Value* t = graph_.add_value(unique_name(graph_, v->name + kChannelsLastTwinSuffix), v->dtype);
    t->shape = permuted(v->shape, kToNhwc);
    twin_[v] = t;
    return t;
  }

  Graph& graph_;
  std::unordered_map<const Value*, Value*> twin_;
};

// True when some input of `n` is channels-last already and every input is
// 4-D (or has a twin): worth running `n` channels-last, and possible.
bool follows_channels_last(const Rewriter& rewriter, const Node& n) {
  bool follows = false, rank4 = true;
  for (const Value* v : n.inputs()) {
    follows |= rewriter.has_twin(v);
    rank4 &= rewriter.has_twin(v) || (v->shape && v->shape->size() == 4);
  }
  return follows && rank4;
}

}  // namespace

bool is_layout_conversion(const Node& n) {
  if (!n.domain.empty() || n.op_type != "Transpose") return false;
  const auto perm = n.attributes.get_ints("perm");
  auto named = [&](const std::string& suffix) { return n.name.find(suffix) != std::string::npos; };
  return (perm == kToNhwc && named(kToNhwcSuffix)) || (perm == kToNchw && named(kToNchwSuffix));
}

int LayoutNhwc::run(Graph& graph, PassContext& context) const {
  int changed = 0;
  Rewriter rewriter(graph);
  for (Node* n : graph.topological_order()) {
    if (is_channels_last_conv(*n)) {
      std::vector<Value*> inputs = n->inputs();
      inputs[0] = rewriter.channels_last(inputs[0]);
      rewriter.replace(n, "ai.qdq", "QConv", std::move(inputs));
      ++changed;
    } else if (auto in = float_output_conv(*n); in && !context.float_layers.count(n->name)) {
      std::vector<Value*> inputs = {rewriter.channels_last(in->x_dq->input(0)),
                                    in->x.scale,
                                    zero_point_value(graph, in->x, in->x_dq->name + "_zero"),
                                    in->w_dq->input(0),
                                    in->w.scale,
                                    zero_point_value(graph, in->w, in->w_dq->name + "_zero"),
                                    nullptr,
                                    nullptr,
                                    float_bias(graph, *n, *in)};
      rewriter.replace(n, "ai.qdq", "QConv", std::move(inputs));
      ++changed;
    } else if (averages_whole_planes(*n) && n->input(0)->dtype == DType::kFloat32 &&
               rewriter.has_twin(n->input(0))) {
      // Its channels-last form sums each channel in the same pixel order.
      rewriter.replace(n, "ai.qdq", "GlobalAveragePool", {rewriter.channels_last(n->input(0))});
      ++changed;
    } else if (n->op_type == "MaxPool" && n->domain.empty() && n->outputs().size() == 1 &&
               is_8bit(n->input(0)->dtype) && n->attributes.get_ints("kernel_shape").size() == 2 &&
               rewriter.has_twin(n->input(0))) {
      // An 8-bit MaxPool (fold_qdq_passthrough's) between channels-last convs:
      // the maximum of each channel's window, read in place.
      rewriter.replace(n, "ai.qdq", "MaxPool", {rewriter.channels_last(n->input(0))});
      ++changed;
    } else if (auto moved =
                   (n->op_type == "Slice" || n->op_type == "Pad") && rewriter.has_twin(n->input(0))
                       ? channels_last_slice_or_pad(graph, *n)
                       : std::nullopt) {
      (*moved)[0] = rewriter.channels_last(n->input(0));
      rewriter.replace(n, "", n->op_type, std::move(*moved));
      ++changed;
    } else if (n->op_type == "Concat" && n->domain.empty() && follows_channels_last(rewriter, *n)) {
      // Joined along the same dim, renumbered: fold_qdq_concat's 8-bit
      // Concat between channels-last convs (an Inception or DenseNet block).
      std::vector<Value*> inputs;
      for (Value* v : n->inputs()) inputs.push_back(rewriter.channels_last(v));
      const int64_t axis = channels_last_axis(n->attributes.get_int("axis", 0));
      rewriter.replace(n, "", "Concat", std::move(inputs))->attributes.set("axis", axis);
      ++changed;
    } else if (auto data = layout_free_inputs(*n); !data.empty()) {
      std::vector<Value*> inputs = n->inputs();
      // Only worth it next to a tensor already channels-last; 4-D, else
      // broadcasting would pair different dims.
      bool follows = false, rank4 = true;
      for (size_t i : data) {
        follows |= rewriter.has_twin(inputs[i]);
        rank4 &=
            rewriter.has_twin(inputs[i]) || (inputs[i]->shape && inputs[i]->shape->size() == 4);
      }
      if (!follows || !rank4) continue;
      for (size_t i : data) inputs[i] = rewriter.channels_last(inputs[i]);
      // A DequantizeLinear read by a Conv stays as well: float_output_conv
      // reads through it (and dead-code elimination drops it after).
      const auto& readers = n->output(0)->consumers;
      if (n->op_type == "DequantizeLinear" &&
          std::any_of(readers.begin(), readers.end(),
                      [](const Node* c) { return c->op_type == "Conv"; }))
        rewriter.duplicate(n, std::move(inputs));
      else
        rewriter.replace(n, n->domain, n->op_type, std::move(inputs));
      ++changed;
    }
  }
  return changed;
}

}  // namespace qdq
