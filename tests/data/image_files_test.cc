#include "data/image_files.h"

#include <gtest/gtest.h>
#include <jpeglib.h>

#include <cstdio>
#include <cstring>
#include <fstream>

#include "data/dataset.h"
#include "data/images.h"
#include "temp_path.h"

namespace qdq {
namespace {

namespace fs = std::filesystem;

class ImageFiles : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(dir_); }

  static RgbImage gradient(int64_t w, int64_t h) {
    RgbImage img;
    img.width = w;
    img.height = h;
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c)
          img.pixels.push_back(static_cast<uint8_t>((x * 8 + y * 4 + c * 30) % 256));
    return img;
  }

  // A baseline JPEG written with libjpeg itself, quality 95.
  void write_jpeg(const fs::path& path, const RgbImage& img) {
    jpeg_compress_struct cinfo{};
    jpeg_error_mgr err{};
    cinfo.err = jpeg_std_error(&err);
    jpeg_create_compress(&cinfo);
    FILE* f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    jpeg_stdio_dest(&cinfo, f);
    cinfo.image_width = static_cast<JDIMENSION>(img.width);
    cinfo.image_height = static_cast<JDIMENSION>(img.height);
    cinfo.input_components = 3;
    cinfo.in_color_space = JCS_RGB;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, 95, TRUE);
    jpeg_start_compress(&cinfo, TRUE);
    while (cinfo.next_scanline < cinfo.image_height) {
      JSAMPROW row = const_cast<uint8_t*>(img.pixels.data()) + cinfo.next_scanline * img.width * 3;
      jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    std::fclose(f);
  }

  const testing::TempPath scratch_ = testing::TempPath::for_current_test("images_");
  const fs::path dir_ = scratch_.path();
};

TEST_F(ImageFiles, PngRoundTripIsExact) {
  RgbImage img = gradient(13, 7);
  write_png(dir_ / "a.png", img);
  RgbImage back = decode_image(dir_ / "a.png");
  EXPECT_EQ(back.width, 13);
  EXPECT_EQ(back.height, 7);
  EXPECT_EQ(back.pixels, img.pixels);
}

TEST_F(ImageFiles, JpegDecodesClose) {
  RgbImage img = gradient(16, 16);
  write_jpeg(dir_ / "a.jpg", img);
  RgbImage back = decode_image(dir_ / "a.jpg");
  ASSERT_EQ(back.pixels.size(), img.pixels.size());
  double err = 0;
  for (size_t i = 0; i < img.pixels.size(); ++i)
    err += std::abs(int{back.pixels[i]} - int{img.pixels[i]});
  EXPECT_LT(err / static_cast<double>(img.pixels.size()), 4.0);  // lossy, but the same picture
}

TEST_F(ImageFiles, BadFilesAreClearErrors) {
  std::ofstream(dir_ / "bad.jpg", std::ios::binary)
      << "\xFF\xD8\xFF\xE0 this is not really a jpeg at all";
  std::ofstream(dir_ / "bad.png", std::ios::binary) << "\x89PNG\r\n\x1a\n broken";
  std::ofstream(dir_ / "text.png") << "hello there, not an image";
  for (const char* name : {"bad.jpg", "bad.png", "text.png", "missing.png"}) {
    try {
      decode_image(dir_ / name);
      FAIL() << name;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
  }
}

TEST_F(ImageFiles, FolderLayoutsAndSkippedImages) {
  for (const char* c : {"b_dog", "a_cat"}) fs::create_directories(dir_ / c);
  write_png(dir_ / "a_cat" / "2.png", gradient(8, 8));
  write_png(dir_ / "a_cat" / "1.png", gradient(8, 8));
  write_png(dir_ / "b_dog" / "1.png", gradient(8, 8));
  std::ofstream(dir_ / "b_dog" / "0.png") << "not an image";
  auto files = list_image_folder(dir_, "");
  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].path.filename(), "1.png");
  EXPECT_EQ(files[0].label, 0);  // a_cat sorts first
  EXPECT_EQ(files[2].label, 1);

  DatasetOptions o;
  o.resize = 8;
  o.crop = 4;
  auto ds = Dataset::open("imagenet:" + dir_.string(), o);
  ImageBatch b = ds->load(0, 4);
  EXPECT_EQ(b.labels.size(), 3u);
  ASSERT_EQ(b.skipped.size(), 1u);
  EXPECT_NE(b.skipped[0].find("0.png"), std::string::npos);
  EXPECT_EQ(b.images.shape(), (Shape{3, 3, 4, 4}));

  std::ofstream(dir_ / "val.txt") << "b_dog/1.png 7\na_cat/1.png 3\n";
  o.labels_file = (dir_ / "val.txt").string();
  auto flat = Dataset::open("imagenet:" + dir_.string(), o);
  EXPECT_EQ(flat->size(), 2);
  EXPECT_EQ(flat->load(0, 2).labels, (std::vector<int64_t>{7, 3}));
}

