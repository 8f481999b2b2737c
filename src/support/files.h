// Whole-file writes that never leave a partial file behind.
#pragma once

#include <filesystem>
#include <string>

namespace qdq {

// The whole file; throws qdq::Error ("cannot read PATH") when it cannot.
std::string read_file(const std::filesystem::path& path);

// Writes to a temporary file beside `path`, then renames: never a partial file.
// Throws qdq::Error naming `path` on failure.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace qdq
