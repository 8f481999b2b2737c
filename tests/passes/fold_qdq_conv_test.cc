#include "passes/fold_qdq_conv.h"

#include "passes/pass_test_util.h"
#include "passes/remove_redundant_qdq.h"

namespace qdq {
namespace {

using testing::op_counts;
using testing::random_floats;

struct GroupOptions {
  std::string activation;  // "", "Relu", "Clip"
  bool int32_bias = false;
  DType activation_type = DType::kUInt8;
};

Value* quant_zero(GraphBuilder& b, const std::string& name, DType t, int v) {
  return t == DType::kInt8 ? b.constant(name, Tensor::scalar<int8_t>(static_cast<int8_t>(v)))
                           : b.constant(name, Tensor::scalar<uint8_t>(static_cast<uint8_t>(v)));
}

// DQ(Q(x)) -> Conv(DQ(int8 w), bias) -> [act] -> Q -> DQ, as ORT's quantize_static
// and (after fold_constants/fuse_batchnorm) QAT exports leave it.
Graph conv_group(const GroupOptions& o) {
  GraphBuilder b(13);
  const DType t = o.activation_type;
  Value* x = b.input("x", DType::kFloat32, {1, 4, 6, 6});
  Value* xs = b.constant("xs", Tensor::scalar<float>(0.01f));
  Value* xz = quant_zero(b, "xz", t, t == DType::kUInt8 ? 128 : 0);
  Value* v = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, xs, xz}), xs, xz});
  std::vector<int8_t> q(3 * 4 * 9);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 53) % 255 - 127);
  Attributes axis0;
  axis0.set("axis", int64_t{0});
  Value* ws = b.constant("ws", Tensor::from_vector<float>({3}, {0.02f, 0.01f, 0.03f}));
  Value* wz = b.constant("wz", Tensor::from_vector<int8_t>({3}, {0, 0, 0}));
  Value* w = b.op("DequantizeLinear",
                  {b.constant("wq", Tensor::from_vector<int8_t>({3, 4, 3, 3}, q)), ws, wz}, axis0);
  Value* bias = nullptr;
  if (o.int32_bias) {
    Tensor bs = Tensor::from_vector<float>({3}, {0.01f * 0.02f, 0.01f * 0.01f, 0.01f * 0.03f});
    bias = b.op("DequantizeLinear",
                {b.constant("bq", Tensor::from_vector<int32_t>({3}, {1000, -2000, 30})),
                 b.constant("bs", bs)},
                axis0);
  } else {
    bias = b.constant("b", Tensor::from_vector<float>({3}, {0.1f, -0.25f, 0.0f}));
  }
  Attributes pads;
  pads.set("pads", std::vector<int64_t>{1, 1, 1, 1});
  v = b.op("Conv", {v, w, bias}, pads);
  if (o.activation == "Relu") v = b.op("Relu", {v});
  if (o.activation == "Clip")
    v = b.op("Clip", {v, b.constant("lo", Tensor::scalar<float>(0.0f)),
                      b.constant("hi", Tensor::scalar<float>(0.5f))});
  Value* ys = b.constant("ys", Tensor::scalar<float>(0.02f));
  Value* yz = quant_zero(b, "yz", t, t == DType::kUInt8 ? 100 : -5);
  b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, ys, yz}), ys, yz}));
  return b.build();
}

