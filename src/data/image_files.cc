#include "data/image_files.h"

#include <jpeglib.h>
#include <png.h>

#include <algorithm>
#include <cmath>
#include <csetjmp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "support/files.h"

namespace qdq {
namespace {

// Images larger than any photo of an image-classification set are refused
// before the decoders allocate for them (a header can claim 16384 x 16384).
constexpr uint64_t kMaxImageSide = 16384;
constexpr uint64_t kMaxImagePixels = 40'000'000;
bool image_size_ok(uint64_t width, uint64_t height) {
  return width > 0 && height > 0 && width <= kMaxImageSide && height <= kMaxImageSide &&
         width * height <= kMaxImagePixels;
}

// libjpeg reports errors through a callback; jump back out instead of exit().
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

// Warnings (corrupt or truncated data that libjpeg papers over with grey) are
// not printed; decode_jpeg turns them into an error, so a damaged file is
// skipped rather than evaluated as a different picture.
void jpeg_silent_message(j_common_ptr, int) {}

void jpeg_error_exit(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<JpegError*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

RgbImage decode_jpeg(const std::string& bytes, const std::filesystem::path& path) {
  jpeg_decompress_struct cinfo{};
  JpegError err{};
  cinfo.err = jpeg_std_error(&err.manager);
  err.manager.error_exit = jpeg_error_exit;
  err.manager.emit_message = jpeg_silent_message;
  RgbImage image;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    fail(path.string() + ": not a readable JPEG (" + err.message + ")");
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_read_header(&cinfo, TRUE);
  if (!image_size_ok(cinfo.image_width, cinfo.image_height)) {
    jpeg_destroy_decompress(&cinfo);
    fail(path.string() + ": image size out of range");
  }
  // Progressive files buffer every coefficient: bounded by the pixel cap, and
  // by this, whatever the header's component layout.
  cinfo.mem->max_memory_to_use = 1L << 30;
  cinfo.out_color_space = JCS_RGB;
  jpeg_start_decompress(&cinfo);
  if (!image_size_ok(cinfo.output_width, cinfo.output_height)) {
    jpeg_destroy_decompress(&cinfo);
    fail(path.string() + ": image size out of range");
  }
  image.width = cinfo.output_width;
  image.height = cinfo.output_height;
  image.pixels.resize(static_cast<size_t>(image.width * image.height * 3));
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row =
        image.pixels.data() + static_cast<size_t>(cinfo.output_scanline) * image.width * 3;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  const long warnings = err.manager.num_warnings;
  jpeg_destroy_decompress(&cinfo);
  check(warnings == 0, path.string() + ": JPEG data is corrupt or truncated");
  return image;
}

RgbImage decode_png(const std::string& bytes, const std::filesystem::path& path) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  check(png_image_begin_read_from_memory(&png, bytes.data(), bytes.size()) != 0,
        path.string() + ": not a readable PNG (" + png.message + ")");
  if (!image_size_ok(png.width, png.height)) {
    png_image_free(&png);
    fail(path.string() + ": image size out of range");
  }
  png.format = PNG_FORMAT_RGB;  // libpng converts gray, palette and alpha (composited on black)
  RgbImage image;
  image.width = png.width;
  image.height = png.height;
  image.pixels.resize(PNG_IMAGE_SIZE(png));
  const bool ok = png_image_finish_read(&png, nullptr, image.pixels.data(), 0, nullptr) != 0;
  const std::string message = png.message;
  png_image_free(&png);
  check(ok, path.string() + ": not a readable PNG (" + message + ")");
  return image;
}

bool is_image_file(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// 1-D antialiased bilinear resampling weights, as PIL computes them: output i
// centred at (i + 0.5) * scale in input coordinates, triangle filter of support
// max(scale, 1).
struct Taps {
  std::vector<int64_t> first;
  std::vector<std::vector<float>> weights;
};

Taps resample_taps(int64_t in, int64_t out) {
  Taps t;
  const double scale = static_cast<double>(in) / static_cast<double>(out);
  const double support = std::max(scale, 1.0);
  for (int64_t i = 0; i < out; ++i) {
    const double center = (static_cast<double>(i) + 0.5) * scale;
    const int64_t lo =
        std::max<int64_t>(0, static_cast<int64_t>(std::floor(center - support + 0.5)));
    const int64_t hi =
        std::min<int64_t>(in, static_cast<int64_t>(std::floor(center + support + 0.5)));
    std::vector<float> w;
    double total = 0.0;
    for (int64_t j = lo; j < hi; ++j) {
      const double x = (static_cast<double>(j) - center + 0.5) / support;
      const double v = std::max(0.0, 1.0 - std::fabs(x));
      w.push_back(static_cast<float>(v));
      total += v;
    }
    for (float& v : w) v = total > 0 ? static_cast<float>(v / total) : 0.0f;
    t.first.push_back(lo);
    t.weights.push_back(std::move(w));
  }
  return t;
}

}  // namespace

RgbImage decode_image(const std::filesystem::path& path) {
  const std::string bytes = read_file(path);
  check(bytes.size() >= 8, path.string() + ": file too short to be an image");
  if (static_cast<uint8_t>(bytes[0]) == 0xFF && static_cast<uint8_t>(bytes[1]) == 0xD8)
    return decode_jpeg(bytes, path);
  if (bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0) return decode_png(bytes, path);
  fail(path.string() + ": neither a JPEG nor a PNG file");
}

void write_png(const std::filesystem::path& path, const RgbImage& image) {
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = PNG_FORMAT_RGB;
  const std::filesystem::path tmp = path.string() + ".tmp";
  const bool ok =
      png_image_write_to_file(&png, tmp.c_str(), 0, image.pixels.data(), 0, nullptr) != 0;
  png_image_free(&png);
  std::error_code ec;
  if (!ok) {
    std::filesystem::remove(tmp, ec);
    fail("cannot write " + path.string());
  }
  std::filesystem::rename(tmp, path, ec);
  check(!ec, "cannot write " + path.string());
}

std::vector<LabeledFile> list_image_folder(const std::filesystem::path& dir,
                                           const std::filesystem::path& labels_file) {
  check(std::filesystem::is_directory(dir), dir.string() + " is not a folder");
  std::vector<LabeledFile> files;
  if (!labels_file.empty()) {
    std::ifstream in(labels_file);
    check(static_cast<bool>(in), "cannot open " + labels_file.string());
    std::string line;
    int64_t line_number = 0;
    while (std::getline(in, line)) {
      ++line_number;
      std::istringstream ss(line);
      std::string name;
      int64_t label = 0;
      if (!(ss >> name)) continue;
      check(static_cast<bool>(ss >> label) && label >= 0,
            labels_file.string() + ":" + std::to_string(line_number) + ": expected 'file label'");
      files.push_back({dir / name, label});
    }
    return files;
  }
  std::vector<std::filesystem::path> classes;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.is_directory()) classes.push_back(e.path());
  std::sort(classes.begin(), classes.end());
  check(!classes.empty(), dir.string() + " has no class sub-folders (or give --labels)");
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::filesystem::path> images;
    for (const auto& e : std::filesystem::directory_iterator(classes[c]))
      if (e.is_regular_file() && is_image_file(e.path())) images.push_back(e.path());
    std::sort(images.begin(), images.end());
    for (auto& p : images) files.push_back({p, static_cast<int64_t>(c)});
  }
  return files;
}

