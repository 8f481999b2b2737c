#include "passes/fuse_qconv_epilogue.h"

#include <set>

#include "passes/pattern.h"

namespace qdq {
namespace {

// A QConv with an 8-bit output: one with a y_zero_point (a float output's
// Clip or Add is a float op) and an int32 bias or none (a float bias makes a
// float sum, whose clamps are float: fuse_qconv_float_sum's).
bool is_integer_qconv(const Node& n) {
  return n.domain == "ai.qdq" && n.op_type == "QConv" && n.input(7) != nullptr &&
         (!n.input(8) || n.input(8)->dtype != DType::kFloat32);
}

bool same_scalar(const Value* a, const Value* b) {
  if (a == b) return true;
  const auto x = constant_scalar(a), y = constant_scalar(b);
  return x && y && a->constant->dtype() == b->constant->dtype() && *x == *y;
}

// Narrows the clamp attributes lo/hi of `conv` by an integer Clip's bounds.
bool absorb_clip(Node& conv, const Node& clip, const char* lo, const char* hi) {
  if (!clip.domain.empty() || clip.op_type != "Clip" || clip.attributes.has("min") ||
      clip.attributes.has("max"))
    return false;
  const auto min = clip.input(1) ? constant_scalar(clip.input(1)) : std::optional<double>(-1e9);
  const auto max = clip.input(2) ? constant_scalar(clip.input(2)) : std::optional<double>(1e9);
  if (!min || !max) return false;
  const int64_t old_lo = conv.attributes.get_int(lo, -1000000000);
  const int64_t old_hi = conv.attributes.get_int(hi, 1000000000);
  conv.attributes.set(lo, std::max(old_lo, static_cast<int64_t>(*min)));
  conv.attributes.set(hi, std::min(old_hi, static_cast<int64_t>(*max)));
  return true;
}

// QLinearAdd(t, r) or QLinearAdd(r, t) where t is the conv's output: the
// residual's inputs (r, r_scale, r_zero_point, sum_scale, sum_zero_point), or
// empty when the add's parameters for t are not the conv's output parameters.
std::vector<Value*> residual_inputs(const Node& conv, const Node& add) {
  if (add.domain != "com.microsoft" || add.op_type != "QLinearAdd" || add.inputs().size() < 8)
    return {};
  const Value* t = conv.output(0);
  const size_t mine = add.input(0) == t ? 0 : 3, other = 3 - mine;
  if (add.input(mine) != t || add.input(other) == t) return {};
  if (!same_scalar(add.input(mine + 1), conv.input(6)) ||
      !same_scalar(add.input(mine + 2), conv.input(7)))
    return {};
  const Value* r = add.input(other);
  if (!same_shape(r, t) || r->dtype != t->dtype) return {};
  return {add.input(other), add.input(other + 1), add.input(other + 2), add.input(6), add.input(7)};
}

// A LookupTable on the conv's output whose entries have the output's type.
Value* output_table(const Node& conv, const Node& next) {
  if (next.domain != "ai.qdq" || next.op_type != "LookupTable") return nullptr;
  const Tensor* table = constant_of(next.input(1));
  return table && table->dtype() == conv.input(7)->dtype ? next.input(1) : nullptr;
}

}  // namespace

int FuseQConvEpilogue::run(Graph& graph, PassContext&) const {
  int fused = 0;
  std::set<const Node*> removed;  // the snapshot below still lists them
  for (Node* conv : graph.topological_order()) {
    if (removed.count(conv) || !is_integer_qconv(*conv)) continue;
    for (;;) {
      Value* out = conv->output(0);
      if (!has_single_use(out)) break;
      Node* next = out->consumers.front();
      std::vector<Value*> inputs = conv->inputs();
      inputs.resize(15, nullptr);
      if (inputs[14]) break;  // the table comes last
      const bool has_residual = inputs[9] != nullptr;
      if (Value* table = output_table(*conv, *next)) {
        inputs[14] = table;
      } else if (!absorb_clip(*conv, *next, has_residual ? "out_min" : "conv_min",
                              has_residual ? "out_max" : "conv_max")) {
        auto residual = has_residual ? std::vector<Value*>{} : residual_inputs(*conv, *next);
        if (residual.empty()) break;
        std::copy(residual.begin(), residual.end(), inputs.begin() + 9);
      }
      while (!inputs.empty() && !inputs.back()) inputs.pop_back();
      // One QConv now computes `next`'s output.
      Value* result = next->output(0);
      Attributes attrs = conv->attributes;
      const std::string name = conv->name;
      removed.insert(next);
      graph.remove_node(next);
      graph.remove_node(conv);
      conv = graph.add_node("QConv", inputs, {result}, name);
      conv->domain = "ai.qdq";
      conv->attributes = std::move(attrs);
      ++fused;
    }
  }
  return fused;
}

}  // namespace qdq
