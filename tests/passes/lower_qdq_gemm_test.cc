#include "passes/lower_qdq_gemm.h"

#include "passes/eliminate_dead_code.h"
#include "passes/fold_qdq_conv.h"
#include "passes/pass_test_util.h"

namespace qdq {
namespace {

using testing::op_counts;

struct GemmOptions {
  std::string op = "Gemm";
  int64_t trans_b = 1;
  float alpha = 1.0f;
  bool int32_bias = false;
  bool quantized_output = true;
  bool per_channel = true;
};

// DQ(Q(x [3, 10])) -> Gemm/MatMul(DQ(int8 w), bias) -> [Q -> DQ], the
// classifier of ORT's quantize_static (int32 bias, quantized output) or of a
// pytorch-quantization export (float bias, float logits).
Graph gemm_group(const GemmOptions& o) {
  GraphBuilder b(13);
  const int64_t k = 10, m = 4;
  Value* x = b.input("x", DType::kFloat32, {3, k});
  Value* xs = b.constant("xs", Tensor::scalar<float>(0.01f));
  Value* xz = b.constant("xz", Tensor::scalar<uint8_t>(128));
  Value* v = b.op("DequantizeLinear", {b.op("QuantizeLinear", {x, xs, xz}), xs, xz});
  const bool k_by_m = o.op == "MatMul" || o.trans_b == 0;
  std::vector<int8_t> q(k * m);
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<int8_t>((i * 53) % 255 - 127);
  Attributes axis;
  axis.set("axis", int64_t{k_by_m ? 1 : 0});
  const std::vector<float> scales = {0.02f, 0.01f, 0.03f, 0.005f};
  Value* ws = o.per_channel ? b.constant("ws", Tensor::from_vector<float>({m}, scales))
                            : b.constant("ws", Tensor::scalar<float>(0.02f));
  Value* wz = o.per_channel ? b.constant("wz", Tensor::from_vector<int8_t>({m}, {0, 0, 0, 0}))
                            : b.constant("wz", Tensor::scalar<int8_t>(0));
  Shape w_shape = k_by_m ? Shape{k, m} : Shape{m, k};
  Value* w = b.op("DequantizeLinear",
                  {b.constant("wq", Tensor::from_vector<int8_t>(w_shape, q)), ws, wz}, axis);
  if (o.op == "MatMul") {
    v = b.op("MatMul", {v, w});
  } else {
    Value* bias = nullptr;
    if (o.int32_bias) {
      std::vector<float> bs;
      for (float s : scales) bs.push_back(0.01f * (o.per_channel ? s : 0.02f));
      Attributes axis0;
      axis0.set("axis", int64_t{0});
      bias = b.op("DequantizeLinear",
                  {b.constant("bq", Tensor::from_vector<int32_t>({m}, {1000, -2000, 30, 7})),
                   b.constant("bs", Tensor::from_vector<float>({m}, bs))},
                  axis0);
    } else {
      bias = b.constant("b", Tensor::from_vector<float>({1, m}, {0.1f, -0.25f, 0.0f, 0.3f}));
    }
    Attributes a;
    a.set("transB", o.trans_b);
    a.set("alpha", o.alpha);
    v = b.op("Gemm", {v, w, bias}, a);
  }
  if (o.quantized_output) {
    Value* ys = b.constant("ys", Tensor::scalar<float>(0.02f));
    Value* yz = b.constant("yz", Tensor::scalar<uint8_t>(100));
    v = b.op("DequantizeLinear", {b.op("QuantizeLinear", {v, ys, yz}), ys, yz});
  }
  b.output(v);
  return b.build();
}

// Lowered alone, the float results agree up to summation order; lowered and
// folded, the integer conv's output is within one output step (0.02) of
// the float Gemm's (the rounding of the requantization is the only change).
void expect_lowered(const GemmOptions& o) {
  LowerQdqGemm lower;
  EliminateDeadCode cleanup;
  auto r = testing::rewrite_and_compare([&] { return gemm_group(o); }, {&lower, &cleanup}, 1e-5f);
  auto counts = op_counts(r.graph);
  EXPECT_EQ(r.report.passes[0].changes, 1);
  EXPECT_EQ(counts[o.op], 0);
  EXPECT_EQ(counts["Conv"], 1);
  EXPECT_EQ(counts["Reshape"], 2);

  FoldQdqConv fold;
  auto folded = testing::rewrite_and_compare([&] { return gemm_group(o); },
                                             {&lower, &fold, &cleanup}, 0.02f + 1e-6f);
  counts = op_counts(folded.graph);
  EXPECT_EQ(counts["QLinearConv"], o.quantized_output ? 1 : 0);
  EXPECT_EQ(counts["Conv"], o.quantized_output ? 0 : 1);
}

TEST(LowerQdqGemm, GemmWithInt32BiasAndQuantizedOutput) {
  GemmOptions o;
  o.int32_bias = true;
  expect_lowered(o);
}
TEST(LowerQdqGemm, GemmWithFloatBiasAndFloatOutput) {
  GemmOptions o;
  o.quantized_output = false;
  expect_lowered(o);
}
TEST(LowerQdqGemm, GemmWithUntransposedPerTensorWeights) {
  GemmOptions o;
  o.trans_b = 0;
  o.per_channel = false;
  expect_lowered(o);
}
TEST(LowerQdqGemm, MatMulWithPerColumnWeights) {
  GemmOptions o;
  o.op = "MatMul";
  expect_lowered(o);
}

TEST(LowerQdqGemm, ScaledGemmStaysAsItIs) {
  GemmOptions o;
  o.alpha = 0.5f;
  Graph g = gemm_group(o);
  LowerQdqGemm lower;
  PassContext context;
  EXPECT_EQ(lower.run(g, context), 0);
}

}  // namespace
}  // namespace qdq
