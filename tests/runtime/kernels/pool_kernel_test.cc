// The channels-last 8-bit MaxPool (ai.qdq.MaxPool): its reference kernel
// against ONNX MaxPool on the same tensor in NCHW, and every optimized kernel
// the CPU runs against the reference, bit for bit, over windows with padding,
// strides, dilations and ceil_mode, channel counts that leave vector tails,
// and the extreme values of both 8-bit types. The same for the channels-last
// GlobalAveragePool on 8-bit tensors (ai.qdq.GlobalAveragePool with its
// DequantizeLinear and QuantizeLinear taken in) against the three ONNX ops.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "graph/builder.h"
#include "runtime/kernels/kernel_test_util.h"

namespace qdq {
namespace {

struct Window {
  std::vector<int64_t> kernel, strides, pads, dilations;
  int64_t ceil_mode = 0;
};

Attributes pool_attributes(const Window& w) {
  Attributes a;
  a.set("kernel_shape", w.kernel);
  a.set("strides", w.strides);
  a.set("pads", w.pads);
  a.set("dilations", w.dilations);
  a.set("ceil_mode", w.ceil_mode);
  return a;
}

Tensor run_pool(Tensor x, const Window& w, bool channels_last, Isa isa) {
  GraphBuilder b(13);
  Value* y = b.op("MaxPool", {b.constant("x", std::move(x))}, pool_attributes(w));
  if (channels_last) y->producer->domain = "ai.qdq";
  b.output(y);
  Graph g = b.build();
  return testing::run_at_isa(g, isa);
}

// [N, H, W, C] 8-bit values, a third of them the type's extremes.
Tensor random_nhwc(DType type, const Shape& shape, uint32_t seed) {
  Tensor t(type, shape);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255), pick(0, 5);
  auto* v = static_cast<uint8_t*>(t.raw());
  for (int64_t i = 0; i < t.numel(); ++i) {
    const int p = pick(rng);
    v[i] = static_cast<uint8_t>(p == 0 ? 0x80 : p == 1 ? 0x7f : p == 2 ? 0xff : byte(rng));
  }
  return t;
}

Tensor to_nchw(const Tensor& x) {
  const int64_t n = x.dim(0), h = x.dim(1), w = x.dim(2), c = x.dim(3);
  Tensor y(x.dtype(), {n, c, h, w});
  const auto* src = static_cast<const uint8_t*>(x.raw());
  auto* dst = static_cast<uint8_t*>(y.raw());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < h * w; ++i)
      for (int64_t k = 0; k < c; ++k) dst[(b * c + k) * h * w + i] = src[(b * h * w + i) * c + k];
  return y;
}

void expect_same_bytes(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
}

const std::vector<Window>& windows() {
  static const std::vector<Window> w = {
      {{3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},  // ResNet's stem pool
      {{2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},
      {{3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},  // ceil_mode: a clipped last window
      {{3, 2}, {1, 2}, {2, 0, 1, 1}, {2, 1}, 0},  // asymmetric, dilated
      {{5, 5}, {3, 3}, {2, 2, 2, 2}, {1, 1}, 1},
  };
  return w;
}

TEST(MaxPoolNhwcReference, MatchesOnnxMaxPoolInNchw) {
  uint32_t seed = 1;
  for (DType type : {DType::kUInt8, DType::kInt8})
    for (const Window& w : windows())
      for (int64_t c : {1, 3, 37}) {
        const Tensor x = random_nhwc(type, {2, 9, 8, c}, seed++);
        expect_same_bytes(to_nchw(run_pool(x, w, true, Isa::kRef)),
                          run_pool(to_nchw(x), w, false, Isa::kRef));
      }
}

class MaxPoolNhwcKernel : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not available";
  }
};

TEST_P(MaxPoolNhwcKernel, MatchesReference) {
  uint32_t seed = 100;
  for (DType type : {DType::kUInt8, DType::kInt8})
    for (const Window& w : windows())
      for (int64_t c : {1, 31, 32, 64, 97}) {
        for (const Shape& shape : {Shape{1, 17, 13, c}, Shape{3, 6, 7, c}}) {
          const Tensor x = random_nhwc(type, shape, seed++);
          expect_same_bytes(run_pool(x, w, true, Isa::kRef), run_pool(x, w, true, GetParam()));
        }
      }
}

TEST_P(MaxPoolNhwcKernel, RejectsFloatInput) {
  GraphBuilder b(13);
  Window w = windows()[0];
  Value* y =
      b.op("MaxPool", {b.constant("x", Tensor(DType::kFloat32, {1, 4, 4, 2}))}, pool_attributes(w));
  y->producer->domain = "ai.qdq";
  b.output(y);
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{GetParam(), {}});
  ASSERT_TRUE(ex.is_ok());
  auto out = ex->run({});
  ASSERT_FALSE(out.is_ok());
  EXPECT_NE(out.status().message().find("8-bit"), std::string::npos) << out.status().message();
}

