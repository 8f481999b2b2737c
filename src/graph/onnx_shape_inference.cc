#include "graph/onnx_shape_inference.h"

#include <map>
#include <memory>
#include <set>
#include <string>

#include "onnx/defs/schema.h"
#include "onnx/shape_inference/implementation.h"

namespace qdq {
namespace {

// The ops inferred by libonnx's convPoolShapeInference (and ConvTranspose's
// sibling), with their weight input (-1: none).
const std::map<std::string, int>& conv_pool_ops() {
  static const std::map<std::string, int> ops = {
      {"Conv", 1},         {"ConvInteger", 1}, {"QLinearConv", 3}, {"ConvTranspose", 1},
      {"AveragePool", -1}, {"MaxPool", -1},    {"LpPool", -1},     {"MaxUnpool", -1}};
  return ops;
}

int known_rank(const onnx::InferenceContext& ctx, size_t input) {
  if (input >= ctx.getNumInputs()) return -1;
  const onnx::TypeProto* t = ctx.getInputType(input);
  if (!t || !t->has_tensor_type() || !t->tensor_type().has_shape()) return -1;
  return t->tensor_type().shape().dim_size();
}

// What the conv/pool inference assumes without checking.
void check_conv_pool(onnx::InferenceContext& ctx, int weight) {
  const int rank = known_rank(ctx, 0);
  if (rank < 0) return;
  if (rank < 3) fail_shape_inference("input rank ", rank, " is below 3");
  const int spatial = rank - 2;
  if (weight >= 0) {
    const int w_rank = known_rank(ctx, static_cast<size_t>(weight));
    if (w_rank >= 0 && w_rank != rank)
      fail_shape_inference("weight rank ", w_rank, " differs from input rank ", rank);
  }
  // Counts per spatial dim, and values it divides by or sizes with.
  for (const char* name : {"kernel_shape", "strides", "dilations", "output_padding", "pads"}) {
    const auto* a = ctx.getAttribute(name);
    if (!a) continue;
    const bool pads = std::string(name) == "pads";
    if (a->ints_size() != (pads ? 2 * spatial : spatial))
      fail_shape_inference(name, " has ", a->ints_size(), " values for ", spatial, " spatial dims");
    const bool positive = std::string(name) != "output_padding" && !pads;
    for (int64_t v : a->ints())
      if (positive ? v < 1 : v < 0) fail_shape_inference(name, " holds ", v);
  }
  if (const auto* a = ctx.getAttribute("group"); a && a->i() < 1)
    fail_shape_inference("group is ", a->i());
  if (const auto* a = ctx.getAttribute("output_shape");
      a && a->ints_size() != spatial && a->ints_size() != rank)
    fail_shape_inference("output_shape has ", a->ints_size(), " values");
}

// libonnx's registry, with guarded copies of the schemas above.
class GuardedRegistry : public onnx::ISchemaRegistry {
 public:
  const onnx::OpSchema* GetSchema(const std::string& key, const int max_version,
                                  const std::string& domain) const override {
    const onnx::OpSchema* schema = onnx::OpSchemaRegistry::Schema(key, max_version, domain);
    auto op = conv_pool_ops().find(key);
    if (!schema || op == conv_pool_ops().end() || !(domain.empty() || domain == "ai.onnx"))
      return schema;
    auto& guarded = guarded_[schema];
    if (!guarded) {
      guarded = std::make_unique<onnx::OpSchema>(*schema);
      const onnx::InferenceFunction inner = schema->GetTypeAndShapeInferenceFunction();
      const int weight = op->second;
      guarded->TypeAndShapeInferenceFunction([inner, weight](onnx::InferenceContext& ctx) {
        check_conv_pool(ctx, weight);
        if (inner) inner(ctx);
      });
    }
    return guarded.get();
  }

 private:
  mutable std::map<const onnx::OpSchema*, std::unique_ptr<onnx::OpSchema>> guarded_;
};

}  // namespace

void infer_shapes_guarded(onnx::ModelProto& model) {
  const GuardedRegistry registry;
  onnx::shape_inference::InferShapes(model, &registry);
}

}  // namespace qdq
