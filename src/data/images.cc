#include "data/images.h"

#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace qdq {
namespace {

constexpr int64_t kCifarSide = 32;
constexpr int64_t kCifarRecord = 1 + 3 * kCifarSide * kCifarSide;

std::string read_gzip(const std::filesystem::path& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  check(f != nullptr, "cannot open " + path.string());
  std::string out;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  const bool failed = n < 0;
  gzclose(f);
  check(!failed, path.string() + ": not a valid gzip file");
  return out;
}

uint32_t big_endian_u32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

}  // namespace

LabeledImages read_cifar10_binary(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "cannot open " + path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string bytes = ss.str();
  check(!bytes.empty() && bytes.size() % kCifarRecord == 0,
        path.string() + ": " + std::to_string(bytes.size()) +
            " bytes is not a whole number of CIFAR-10 records (" + std::to_string(kCifarRecord) +
            " bytes each)");
  LabeledImages out;
  out.count = static_cast<int64_t>(bytes.size()) / kCifarRecord;
  out.channels = 3;
  out.height = out.width = kCifarSide;
  out.pixels.resize(static_cast<size_t>(out.count * out.image_bytes()));
  out.labels.resize(static_cast<size_t>(out.count));
  for (int64_t i = 0; i < out.count; ++i) {
    out.labels[i] = static_cast<uint8_t>(bytes[i * kCifarRecord]);
    std::copy_n(bytes.data() + i * kCifarRecord + 1, out.image_bytes(),
                out.pixels.data() + i * out.image_bytes());
  }
  return out;
}

std::string encode_cifar10_binary(const LabeledImages& images) {
  check(images.channels == 3 && images.height == kCifarSide && images.width == kCifarSide,
        "CIFAR-10 binary holds 3x32x32 images");
  std::string out;
  out.reserve(static_cast<size_t>(images.count * kCifarRecord));
  for (int64_t i = 0; i < images.count; ++i) {
    out.push_back(static_cast<char>(images.labels[i]));
    out.append(reinterpret_cast<const char*>(images.pixels.data() + i * images.image_bytes()),
               static_cast<size_t>(images.image_bytes()));
  }
  return out;
}

LabeledImages read_fashion_mnist(const std::filesystem::path& images_gz,
                                 const std::filesystem::path& labels_gz) {
  const std::string images = read_gzip(images_gz);
  const std::string labels = read_gzip(labels_gz);
  check(images.size() >= 16 && big_endian_u32(images, 0) == 2051,
        images_gz.string() + ": not an IDX image file");
  check(labels.size() >= 8 && big_endian_u32(labels, 0) == 2049,
        labels_gz.string() + ": not an IDX label file");
  LabeledImages out;
  out.count = big_endian_u32(images, 4);
  out.channels = 1;
  out.height = big_endian_u32(images, 8);
  out.width = big_endian_u32(images, 12);
  check(out.height > 0 && out.height <= 4096 && out.width > 0 && out.width <= 4096,
        "IDX image size out of range");
  check(images.size() == 16 + static_cast<size_t>(out.count * out.image_bytes()),
        images_gz.string() + ": truncated");
  check(
      big_endian_u32(labels, 4) == out.count && labels.size() == 8 + static_cast<size_t>(out.count),
      labels_gz.string() + ": label count does not match the images");
  out.pixels.assign(images.begin() + 16, images.end());
  out.labels.assign(labels.begin() + 8, labels.end());
  return out;
}

LabeledImages to_cifar_layout(const LabeledImages& gray) {
  check(gray.channels == 1 && gray.height == 28 && gray.width == 28, "expects 28x28 gray images");
  LabeledImages out;
  out.count = gray.count;
  out.channels = 3;
  out.height = out.width = kCifarSide;
  out.labels = gray.labels;
  out.pixels.assign(static_cast<size_t>(out.count * out.image_bytes()), 0);
  for (int64_t i = 0; i < out.count; ++i)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 28; ++y)
        std::copy_n(
            gray.pixels.data() + i * 784 + y * 28, 28,
            out.pixels.data() + i * out.image_bytes() + (c * kCifarSide + y + 2) * kCifarSide + 2);
  return out;
}

Tensor normalize_images(const LabeledImages& images, int64_t first, int64_t count,
                        const std::array<float, 3>& mean, const std::array<float, 3>& std) {
  check(first >= 0 && count >= 0 && first + count <= images.count, "image range out of bounds");
  check(images.channels <= 3, "normalize_images handles up to 3 channels");
  Tensor t(DType::kFloat32, {count, images.channels, images.height, images.width});
  float* out = t.data<float>();
  const int64_t plane = images.height * images.width;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t c = 0; c < images.channels; ++c)
      for (int64_t p = 0; p < plane; ++p) {
        const uint8_t v = images.pixels[(first + i) * images.image_bytes() + c * plane + p];
        out[(i * images.channels + c) * plane + p] =
            (static_cast<float>(v) / 255.0f - mean[c]) / std[c];
      }
  return t;
}

}  // namespace qdq