// A CIFAR-10 binary with --resize/--crop reads the same tensor as the
// records exported to an image folder: how a 224x224 network is calibrated
// and evaluated on the 32x32 records.
TEST_F(ImageFiles, Cifar10RecordsResizeLikeTheirPngExport) {
  LabeledImages records;
  records.count = 2;
  records.channels = 3;
  records.height = records.width = 32;
  for (int64_t i = 0; i < records.count * records.image_bytes(); ++i)
    records.pixels.push_back(static_cast<uint8_t>((i * 37 + i / 97) % 256));
  records.labels = {1, 0};
  std::ofstream(dir_ / "batch.bin", std::ios::binary) << encode_cifar10_binary(records);
  for (int64_t r = 0; r < records.count; ++r) {
    RgbImage image{32, 32, {}};
    for (int64_t p = 0; p < 32 * 32; ++p)
      for (int64_t c = 0; c < 3; ++c)
        image.pixels.push_back(records.pixels[r * records.image_bytes() + c * 32 * 32 + p]);
    const fs::path folder =
        dir_ / "png" / std::string(1, static_cast<char>('a' + records.labels[r]));
    fs::create_directories(folder);
    write_png(folder / "0.png", image);
  }
  DatasetOptions o;
  o.resize = 72;
  o.crop = 64;
  const ImageBatch from_records =
      Dataset::open("cifar10:" + (dir_ / "batch.bin").string(), o)->load(0, 2);
  const auto folder = Dataset::open("imagenet:" + (dir_ / "png").string(), o);
  ASSERT_EQ(from_records.images.shape(), (Shape{2, 3, 64, 64}));
  EXPECT_EQ(from_records.labels, (std::vector<int64_t>{1, 0}));
  // The folder lists class a (record 1) before class b (record 0).
  for (int64_t r = 0; r < 2; ++r) {
    const ImageBatch one = folder->load(1 - r, 1);
    ASSERT_EQ(one.labels, (std::vector<int64_t>{records.labels[r]}));
    EXPECT_EQ(
        std::memcmp(one.images.data<float>(), from_records.images.data<float>() + r * 3 * 64 * 64,
                    3 * 64 * 64 * sizeof(float)),
        0)
        << "record " << r;
  }
  o.resize = o.crop = -1;  // the records as they are
  EXPECT_EQ(Dataset::open("cifar10:" + (dir_ / "batch.bin").string(), o)->load(0, 2).images.shape(),
            (Shape{2, 3, 32, 32}));
}

TEST(Preprocess, IdentityResizeAndAntialiasedDownscale) {
  RgbImage img;
  img.width = img.height = 4;
  for (int64_t i = 0; i < 16; ++i)
    for (int c = 0; c < 3; ++c)
      img.pixels.push_back((i / 4 + i % 4) % 2 ? 255 : 0);  // checkerboard
  Preprocessing same{4, 4, {0, 0, 0}, {1, 1, 1}};
  std::vector<float> out(48);
  preprocess(img, same, out.data());
  for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(out[i], img.pixels[i * 3] / 255.0f);
  // Halving averages each 2x2 block (and its neighbours, by the filter's width):
  // a checkerboard becomes flat grey, not aliased black or white.
  Preprocessing half{2, 2, {0, 0, 0}, {1, 1, 1}};
  preprocess(img, half, out.data());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(out[i], 0.5f, 0.13f);
}

}  // namespace
}  // namespace qdq
