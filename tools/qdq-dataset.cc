// qdq-dataset: prepares real data for the other tools.
//   qdq-dataset fashion-mnist --out=DIR [--format=cifar10|png]
//                                         Debian's Fashion-MNIST -> CIFAR-10 binary batches, or
//                                         the test split as an ImageNet-style folder of PNGs
//   qdq-dataset folder --dataset=DIR --out=test_batch.bin
//                                         an ImageNet-style folder of 32x32 JPEG/PNG images ->
//                                         CIFAR-10 binary (decoded once, rows in sorted path order)
//   qdq-dataset tensor --dataset=F.bin --out=F.raw [--first=0 --count=1 --mean= --std=]
//                                         images -> a raw float32 NCHW input for qexec --loadInputs
#include <iostream>

#include "cli/flags.h"
#include "cli/report.h"
#include "data/image_files.h"
#include "data/images.h"

namespace qdq {
namespace {

const std::vector<cli::FlagSpec> kFlags = {
    {"help", false, "print this help"},
    {"source", true, "Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist)"},
    {"out", true, "output folder (fashion-mnist) or file (tensor)"},
    {"format", true,
     "fashion-mnist: cifar10 (default; test and train batches) or png (test split, class folders)"},
    {"dataset", true, "CIFAR-10 binary file to read (tensor)"},
    {"first", true, "first image (tensor; default 0)"},
    {"count", true, "number of images (tensor; default 1)"},
    {"mean", true, "per-channel mean on [0,1] pixels, a,b,c (tensor; default 0.2190 for all)"},
    {"std", true, "per-channel std (tensor; default 0.3318 for all)"},
};

int run(int argc, char** argv) {
  const auto flags = cli::Flags::parse(argc, argv, kFlags);
  const std::string synopsis =
      "qdq-dataset fashion-mnist --out=DIR | qdq-dataset tensor --dataset=F --out=F";
  if (flags.has("help")) {
    std::cout << cli::usage_text(synopsis, kFlags);
    return 0;
  }
  check(flags.positional().size() == 1,
        "expected one command: fashion-mnist or tensor (see --help)");
  check(flags.has("out"), "--out is required");
  const std::string command = flags.positional()[0];
  if (command == "fashion-mnist") {
    const std::filesystem::path src = flags.get("source", "/usr/share/datasets/fashion-mnist");
    const std::filesystem::path out = flags.get("out");
    std::filesystem::create_directories(out);
    const std::string format = flags.get("format", "cifar10");
    check(format == "cifar10" || format == "png", "--format must be cifar10 or png");
    if (format == "png") {
      const auto images = to_cifar_layout(
          read_fashion_mnist(src / "t10k-images-idx3-ubyte.gz", src / "t10k-labels-idx1-ubyte.gz"));
      for (int64_t i = 0; i < images.count; ++i) {
        // Folders class_0..class_9: sorted names are the class index.
        const auto dir = out / ("class_" + std::to_string(images.labels[i]));
        std::filesystem::create_directories(dir);
        char name[32];
        std::snprintf(name, sizeof name, "%05lld.png", static_cast<long long>(i));
        write_png(dir / name, rgb_image(images, i));
      }
      std::cout << "wrote " << images.count << " PNG images (32x32 RGB) under " << out.string()
                << "/class_*\n";
      return 0;
    }
    for (auto [prefix, file] :
         {std::pair{"t10k", "test_batch.bin"}, std::pair{"train", "train_batch.bin"}}) {
      auto images = to_cifar_layout(
          read_fashion_mnist(src / (std::string(prefix) + "-images-idx3-ubyte.gz"),
                             src / (std::string(prefix) + "-labels-idx1-ubyte.gz")));
      cli::write_file_atomically(out / file, encode_cifar10_binary(images));
      std::cout << "wrote " << (out / file).string() << ": " << images.count
                << " images, 3x32x32\n";
    }
    return 0;
  }
  if (command == "folder") {
    check(flags.has("dataset"), "--dataset=DIR is required");
    const auto files = list_image_folder(flags.get("dataset"), "");
    LabeledImages out;
    out.channels = 3;
    out.height = out.width = 32;
    for (const auto& f : files) {
      const RgbImage img = decode_image(f.path);
      check(img.width == 32 && img.height == 32,
            f.path.string() + ": CIFAR-10 binary holds 32x32 images");
      check(f.label < 256, "more than 256 classes");
      out.labels.push_back(static_cast<uint8_t>(f.label));
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t p = 0; p < 1024; ++p) out.pixels.push_back(img.pixels[p * 3 + c]);
      ++out.count;
    }
    cli::write_file_atomically(flags.get("out"), encode_cifar10_binary(out));
    std::cout << "wrote " << flags.get("out") << ": " << out.count << " images, 3x32x32\n";
    return 0;
  }
  check(command == "tensor", "unknown command '" + command + "' (fashion-mnist, folder or tensor)");
  check(flags.has("dataset"), "--dataset is required");
  const auto images = read_cifar10_binary(flags.get("dataset"));
  const Tensor t = normalize_images(
      images, flags.get_int("first", 0), flags.get_int("count", 1),
      cli::parse_float_triple(flags.get("mean"), {0.2190f, 0.2190f, 0.2190f}, "mean"),
      cli::parse_float_triple(flags.get("std"), {0.3318f, 0.3318f, 0.3318f}, "std"));
  cli::write_file_atomically(flags.get("out"),
                             std::string(static_cast<const char*>(t.raw()), t.nbytes()));
  std::cout << "wrote " << flags.get("out") << ": float32 " << shape_to_string(t.shape()) << "\n";
  return 0;
}

}  // namespace
}  // namespace qdq

int main(int argc, char** argv) {
  return qdq::cli::run_tool([&] { return qdq::run(argc, argv); });
}
