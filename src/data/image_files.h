// Image files for qeval's imagenet: datasets and qdq-dataset's folder export:
// decoding through libjpeg-turbo and libpng, PNG writing, the folder layouts,
// and ImageNet-style preprocessing.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/images.h"
#include "graph/tensor.h"

namespace qdq {

// 8-bit RGB, interleaved, row-major.
struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3
};

// JPEG (libjpeg-turbo) or PNG (libpng), chosen by the file's signature; gray,
// palette and alpha are converted to RGB. Throws qdq::Error naming the file.
RgbImage decode_image(const std::filesystem::path& path);
// Image `index` of a 3-channel planar set (a CIFAR-10 record), interleaved.
RgbImage rgb_image(const LabeledImages& images, int64_t index);
void write_png(const std::filesystem::path& path, const RgbImage& image);

struct LabeledFile {
  std::filesystem::path path;
  int64_t label;
};

// An ImageNet-style folder: one sub-folder per class (sorted names = class
// index) of .jpg/.jpeg/.png files; or, when labels_file is given, a flat folder
// and "file label" lines. Files are listed in sorted order.
std::vector<LabeledFile> list_image_folder(const std::filesystem::path& dir,
                                           const std::filesystem::path& labels_file);

// Shorter side to `resize` (0: keep) with an antialiased bilinear filter (PIL's
// triangle filter widened by the downscale factor; computed in float, without
// PIL's 8-bit rounding of the intermediate image), then a center crop of
// `crop` x `crop` (0: keep), then (pixel / 255 - mean) / std into a float
// [3, H, W] block at `out`.
struct Preprocessing {
  int64_t resize = 0, crop = 0;
  std::array<float, 3> mean{}, std{};
};
Shape preprocessed_shape(const RgbImage& image, const Preprocessing& p);
void preprocess(const RgbImage& image, const Preprocessing& p, float* out);

}  // namespace qdq
