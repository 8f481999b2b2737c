// The optimized QuantizeLinear/DequantizeLinear against the reference kernels,
// bit for bit: ties, NaN, infinities, values far outside the range, every
// 8-bit input, lengths that leave vector tails, sizes that split over threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "graph/builder.h"
#include "runtime/reference/executor.h"

namespace qdq {
namespace {

Tensor run(const std::string& op, Tensor x, float scale, Tensor zero, Isa isa) {
  GraphBuilder b(13);
  Value* y = b.op(op, {b.constant("x", std::move(x)), b.constant("s", Tensor::scalar<float>(scale)),
                       b.constant("z", std::move(zero))});
  b.output(y);
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{isa, {}});
  EXPECT_TRUE(ex.is_ok());
  auto out = ex->run({});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return out.value()[0];
}

void expect_same_bytes(const Tensor& a, const Tensor& b) {
  ASSERT_EQ(a.dtype(), b.dtype());
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(std::memcmp(a.raw(), b.raw(), a.nbytes()), 0);
}

Tensor awkward_floats(int64_t n, float scale, uint32_t seed) {
  Tensor t(DType::kFloat32, {n});
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> wide(-400.0f, 400.0f);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(),
                            std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(),
                            1e30f,
                            -1e30f,
                            0.0f,
                            -0.0f};
  for (int64_t i = 0; i < n; ++i) {
    float v = wide(rng) * scale;
    if (i % 5 == 0) v = (std::floor(wide(rng)) + 0.5f) * scale;  // ties
    if (i % 97 == 0) v = specials[(i / 97) % 7];
    t.data<float>()[i] = v;
  }
  return t;
}

class QuantizeKernel : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not available";
  }
};

TEST_P(QuantizeKernel, QuantizeMatchesReference) {
  for (int64_t n : {int64_t{1}, int64_t{15}, int64_t{16}, int64_t{33}, int64_t{70001}})
    for (float scale : {0.5f, 0.0173f, 3e-7f, 2e3f}) {
      const Tensor x = awkward_floats(n, scale, static_cast<uint32_t>(n));
      expect_same_bytes(run("QuantizeLinear", x, scale, Tensor::scalar<uint8_t>(131), Isa::kRef),
                        run("QuantizeLinear", x, scale, Tensor::scalar<uint8_t>(131), GetParam()));
      expect_same_bytes(run("QuantizeLinear", x, scale, Tensor::scalar<int8_t>(-7), Isa::kRef),
                        run("QuantizeLinear", x, scale, Tensor::scalar<int8_t>(-7), GetParam()));
    }
}

TEST_P(QuantizeKernel, DequantizeMatchesReferenceOnEveryValue) {
  Tensor u(DType::kUInt8, {256 * 3 + 5}), s(DType::kInt8, {256 * 3 + 5});
  for (int64_t i = 0; i < u.numel(); ++i) {
    u.data<uint8_t>()[i] = static_cast<uint8_t>(i);
    s.data<int8_t>()[i] = static_cast<int8_t>(i);
  }
  for (float scale : {0.5f, 0.0173f, 3e-7f, 2e3f}) {
    expect_same_bytes(run("DequantizeLinear", u, scale, Tensor::scalar<uint8_t>(255), Isa::kRef),
                      run("DequantizeLinear", u, scale, Tensor::scalar<uint8_t>(255), GetParam()));
    expect_same_bytes(run("DequantizeLinear", s, scale, Tensor::scalar<int8_t>(-128), Isa::kRef),
                      run("DequantizeLinear", s, scale, Tensor::scalar<int8_t>(-128), GetParam()));
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, QuantizeKernel, ::testing::Values(Isa::kAvx2, Isa::kAvx512Vnni),
                         [](const auto& param_info) {
                           return std::string(isa_name(param_info.param));
                         });

}  // namespace
}  // namespace qdq
