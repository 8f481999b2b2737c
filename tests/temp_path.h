// A scratch file or folder for one test: under the temp folder, named for the
// process as well as the test (ctest runs a build's tests side by side, and
// CI's suite and a developer's from another build may run at once on one
// machine: with fixed names they truncated each other's mapped plans), and
// removed with whatever it holds when it goes out of scope.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace qdq::testing {

class TempPath {
 public:
  explicit TempPath(const std::string& name)
      : path_(std::filesystem::temp_directory_path() /
              ("qdq-" + std::to_string(::getpid()) + "-" + name)) {}
  // Named for the running test, after `prefix`.
  static TempPath for_current_test(const std::string& prefix) {
    return TempPath(prefix + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  ~TempPath() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace qdq::testing