// The parameters of one averaging: x's and, for an 8-bit output, y's.
struct Averaging {
  float x_scale;
  int32_t x_zero;
  DType y_type;  // float32: the mean itself
  float y_scale;
  int32_t y_zero;
};

Value* zero_point(GraphBuilder& b, const std::string& name, DType type, int32_t zero) {
  Tensor t(type, {});
  if (type == DType::kInt8)
    t.data<int8_t>()[0] = static_cast<int8_t>(zero);
  else
    t.data<uint8_t>()[0] = static_cast<uint8_t>(zero);
  return b.constant(name, std::move(t));
}

// ai.qdq.GlobalAveragePool on an 8-bit NHWC x (fused), or DequantizeLinear ->
// GlobalAveragePool -> [QuantizeLinear] on it in NCHW (the definition).
Tensor run_average(const Tensor& x, const Averaging& a, bool fused, Isa isa) {
  GraphBuilder b(13);
  Value* xs = b.constant("xs", Tensor::scalar<float>(a.x_scale));
  Value* xz = zero_point(b, "xz", x.dtype(), a.x_zero);
  const bool quantized = a.y_type != DType::kFloat32;
  Value* ys = quantized ? b.constant("ys", Tensor::scalar<float>(a.y_scale)) : nullptr;
  Value* yz = quantized ? zero_point(b, "yz", a.y_type, a.y_zero) : nullptr;
  Value* y = nullptr;
  if (fused) {
    y = b.op("GlobalAveragePool", {b.constant("x", x), xs, xz, ys, yz});
    y->producer->domain = "ai.qdq";
  } else {
    y = b.op("GlobalAveragePool",
             {b.op("DequantizeLinear", {b.constant("x", to_nchw(x)), xs, xz})});
    if (quantized) y = b.op("QuantizeLinear", {y, ys, yz});
  }
  b.output(y);
  Graph g = b.build();
  return testing::run_at_isa(g, isa);
}

const std::vector<Averaging>& averagings() {
  static const std::vector<Averaging> a = {
      {0.02f, 128, DType::kUInt8, 0.01f, 3},   // ONNX Runtime's u8 files
      {0.05f, -7, DType::kInt8, 0.04f, -128},  // s8s8
      {0.02f, 255, DType::kFloat32, 1, 0},     // the mean read in float
      {1e4f, 0, DType::kInt8, 1e-6f, 127},     // saturating
      {1e-8f, 3, DType::kUInt8, 1e4f, 255},    // everything to the zero point
      {0.5f, 1, DType::kUInt8, 0.5f, 0},       // ties, half to even
  };
  return a;
}

bool fits(DType type, int32_t zero) {
  return type == DType::kInt8 ? zero >= -128 && zero <= 127 : zero >= 0 && zero <= 255;
}

// [N, 1, 1, C] and [N, C, 1, 1] hold their values in the same order.
void expect_same_values(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.numel(), b.numel());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
}

TEST(GlobalAveragePoolNhwcReference, MatchesDequantizePoolQuantizeInNchw) {
  uint32_t seed = 300;
  for (DType type : {DType::kUInt8, DType::kInt8})
    for (const Averaging& a : averagings())
      for (int64_t c : {1, 13, 64}) {
        if (!fits(type, a.x_zero)) continue;
        const Tensor x = random_nhwc(type, {2, 7, 5, c}, seed++);
        expect_same_values(run_average(x, a, true, Isa::kRef), run_average(x, a, false, Isa::kRef));
      }
}

TEST_P(MaxPoolNhwcKernel, GlobalAverageOf8BitValuesMatchesReference) {
  uint32_t seed = 400;
  for (DType type : {DType::kUInt8, DType::kInt8})
    for (const Averaging& a : averagings())
      for (int64_t c : {1, 8, 13, 47, 64, 67}) {  // 47: 32-channel chains, 8, 7
        if (!fits(type, a.x_zero)) continue;
        const Tensor x = random_nhwc(type, {3, 8, 8, c}, seed++);
        expect_same_values(run_average(x, a, true, Isa::kRef), run_average(x, a, true, GetParam()));
      }
}

INSTANTIATE_TEST_SUITE_P(Isas, MaxPoolNhwcKernel, ::testing::Values(Isa::kAvx2, Isa::kAvx512Vnni),
                         [](const auto& param_info) {
                           return std::string(isa_name(param_info.param));
                         });

}  // namespace
}  // namespace qdq
