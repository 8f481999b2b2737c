// Labeled image datasets as qeval reads them (CONTRACT.md's --dataset specs):
// "cifar10:PATH" (binary batches, the file or its folder) and "imagenet:DIR"
// (class sub-folders of JPEG/PNG, or a flat folder with a labels file).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "data/image_files.h"

namespace qdq {

struct DatasetOptions {
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f}, std{0.229f, 0.224f, 0.225f};
  int64_t resize = -1, crop = -1;  // -1: the format's default (imagenet 256/224, cifar10 none)
  std::string labels_file;         // imagenet flat folders
};

struct ImageBatch {
  Tensor images;                     // float32 [n, 3, H, W], normalized
  std::vector<int64_t> labels;       // one per image
  std::vector<std::string> skipped;  // "path: why" for images that could not be read
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  // Images [first, first + count); unreadable images are skipped and listed.
  virtual ImageBatch load(int64_t first, int64_t count) const = 0;

  static std::unique_ptr<Dataset> open(const std::string& spec, const DatasetOptions& options);
};

}  // namespace qdq
