#include "passes/fuse_batchnorm.h"

#include <cmath>
#include <limits>

#include "graph/quantization.h"
#include "passes/pattern.h"

namespace qdq {
namespace {

// BN as y = x * factor[c] + shift[c].
struct ChannelAffine {
  std::vector<float> factor, shift;
};

std::optional<ChannelAffine> batchnorm_affine(const Node& bn) {
  if (bn.attributes.get_int("training_mode", 0) != 0 || bn.attributes.get_int("spatial", 1) != 1 ||
      bn.outputs().size() != 1)
    return std::nullopt;
  const Tensor* p[4];
  for (size_t i = 0; i < 4; ++i) {
    p[i] = constant_of(bn.input(i + 1));
    if (!p[i] || p[i]->dtype() != DType::kFloat32 || p[i]->numel() != p[0]->numel())
      return std::nullopt;
  }
  const float epsilon = bn.attributes.get_float("epsilon", 1e-5f);
  ChannelAffine a;
  for (int64_t c = 0; c < p[0]->numel(); ++c) {
    // Same float steps as the reference BatchNormalization kernel.
    const float inv = 1.0f / std::sqrt(p[3]->data<float>()[c] + epsilon);
    a.factor.push_back(inv * p[0]->data<float>()[c]);
    a.shift.push_back(p[1]->data<float>()[c] -
                      p[2]->data<float>()[c] * inv * p[0]->data<float>()[c]);
  }
  return a;
}

// Float weights: W'[c] = W[c] * factor[c].
Value* scale_float_weight(Graph& graph, const Value* w, const ChannelAffine& a) {
  Tensor out = w->constant->clone();
  const int64_t per_channel = out.numel() / static_cast<int64_t>(a.factor.size());
  for (int64_t i = 0; i < out.numel(); ++i) out.data<float>()[i] *= a.factor[i / per_channel];
  return add_constant(graph, w->name + "_bnfolded", std::move(out));
}

// DequantizeLinear(q, scale, zero) weights: scale'[c] = scale[c] * |factor[c]|,
// and channels with a negative factor negate q around the zero point. Returns
// nullptr when that negation would leave the int8 range (q = -128 with zero 0):
// the caller then folds nothing rather than change the quantized weights.
Value* scale_quantized_weight(Graph& graph, Node* dq, const ChannelAffine& a,
                              PassContext& context) {
  const Tensor* q = constant_of(dq->input(0));
  const Tensor* scale = constant_of(dq->input(1));
  const Tensor* zero = dq->input(2) ? constant_of(dq->input(2)) : nullptr;
  const int64_t channels = static_cast<int64_t>(a.factor.size());
  if (!q || q->dtype() != DType::kInt8 || !scale || (dq->input(2) && !zero) || q->rank() < 1 ||
      q->dim(0) != channels)
    return nullptr;
  const bool per_channel = scale->numel() != 1;
  if (!per_channel && graph.opset < 13) return nullptr;  // per-axis DequantizeLinear needs opset 13
  if (per_channel && (dq->attributes.get_int("axis", 1) != 0 || scale->numel() != channels))
    return nullptr;
  std::vector<int64_t> zeros = zero ? zero->to_int64_vector() : std::vector<int64_t>{0};
  Tensor new_q = q->clone();
  Tensor new_scale(DType::kFloat32, {channels});
  Tensor new_zero(DType::kInt8, {channels});
  const int64_t per = q->numel() / channels;
  for (int64_t c = 0; c < channels; ++c) {
    const int64_t zp = zeros[zeros.size() == 1 ? 0 : c];
    const float s = scale->data<float>()[per_channel ? c : 0];
    float f = a.factor[c];
    // The channel's output is the shift alone; also where the factor would
    // leave a denormal scale (not a usable_scale): its products are below
    // 2^-126 of its inputs.
    if (f == 0.0f || std::fabs(s * f) < std::numeric_limits<float>::min()) {
      for (int64_t i = 0; i < per; ++i) new_q.data<int8_t>()[c * per + i] = static_cast<int8_t>(zp);
      f = 1.0f;
    } else if (f < 0.0f) {
      for (int64_t i = 0; i < per; ++i) {
        const int64_t v = 2 * zp - new_q.data<int8_t>()[c * per + i];
        if (v < -128 || v > 127) return nullptr;
        new_q.data<int8_t>()[c * per + i] = static_cast<int8_t>(v);
      }
      f = -f;
    }
    new_scale.data<float>()[c] = s * f;
    new_zero.data<int8_t>()[c] = static_cast<int8_t>(zp);
    if (!usable_scale(new_scale.data<float>()[c])) return nullptr;
  }
  if (!per_channel)
    context.warnings.push_back(
        dq->describe() +
        ": per-tensor weight scale became per-channel to absorb BatchNormalization");
  Value* out =
      graph.add_value(unique_name(graph, dq->output(0)->name + "_bnfolded"), DType::kFloat32);
  out->shape = dq->output(0)->shape;
  Node* n = graph.add_node(
      "DequantizeLinear",
      {add_constant(graph, dq->input(0)->name + "_bnfolded", std::move(new_q)),
       add_constant(graph, dq->input(1)->name + "_bnfolded", std::move(new_scale)),
       add_constant(graph, (dq->input(2) ? dq->input(2)->name : dq->name) + "_zero_bnfolded",
                    std::move(new_zero))},
      {out}, unique_name(graph, dq->name + "_bnfolded"));
  n->attributes.set("axis", int64_t{0});
  return out;
}

Value* folded_bias(Graph& graph, const Node& producer, size_t bias_index, const ChannelAffine& a) {
  const int64_t channels = static_cast<int64_t>(a.factor.size());
  Tensor bias(DType::kFloat32, {channels});
  const Tensor* old =
      producer.input(bias_index) ? constant_of(producer.input(bias_index)) : nullptr;
  for (int64_t c = 0; c < channels; ++c) {
    const float b = old ? old->data<float>()[old->numel() == 1 ? 0 : c] : 0.0f;
    bias.data<float>()[c] = b * a.factor[c] + a.shift[c];
  }
  return add_constant(graph, producer.name + "_bias_bnfolded", std::move(bias));
}

// Conv(x, W[, B]) -> BN, with W constant or DQ(constant), B constant or absent.
bool fold_into_conv(Graph& graph, Node* bn, const ChannelAffine& a, PassContext& context) {
  Node* conv = producer_if(bn->input(0), "Conv");
  if (!conv || !has_single_use(conv->output(0))) return false;
  const int64_t channels = static_cast<int64_t>(a.factor.size());
  Value* w = conv->input(1);
  if (conv->input(2) && !conv->input(2)->is_constant()) return false;
  Value* new_w = nullptr;
  if (const Tensor* wt = constant_of(w)) {
    if (wt->dtype() != DType::kFloat32 || wt->dim(0) != channels) return false;
    new_w = scale_float_weight(graph, w, a);
  } else if (Node* dq = producer_if(w, "DequantizeLinear")) {
    new_w = scale_quantized_weight(graph, dq, a, context);
  }
  if (!new_w) return false;
  Value* bias = folded_bias(graph, *conv, 2, a);
  Value* x = conv->input(0);
  Value* out = bn->output(0);
  Attributes attrs = conv->attributes;
  const std::string name = conv->name;
  graph.remove_node(bn);
  graph.remove_node(conv);
  Node* fused = graph.add_node("Conv", {x, new_w, bias}, {out}, name);
  fused->attributes = std::move(attrs);
  return true;
}

// Elsewhere: y = x * factor + shift, broadcast over [C, 1, ..., 1].
bool to_affine(Graph& graph, Node* bn, const ChannelAffine& a) {
  const Value* x = bn->input(0);
  if (!x->shape || x->shape->size() < 2) return false;
  Shape per_channel(x->shape->size() - 1, 1);
  per_channel[0] = static_cast<int64_t>(a.factor.size());
  Value* factor =
      add_constant(graph, bn->name + "_scale", Tensor::from_vector<float>(per_channel, a.factor));
  Value* shift =
      add_constant(graph, bn->name + "_shift", Tensor::from_vector<float>(per_channel, a.shift));
  Value* in = bn->input(0);
  Value* out = bn->output(0);
  Value* scaled = graph.add_value(unique_name(graph, bn->name + "_scaled"), DType::kFloat32);
  scaled->shape = in->shape;
  const std::string name = bn->name;
  graph.remove_node(bn);
  graph.add_node("Mul", {in, factor}, {scaled}, unique_name(graph, name + "_mul"));
  graph.add_node("Add", {scaled, shift}, {out}, name);
  return true;
}

}  // namespace

int FuseBatchNorm::run(Graph& graph, PassContext& context) const {
  int fused = 0;
  for (Node* bn : graph.topological_order()) {
    if (bn->op_type != "BatchNormalization" || !bn->domain.empty()) continue;
    auto affine = batchnorm_affine(*bn);
    if (!affine) continue;
    if (fold_into_conv(graph, bn, *affine, context) || to_affine(graph, bn, *affine)) ++fused;
  }
  return fused;
}

}  // namespace qdq
