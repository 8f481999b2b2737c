// Fuzz target: JPEG/PNG bytes -> decode (libjpeg-turbo, libpng, through our
// wrapper) -> qeval's resize and center crop.
#include <vector>

#include "data/image_files.h"
#include "fuzz_util.h"
#include "support/status.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto path = qdq::fuzz::scratch_file("image", data, size);
  (void)qdq::catch_errors([&] {
    const qdq::RgbImage image = qdq::decode_image(path);
    const qdq::Preprocessing p{24, 16, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}};
    std::vector<float> out(
        static_cast<size_t>(qdq::element_count(qdq::preprocessed_shape(image, p))));
    qdq::preprocess(image, p, out.data());
    return 0;
  });
  return 0;
}
