// Pass tests build the same tiny graph twice, rewrite one copy, and check both
// the structure (op counts) and that the outputs still match the untouched copy
// on the reference executor.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>

#include "graph/builder.h"
#include "passes/pass_manager.h"
#include "passes/pipeline.h"
#include "runtime/inputs.h"
#include "runtime/reference/executor.h"

namespace qdq::testing {

inline std::map<std::string, int> op_counts(const Graph& g) {
  std::map<std::string, int> counts;
  for (Node* n : g.nodes()) ++counts[n->op_type];
  return counts;
}

inline std::vector<Tensor> run_graph(const Graph& g, const std::map<std::string, Tensor>& inputs) {
  auto ex = ReferenceExecutor::create(g);
  if (!ex.is_ok()) throw Error(ex.status().message());
  auto r = ex->run(inputs);
  if (!r.is_ok()) throw Error(r.status().message());
  return r.value();
}

struct RewriteResult {
  Graph graph;
  PipelineReport report;
  std::vector<std::string> warnings;
};

// Applies `passes` to a fresh graph from `make`, and checks its outputs against
// another fresh graph from `make` within `tolerance` (absolute, on floats).
inline RewriteResult rewrite_and_compare(const std::function<Graph()>& make,
                                         const std::vector<const Pass*>& passes,
                                         float tolerance = 1e-5f) {
  Graph reference = make();
  RewriteResult r{make(), {}, {}};
  PassContext context;
  context.evaluate = evaluate_node;
  r.report = run_passes(r.graph, passes, context);
  r.warnings = context.warnings;
  std::map<std::string, Tensor> inputs;
  uint32_t seed = 11;
  for (const Value* v : reference.inputs())
    inputs[v->name] = random_tensor(v->dtype, *static_shape(*v->shape), seed++);
  auto want = run_graph(reference, inputs);
  auto got = run_graph(r.graph, inputs);
  EXPECT_EQ(want.size(), got.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    EXPECT_EQ(want[i].shape(), got[i].shape());
    EXPECT_EQ(want[i].dtype(), got[i].dtype());
    if (want[i].dtype() != DType::kFloat32 || want[i].shape() != got[i].shape()) continue;
    for (int64_t k = 0; k < want[i].numel(); ++k)
      EXPECT_NEAR(want[i].data<float>()[k], got[i].data<float>()[k], tolerance)
          << "output " << i << " element " << k;
  }
  return r;
}

// Gives every node output of an elementwise test graph `shape`, and the
// dtype of its kind: `quantized` for a QuantizeLinear's, float32 otherwise.
inline void set_elementwise_values(Graph& g, const Shape& shape, DType quantized) {
  for (Node* n : g.nodes()) {
    n->output(0)->shape = to_symbolic(shape);
    n->output(0)->dtype = n->op_type == "QuantizeLinear" ? quantized : DType::kFloat32;
  }
}

inline Tensor random_floats(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor t(DType::kFloat32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = dist(rng);
  return t;
}

// A float 3x3 Conv of x ([1, 3, H, W]) to 4 channels, padded to keep H x W,
// with random weights and bias: the float convs the FP32 fusions rewrite.
inline Value* float_conv3x3(GraphBuilder& b, Value* x) {
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  return b.op(
      "Conv",
      {x, b.constant("w", random_floats({4, 3, 3, 3}, 1)), b.constant("b", random_floats({4}, 2))},
      pads);
}

// A ResNet basic block in Q/DQ form on a [1, 8, 6, 6] input:
//   conv1 -> ReLU -> conv2 -> Add(identity) [-> ReLU]
// kQuantizedSum: every tensor quantized, as ONNX Runtime's quantize_static
// makes it (conv2's output quantized before the add). kFloatSum: conv2's output
// meets the add in float and only the ReLU's output is quantized, as
// pytorch-quantization exports it (TensorRT-style QAT).
// kPooledSum: kQuantizedSum followed by a 3x3 stride-1 MaxPool between a DQ
// and a Q of the sum's parameters (ResNet's stem pool, shape kept).
// kFloatIdentity: kFloatSum without a residual quantizer: the add reads the
// block input itself, which conv1 reads through Q/DQ.
// kShortcutPooled: kQuantizedSum whose identity is an "option A" shortcut as ONNX
// Runtime quantizes the CIFAR ResNets: channels 0..3 sliced out, zero-padded
// back to 8 channels (the fill value a DequantizeLinear of the zero point),
// each op between a DQ and a Q of the input's parameters; the sum then averaged
// by an AveragePool whose window is the whole 6x6 plane (the CIFAR ResNets'
// head), quantized again.
// `group`: both convs grouped so (8 channels in groups of 8 / group).
enum class BlockStyle { kQuantizedSum, kFloatSum, kPooledSum, kFloatIdentity, kShortcutPooled };

inline Graph qdq_residual_block(BlockStyle style, int64_t group = 1) {
  GraphBuilder b(13);
  Value* x = b.input("x", DType::kFloat32, {1, 8, 6, 6});
  std::map<float, std::pair<Value*, Value*>> params;  // one pair of constants per scale
  auto qdq = [&](Value* v, float scale, uint8_t zero) {
    auto [it, added] = params.try_emplace(scale);
    if (added)
      it->second = {
          b.constant(std::string("s").append(std::to_string(scale)), Tensor::scalar<float>(scale)),
          b.constant(std::string("z").append(std::to_string(scale)),
                     Tensor::scalar<uint8_t>(zero))};
    auto [s, z] = it->second;
    return b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, s, z}), s, z});
  };
  auto conv = [&](Value* in, uint32_t seed) {
    Tensor w(DType::kInt8, {8, 8 / group, 3, 3});
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> dist(-127, 127);
    for (int64_t i = 0; i < w.numel(); ++i) w.data<int8_t>()[i] = static_cast<int8_t>(dist(rng));
    Tensor ws = random_floats({8}, seed + 1, 0.002f, 0.01f);
    Value* wdq = b.op("DequantizeLinear",
                      {b.constant(std::string("w").append(std::to_string(seed)), std::move(w)),
                       b.constant(std::string("ws").append(std::to_string(seed)), std::move(ws)),
                       b.constant(std::string("wz").append(std::to_string(seed)),
                                  Tensor::from_vector<int8_t>({8}, std::vector<int8_t>(8, 0)))},
                      [] {
                        Attributes a;
                        a.set("axis", int64_t{0});
                        return a;
                      }());
    Attributes a;
    a.set("pads", std::vector<int64_t>{1, 1, 1, 1});
    a.set("kernel_shape", std::vector<int64_t>{3, 3});
    a.set("group", group);
    return b.op(
        "Conv",
        {in, wdq,
         b.constant(std::string("b").append(std::to_string(seed)), random_floats({8}, seed + 2))},
        a);
  };
  Value* identity = qdq(x, 0.02f, 128);
  std::map<Value*, Shape> other_shapes;  // the shortcut's narrow tensors, its fill scalar
  if (style == BlockStyle::kShortcutPooled) {
    auto ints = [&](const char* name, std::vector<int64_t> v) {
      return b.constant(name, Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v));
    };
    Value* narrow =
        b.op("Slice", {identity, ints("starts", {0}), ints("ends", {4}), ints("axes", {1})});
    Value* narrow_dq = qdq(narrow, 0.02f, 128);
    for (Value* v : {narrow, narrow_dq->producer->input(0), narrow_dq})
      other_shapes[v] = {1, 4, 6, 6};
    auto [s, z] = params.at(0.02f);
    Value* fill =
        b.op("DequantizeLinear", {b.constant("fill", Tensor::scalar<uint8_t>(128)), s, z});
    other_shapes[fill] = {};
    identity =
        qdq(b.op("Pad", {narrow_dq, ints("pads", {0, 2, 0, 0, 0, 2, 0, 0}), fill}), 0.02f, 128);
  }
  Value* h = qdq(b.op("Relu", {conv(identity, 1)}), 0.03f, 10);  // zero point 10: a real clamp
  Value* y = conv(h, 5);
  if (style == BlockStyle::kFloatSum || style == BlockStyle::kFloatIdentity) {
    Value* skip = style == BlockStyle::kFloatSum ? identity : x;
    b.output(qdq(b.op("Relu", {b.op("Add", {y, skip})}), 0.04f, 0));
  } else {  // the final ReLU is implied by zero point 0
    Value* sum = qdq(b.op("Add", {qdq(y, 0.05f, 120), identity}), 0.04f, 0);
    if (style == BlockStyle::kPooledSum) {
      Attributes pool;
      pool.set("kernel_shape", std::vector<int64_t>{3, 3});
      pool.set("pads", std::vector<int64_t>{1, 1, 1, 1});
      sum = qdq(b.op("MaxPool", {sum}, pool), 0.04f, 0);
    } else if (style == BlockStyle::kShortcutPooled) {
      Attributes pool;
      pool.set("kernel_shape", std::vector<int64_t>{6, 6});
      sum = qdq(b.op("AveragePool", {sum}, pool), 0.01f, 0);
      for (Value* v : {sum, sum->producer->input(0), sum->producer->input(0)->producer->input(0)})
        other_shapes[v] = {1, 8, 1, 1};
    }
    b.output(sum);
  }
  Graph g = b.build();
  // Every tensor of the block has the input's shape (other_shapes lists the
  // others) and its type, as ONNX shape inference would record them for an
  // imported model.
  for (Node* n : g.nodes()) {
    auto other = other_shapes.find(n->output(0));
    n->output(0)->shape =
        to_symbolic(other == other_shapes.end() ? Shape{1, 8, 6, 6} : other->second);
    n->output(0)->dtype = n->op_type == "QuantizeLinear" ? DType::kUInt8 : DType::kFloat32;
  }
  return g;
}

// The block lowered to integer operators (the qoperator form's passes).
inline Graph lowered_residual_block(BlockStyle style) {
  Graph g = qdq_residual_block(style);
  PassContext context;
  context.evaluate = evaluate_node;
  run_passes(g, select_passes("", PipelineForm::kQOperator), context);
  return g;
}

}  // namespace qdq::testing