void expect_folded(const GroupOptions& o, int clips) {
  FoldQdqConv pass;
  // One output step (0.02) at most: the int32 bias rounds where the float one did not.
  auto r = testing::rewrite_and_compare([&] { return conv_group(o); }, {&pass}, 0.02f + 1e-6f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(counts["QLinearConv"], 1);
  EXPECT_EQ(counts["Conv"], 0);
  EXPECT_EQ(counts["Relu"], 0);
  EXPECT_EQ(counts["Clip"], clips);
  EXPECT_EQ(counts["QuantizeLinear"], 1);  // the input's
}

TEST(FoldQdqConv, PlainGroup) { expect_folded({"", false, DType::kUInt8}, 0); }
TEST(FoldQdqConv, ReluBecomesAClampAtTheZeroPoint) {
  expect_folded({"Relu", false, DType::kUInt8}, 1);
}
TEST(FoldQdqConv, ClipBecomesAQuantizedClip) { expect_folded({"Clip", false, DType::kInt8}, 1); }
TEST(FoldQdqConv, Int32BiasFromQuantizeStaticIsUsedAsIs) {
  expect_folded({"", true, DType::kInt8}, 0);
}

TEST(FoldQdqConv, ReluImpliedByTheOutputRangeIsAbsorbed) {
  auto make = [] {
    GraphBuilder b(13);
    Value* x = b.input("x", DType::kFloat32, {1, 1, 3, 3});
    Value* s = b.constant("s", Tensor::scalar<float>(0.1f));
    Value* z = b.constant("z", Tensor::scalar<uint8_t>(0));  // uint8, zero point 0: nothing below 0
    Value* v = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z});
    Value* w =
        b.op("DequantizeLinear", {b.constant("wq", Tensor::from_vector<int8_t>({1, 1, 1, 1}, {-3})),
                                  b.constant("ws", Tensor::scalar<float>(0.5f)),
                                  b.constant("wz", Tensor::scalar<int8_t>(0))});
    v = b.op("Relu", {b.op("Conv", {v, w})});
    b.output(b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, s, z}), s, z}));
    return b.build();
  };
  FoldQdqConv pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 1e-6f);
  EXPECT_EQ(op_counts(r.graph)["QLinearConv"], 1);
  EXPECT_EQ(op_counts(r.graph)["Clip"], 0);
}

TEST(FoldQdqConv, LeavesGroupsWithNonConstantWeightsAlone) {
  auto make = [] {
    GraphBuilder b(13);
    Value* x = b.input("x", DType::kFloat32, {1, 1, 3, 3});
    Value* wf = b.input("w", DType::kFloat32, {1, 1, 1, 1});
    Value* s = b.constant("s", Tensor::scalar<float>(0.1f));
    Value* z = b.constant("z", Tensor::scalar<int8_t>(0));
    Value* v = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, s, z}), s, z});
    Value* w = b.op("DequantizeLinear", {b.op("QuantizeLinear", {wf, s, z}), s, z});
    b.output(b.op("QuantizeLinear", {b.op("Conv", {v, w}), s, z}));
    return b.build();
  };
  FoldQdqConv pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 0.0f);
  EXPECT_EQ(op_counts(r.graph)["QLinearConv"], 0);
}

TEST(RemoveRedundantQdq, CancelsMatchingPairsOnly) {
  auto make = [] {
    GraphBuilder b(13);
    Value* x = b.input("x", DType::kFloat32, {8});
    Value* s = b.constant("s", Tensor::scalar<float>(0.1f));
    Value* s2 = b.constant("s2", Tensor::scalar<float>(0.2f));
    Value* z = b.constant("z", Tensor::scalar<int8_t>(3));
    Value* q = b.op("QuantizeLinear", {x, s, z});
    Value* same = b.op("QuantizeLinear", {b.op("DequantizeLinear", {q, s, z}), s, z});
    Value* other = b.op("QuantizeLinear", {b.op("DequantizeLinear", {q, s, z}), s2, z});
    b.output(b.op("DequantizeLinear", {same, s, z}));
    b.output(b.op("DequantizeLinear", {other, s2, z}));
    return b.build();
  };
  RemoveRedundantQdq pass;
  auto r = testing::rewrite_and_compare(make, {&pass}, 0.0f);
  EXPECT_EQ(r.report.passes[0].changes, 1);
  EXPECT_EQ(op_counts(r.graph)["QuantizeLinear"], 2);
}

}  // namespace
}  // namespace qdq
