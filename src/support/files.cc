#include "support/files.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

#include "support/status.h"

namespace qdq {

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  check(static_cast<bool>(in), "cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  check(!in.bad(), "cannot read " + path.string());
  return text.str();
}

void write_file_atomically(const std::filesystem::path& path, const std::string& contents) {
  const std::filesystem::path tmp = path.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    check(static_cast<bool>(out), "cannot write " + path.string());
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      fail("writing " + path.string() + " failed");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    fail("cannot write " + path.string());
  }
}

}  // namespace qdq
