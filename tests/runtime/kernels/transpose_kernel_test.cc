// The AVX2 Transpose against the reference, byte for byte: 3-channel 8-bit
// images into channels-last (whole 16-pixel strips, a tail, a tail alone,
// a batch split over the threads), and the transposes it leaves to the
// reference (which it says it did).
#include <gtest/gtest.h>

#include <cstring>

#include "graph/builder.h"
#include "runtime/inputs.h"
#include "runtime/reference/executor.h"

namespace qdq {
namespace {

struct Ran {
  Tensor y;
  Isa isa;
};

Ran transpose_at(const Tensor& x, const std::vector<int64_t>& perm, Isa isa) {
  GraphBuilder b(13);
  Attributes a;
  a.set("perm", perm);
  b.output(b.op("Transpose", {b.constant("x", x)}, a));
  Graph g = b.build();
  auto ex = ReferenceExecutor::create(g, ExecutorOptions{isa, {}});
  EXPECT_TRUE(ex.is_ok()) << ex.status().message();
  auto out = ex->run({});
  EXPECT_TRUE(out.is_ok()) << out.status().message();
  return {out.value()[0], ex->layer_kernels().at(0).ran.isa};
}

void expect_like_reference(const Tensor& x, const std::vector<int64_t>& perm, Isa expected) {
  const Ran want = transpose_at(x, perm, Isa::kRef);
  const Ran got = transpose_at(x, perm, Isa::kAvx2);
  ASSERT_EQ(want.y.shape(), got.y.shape());
  EXPECT_EQ(std::memcmp(want.y.raw(), got.y.raw(), want.y.nbytes()), 0);
  EXPECT_EQ(got.isa, expected);
}

class TransposeKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!isa_supported(Isa::kAvx2)) GTEST_SKIP() << "AVX2 is not available";
  }
};

TEST_F(TransposeKernel, ThreeChannelImagesIntoChannelsLast) {
  uint32_t seed = 1;
  for (DType type : {DType::kUInt8, DType::kInt8})
    for (const Shape& shape :
         {Shape{2, 3, 5, 7}, Shape{1, 3, 32, 32}, Shape{3, 3, 1, 1}, Shape{40, 3, 32, 33}})
      expect_like_reference(random_tensor(type, shape, seed++), {0, 2, 3, 1}, Isa::kAvx2);
}

TEST_F(TransposeKernel, OtherTransposesAreTheReferences) {
  expect_like_reference(random_tensor(DType::kUInt8, {2, 4, 5, 7}, 1), {0, 2, 3, 1}, Isa::kRef);
  expect_like_reference(random_tensor(DType::kUInt8, {2, 5, 7, 3}, 2), {0, 3, 1, 2}, Isa::kRef);
  expect_like_reference(random_tensor(DType::kFloat32, {2, 3, 5, 7}, 3), {0, 2, 3, 1}, Isa::kRef);
  expect_like_reference(random_tensor(DType::kUInt8, {3, 5, 7}, 4), {1, 2, 0}, Isa::kRef);
}

}  // namespace
}  // namespace qdq
