// What the fuzz targets share: the loaders under test read files, so each
// input goes to a per-process scratch file first.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace qdq::fuzz {

inline std::filesystem::path scratch_file(const std::string& name, const uint8_t* data,
                                          size_t size) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("qdq-fuzz-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

}  // namespace qdq::fuzz
