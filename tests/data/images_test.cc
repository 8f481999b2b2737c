#include "data/images.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "temp_path.h"

namespace qdq {
namespace {

LabeledImages one_gray_image() {
  LabeledImages g;
  g.count = 1;
  g.channels = 1;
  g.height = g.width = 28;
  g.pixels.resize(784);
  for (int i = 0; i < 784; ++i) g.pixels[i] = static_cast<uint8_t>(i % 251);
  g.labels = {7};
  return g;
}

TEST(Images, CifarLayoutPadsAndReplicates) {
  LabeledImages c = to_cifar_layout(one_gray_image());
  ASSERT_EQ(c.image_bytes(), 3 * 32 * 32);
  for (int ch = 0; ch < 3; ++ch) {
    EXPECT_EQ(c.pixels[ch * 1024 + 0], 0);                 // pad corner
    EXPECT_EQ(c.pixels[ch * 1024 + 2 * 32 + 2], 0 % 251);  // gray (0,0)
    EXPECT_EQ(c.pixels[ch * 1024 + 5 * 32 + 9], (3 * 28 + 7) % 251);
    EXPECT_EQ(c.pixels[ch * 1024 + 31 * 32 + 31], 0);
  }
  EXPECT_EQ(c.labels[0], 7);
}

TEST(Images, CifarBinaryRoundTripAndTruncation) {
  LabeledImages c = to_cifar_layout(one_gray_image());
  const testing::TempPath file("images_test.bin");
  const auto& path = file.path();
  std::string bytes = encode_cifar10_binary(c);
  ASSERT_EQ(bytes.size(), 3073u);
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  LabeledImages back = read_cifar10_binary(path);
  EXPECT_EQ(back.pixels, c.pixels);
  EXPECT_EQ(back.labels, c.labels);
  std::ofstream(path, std::ios::binary).write(bytes.data(), 3000);
  EXPECT_THROW(read_cifar10_binary(path), Error);
}

TEST(Images, NormalizesPerChannel) {
  LabeledImages c = to_cifar_layout(one_gray_image());
  Tensor t = normalize_images(c, 0, 1, {0.5f, 0.5f, 0.5f}, {0.5f, 0.25f, 1.0f});
  EXPECT_EQ(t.shape(), (Shape{1, 3, 32, 32}));
  EXPECT_FLOAT_EQ(t.data<float>()[0], -1.0f);
  EXPECT_FLOAT_EQ(t.data<float>()[1024], -2.0f);
  EXPECT_FLOAT_EQ(t.data<float>()[2048], -0.5f);
  EXPECT_THROW(normalize_images(c, 0, 2, {0, 0, 0}, {1, 1, 1}), Error);
}

TEST(Images, ReadsDebiansFashionMnist) {
  const std::filesystem::path dir = "/usr/share/datasets/fashion-mnist";
  LabeledImages test =
      read_fashion_mnist(dir / "t10k-images-idx3-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz");
  EXPECT_EQ(test.count, 10000);
  EXPECT_EQ(test.labels[0], 9);  // the first test image is an ankle boot
  EXPECT_THROW(
      read_fashion_mnist(dir / "t10k-labels-idx1-ubyte.gz", dir / "t10k-labels-idx1-ubyte.gz"),
      Error);
}

}  // namespace
}  // namespace qdq
