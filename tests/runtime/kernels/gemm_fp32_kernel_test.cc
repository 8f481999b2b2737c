// The optimized FP32 Gemm against the reference, within float rounding (sums
// in another order; inputs in [-1, 1], at most 300 terms: |error| < 1e-4):
// every transpose pairing, alpha and beta, C absent, a row of biases in both
// shapes, and a full [M, N] C (which the reference kernel serves); a GEMM
// small enough for one thread and one split over the threads.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <random>

#include "graph/builder.h"
#include "pass_test_util.h"
#include "runtime/kernels/kernel_test_util.h"

namespace qdq {
namespace {

Tensor run_gemm(int64_t m, int64_t k, int64_t n, bool ta, bool tb, float alpha, float beta,
                const std::optional<Shape>& c_shape, Isa isa) {
  GraphBuilder b(13);
  Attributes a;
  a.set("transA", int64_t{ta});
  a.set("transB", int64_t{tb});
  a.set("alpha", alpha);
  a.set("beta", beta);
  std::vector<Value*> inputs = {
      b.constant("a", testing::random_floats(ta ? Shape{k, m} : Shape{m, k}, 1)),
      b.constant("b", testing::random_floats(tb ? Shape{n, k} : Shape{k, n}, 2))};
  if (c_shape) inputs.push_back(b.constant("c", testing::random_floats(*c_shape, 3)));
  b.output(b.op("Gemm", inputs, a));
  Graph g = b.build();
  return testing::run_at_isa(g, isa);
}

class GemmFp32Kernel : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not available";
  }
};

// The second shape is worth threads: its columns split over them (1003: a
// last part not of 16).
TEST_P(GemmFp32Kernel, MatchesReference) {
  for (const auto [m, k, n] :
       {std::array<int64_t, 3>{7, 300, 19}, std::array<int64_t, 3>{17, 300, 1003}})
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (const std::optional<Shape>& c :
             {std::optional<Shape>{}, std::optional<Shape>{Shape{n}},
              std::optional<Shape>{Shape{1, n}}, std::optional<Shape>{Shape{m, n}}}) {
          const Tensor want = run_gemm(m, k, n, ta, tb, 0.5f, 2.0f, c, Isa::kRef);
          const Tensor got = run_gemm(m, k, n, ta, tb, 0.5f, 2.0f, c, GetParam());
          ASSERT_EQ(want.shape(), got.shape());
          for (int64_t i = 0; i < want.numel(); ++i)
            ASSERT_NEAR(want.data<float>()[i], got.data<float>()[i], 1e-4f)
                << "transA " << ta << " transB " << tb << " n " << n << " element " << i;
        }
}

INSTANTIATE_TEST_SUITE_P(Isas, GemmFp32Kernel, ::testing::Values(Isa::kAvx2, Isa::kAvx512Vnni),
                         [](const auto& param_info) {
                           return std::string(isa_name(param_info.param));
                         });

}  // namespace
}  // namespace qdq
