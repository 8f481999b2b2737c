#include "data/dataset.h"

#include <algorithm>
#include <cstring>

#include "data/images.h"

namespace qdq {
namespace {

class Cifar10Dataset : public Dataset {
 public:
  Cifar10Dataset(std::filesystem::path path, const DatasetOptions& o)
      : prep_{std::max<int64_t>(o.resize, 0), std::max<int64_t>(o.crop, 0), o.mean, o.std} {
    if (std::filesystem::is_directory(path)) path /= "test_batch.bin";
    images_ = read_cifar10_binary(path);
    // No resize or crop by default: the records are the network's input. With
    // them, each record goes through the image folders' preprocessing, so a
    // 224x224 network reads the same pixels as from the records' PNG export.
    if (prep_.resize > 0 || prep_.crop > 0)
      image_shape_ = preprocessed_shape(RgbImage{images_.width, images_.height, {}}, prep_);
  }
  int64_t size() const override { return images_.count; }
  ImageBatch load(int64_t first, int64_t count) const override {
    ImageBatch b;
    for (int64_t i = 0; i < count; ++i) b.labels.push_back(images_.labels[first + i]);
    if (image_shape_.empty()) {
      b.images = normalize_images(images_, first, count, prep_.mean, prep_.std);
      return b;
    }
    Shape shape = {count};
    shape.insert(shape.end(), image_shape_.begin(), image_shape_.end());
    b.images = Tensor(DType::kFloat32, shape);
    const int64_t image_size = element_count(image_shape_);
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < count; ++i)
      preprocess(rgb_image(images_, first + i), prep_, b.images.data<float>() + i * image_size);
    return b;
  }

 private:
  LabeledImages images_;
  Preprocessing prep_;
  Shape image_shape_;  // empty: the records as they are
};

class ImageFolderDataset : public Dataset {
 public:
  ImageFolderDataset(const std::filesystem::path& dir, const DatasetOptions& o)
      : files_(list_image_folder(dir, o.labels_file)) {
    prep_.resize = o.resize < 0 ? 256 : o.resize;
    prep_.crop = o.crop < 0 ? 224 : o.crop;
    prep_.mean = o.mean;
    prep_.std = o.std;
    check(!files_.empty(), dir.string() + " holds no .jpg/.jpeg/.png images");
  }
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  ImageBatch load(int64_t first, int64_t count) const override {
    // Decode in parallel; each image lands in its own slot.
    std::vector<std::vector<float>> pixels(static_cast<size_t>(count));
    std::vector<Shape> shapes(static_cast<size_t>(count));
    std::vector<std::string> errors(static_cast<size_t>(count));
#pragma omp parallel for schedule(dynamic)
    for (int64_t i = 0; i < count; ++i) {
      try {
        RgbImage image = decode_image(files_[first + i].path);
        shapes[i] = preprocessed_shape(image, prep_);
        pixels[i].resize(static_cast<size_t>(element_count(shapes[i])));
        preprocess(image, prep_, pixels[i].data());
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    }
    ImageBatch b;
    Shape shape;
    std::vector<int64_t> kept;
    for (int64_t i = 0; i < count; ++i) {
      if (!errors[i].empty()) {
        b.skipped.push_back(errors[i]);
        continue;
      }
      if (shape.empty()) shape = shapes[i];
      check(shapes[i] == shape, files_[first + i].path.string() + ": preprocessed to " +
                                    shape_to_string(shapes[i]) + ", others to " +
                                    shape_to_string(shape) + "; give --crop so all images match");
      kept.push_back(i);
    }
    Shape batch_shape = {static_cast<int64_t>(kept.size())};
    batch_shape.insert(batch_shape.end(), shape.begin(), shape.end());
    if (kept.empty()) batch_shape = {0, 3, 1, 1};
    b.images = Tensor(DType::kFloat32, batch_shape);
    for (size_t j = 0; j < kept.size(); ++j) {
      std::memcpy(b.images.data<float>() + j * pixels[kept[j]].size(), pixels[kept[j]].data(),
                  pixels[kept[j]].size() * sizeof(float));
      b.labels.push_back(files_[first + kept[j]].label);
    }
    return b;
  }

 private:
  std::vector<LabeledFile> files_;
  Preprocessing prep_;
};

}  // namespace

std::unique_ptr<Dataset> Dataset::open(const std::string& spec, const DatasetOptions& options) {
  const size_t colon = spec.find(':');
  check(colon != std::string::npos,
        "--dataset=" + spec + ": expected cifar10:PATH or imagenet:DIR");
  const std::string kind = spec.substr(0, colon);
  const std::filesystem::path path = spec.substr(colon + 1);
  if (kind == "cifar10") return std::make_unique<Cifar10Dataset>(path, options);
  if (kind == "imagenet") return std::make_unique<ImageFolderDataset>(path, options);
  fail("--dataset kind '" + kind + "' is unknown (cifar10, imagenet)");
}

}  // namespace qdq
