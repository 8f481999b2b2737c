// Labeled image sets in memory, and the readers/writers for the dataset formats
// qdq uses: CIFAR-10 binary batches and Fashion-MNIST's gzipped IDX files.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "graph/tensor.h"

namespace qdq {

struct LabeledImages {
  int64_t count = 0, channels = 0, height = 0, width = 0;
  std::vector<uint8_t> pixels;  // count x channels x height x width, planar
  std::vector<uint8_t> labels;
  int64_t image_bytes() const { return channels * height * width; }
};

// CIFAR-10 binary: records of 1 label byte + 3x32x32 planar pixels (R, G, B).
LabeledImages read_cifar10_binary(const std::filesystem::path& path);
std::string encode_cifar10_binary(const LabeledImages& images);

// Fashion-MNIST (IDX format, gzip-compressed as Debian ships it).
LabeledImages read_fashion_mnist(const std::filesystem::path& images_gz,
                                 const std::filesystem::path& labels_gz);
// 28x28 gray -> 32x32 RGB: 2-pixel zero pad on each side, gray copied to all
// three planes, so the images look like CIFAR-10 to a CIFAR network.
LabeledImages to_cifar_layout(const LabeledImages& gray);

// Images [first, first+count) as float NCHW: (pixel / 255 - mean[c]) / std[c].
Tensor normalize_images(const LabeledImages& images, int64_t first, int64_t count,
                        const std::array<float, 3>& mean, const std::array<float, 3>& std);

}  // namespace qdq
