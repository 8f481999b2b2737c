// Slice and Pad as strided copies: checked element by element against the
// index arithmetic of their ONNX definitions, on 8-bit tensors (the shortcut
// of the CIFAR ResNets runs them on uint8) and on floats.
#include <gtest/gtest.h>

#include "runtime/reference/run_node.h"

namespace qdq {
namespace {

using testing::run_node;

Tensor ints(std::vector<int64_t> v) {
  return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

Tensor counting_uint8(const Shape& shape) {
  Tensor t(DType::kUInt8, shape);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(i * 7 + 3);
  return t;
}

TEST(Slice, StridedAndReversedSelectionsOfAnNhwcTensor) {
  const Tensor x = counting_uint8({2, 5, 6, 3});
  // H every 2nd from 0, W backwards from 5 by 2, C from 1: out [2, 3, 3, 2].
  auto y = run_node("Slice",
                    {x, ints({0, 5, 1}), ints({5, -100, 3}), ints({1, 2, 3}), ints({2, -2, 1})})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 3, 3, 2}));
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t h = 0; h < 3; ++h)
      for (int64_t w = 0; w < 3; ++w)
        for (int64_t c = 0; c < 2; ++c) {
          const int64_t src = ((n * 5 + 2 * h) * 6 + (5 - 2 * w)) * 3 + (1 + c);
          EXPECT_EQ(y.data<uint8_t>()[((n * 3 + h) * 3 + w) * 2 + c], x.data<uint8_t>()[src]);
        }
}

TEST(Slice, EmptyResult) {
  auto y = run_node("Slice", {counting_uint8({4, 4}), ints({3}), ints({1}), ints({0})})[0];
  EXPECT_EQ(y.shape(), (Shape{0, 4}));
}

TEST(Pad, ConstantFillWithGrowthAndCropPerDim) {
  const Tensor x = counting_uint8({2, 3, 4});
  // dim 0 +1 before; dim 1 crop 1 before, +2 after; dim 2 +1 before, crop 2 after.
  auto y = run_node("Pad", {x, ints({1, -1, 1, 0, 2, -2}), Tensor::scalar<uint8_t>(9)})[0];
  ASSERT_EQ(y.shape(), (Shape{3, 4, 3}));
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t b = 0; b < 4; ++b)
      for (int64_t c = 0; c < 3; ++c) {
        const int64_t i = a - 1, j = b + 1, k = c - 1;
        const bool inside = i >= 0 && i < 2 && j >= 0 && j < 3 && k >= 0 && k < 4;
        EXPECT_EQ(y.data<uint8_t>()[(a * 4 + b) * 3 + c],
                  inside ? x.data<uint8_t>()[(i * 3 + j) * 4 + k] : 9)
            << a << "," << b << "," << c;
      }
}

TEST(Pad, CropToNothingIsAllFill) {
  auto y = run_node("Pad", {Tensor::from_vector<float>({2}, {1.0f, 2.0f}), ints({-2, 1}),
                            Tensor::scalar<float>(0.5f)})[0];
  ASSERT_EQ(y.shape(), (Shape{1}));
  EXPECT_EQ(y.data<float>()[0], 0.5f);
}

}  // namespace
}  // namespace qdq