RgbImage rgb_image(const LabeledImages& images, int64_t index) {
  check(images.channels == 3, "rgb_image needs 3-channel images");
  const int64_t plane = images.height * images.width;
  const uint8_t* planar = images.pixels.data() + index * images.image_bytes();
  RgbImage image{images.width, images.height, std::vector<uint8_t>(static_cast<size_t>(plane * 3))};
  for (int64_t p = 0; p < plane; ++p)
    for (int64_t c = 0; c < 3; ++c) image.pixels[p * 3 + c] = planar[c * plane + p];
  return image;
}

Shape preprocessed_shape(const RgbImage& image, const Preprocessing& p) {
  int64_t h = image.height, w = image.width;
  if (p.resize > 0) {
    const int64_t shorter = std::min(h, w);
    h = h == shorter
            ? p.resize
            : static_cast<int64_t>(std::llround(static_cast<double>(h) * p.resize / shorter));
    w = w == shorter
            ? p.resize
            : static_cast<int64_t>(std::llround(static_cast<double>(w) * p.resize / shorter));
  }
  if (p.crop > 0) {
    check(p.crop <= h && p.crop <= w,
          "crop " + std::to_string(p.crop) + " is larger than the resized image");
    h = w = p.crop;
  }
  return {3, h, w};
}

void preprocess(const RgbImage& image, const Preprocessing& p, float* out) {
  const Shape resized = preprocessed_shape(image, Preprocessing{p.resize, 0, p.mean, p.std});
  const int64_t rh = resized[1], rw = resized[2];
  const Taps ty = resample_taps(image.height, rh), tx = resample_taps(image.width, rw);
  // Horizontal pass into [height][rw][3], then vertical while cropping.
  std::vector<float> rows(static_cast<size_t>(image.height * rw * 3));
  for (int64_t y = 0; y < image.height; ++y)
    for (int64_t x = 0; x < rw; ++x)
      for (int64_t c = 0; c < 3; ++c) {
        float v = 0.0f;
        for (size_t k = 0; k < tx.weights[x].size(); ++k)
          v += tx.weights[x][k] *
               image.pixels[(y * image.width + tx.first[x] + static_cast<int64_t>(k)) * 3 + c];
        rows[(y * rw + x) * 3 + c] = v;
      }
  const int64_t ch = p.crop > 0 ? p.crop : rh, cw = p.crop > 0 ? p.crop : rw;
  const int64_t top = (rh - ch) / 2, left = (rw - cw) / 2;
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < ch; ++y)
      for (int64_t x = 0; x < cw; ++x) {
        const int64_t sy = y + top, sx = x + left;
        float v = 0.0f;
        for (size_t k = 0; k < ty.weights[sy].size(); ++k)
          v += ty.weights[sy][k] *
               rows[((ty.first[sy] + static_cast<int64_t>(k)) * rw + sx) * 3 + c];
        out[(c * ch + y) * cw + x] = (v / 255.0f - p.mean[c]) / p.std[c];
      }
}

}  // namespace qdq
