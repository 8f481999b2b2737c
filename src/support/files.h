// Whole-file writes that never leave a partial file behind.
#pragma once

#include <filesystem>
#include <string>

namespace qdq {

// Writes to a temporary file beside `path`, then renames: never a partial file.
// Throws qdq::Error naming `path` on failure.
void write_file_atomically(const std::filesystem::path& path, const std::string& contents);

}  // namespace qdq
