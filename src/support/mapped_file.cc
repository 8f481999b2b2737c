#include "support/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace qdq {

Result<std::shared_ptr<MappedFile>> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status("cannot open " + path.string() + ": " + std::strerror(errno),
                  ErrorKind::kInvalidInput);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status(path.string() + ": not a regular file", ErrorKind::kInvalidInput);
  }
  if (st.st_size == 0) {
    ::close(fd);
    return Status(path.string() + ": file is empty", ErrorKind::kInvalidInput);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED)
    return Status("cannot map " + path.string() + ": " + std::strerror(errno),
                  ErrorKind::kInvalidInput);
  return std::shared_ptr<MappedFile>(new MappedFile(static_cast<uint8_t*>(p), size));
}

MappedFile::~MappedFile() { ::munmap(data_, size_); }

}  // namespace qdq
