// Fuzz target: CIFAR-10 binary batches -> records -> normalized tensors.
#include <algorithm>

#include "data/images.h"
#include "fuzz_util.h"
#include "support/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qdq::fuzz::scratch_file("cifar.bin", data, size);
  (void)qdq::catch_errors([&] {
    const qdq::LabeledImages images = qdq::read_cifar10_binary(path);
    const int64_t n = std::min<int64_t>(images.count, 4);
    if (n > 0) (void)qdq::normalize_images(images, 0, n, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
    return 0;
  });
  return 0;
}
