// Errors inside the library are thrown as qdq::Error; every public entry point
// (import, build, run) catches them and returns a Status, so tools print one
// `error:` line and never see an exception.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace qdq {

// Bad input (the user's file or flags) versus a bug of ours: tools exit 1 for
// the first and 2 for the second, as CONTRACT.md asks.
enum class ErrorKind { kInvalidInput, kUnsupported, kInternal };

class Error : public std::runtime_error {
 public:
  explicit Error(std::string message, ErrorKind kind = ErrorKind::kInvalidInput)
      : std::runtime_error(std::move(message)), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

class Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status from(const Error& e) { return Status(e.what(), e.kind()); }
  Status(std::string message, ErrorKind kind)
      : message_(std::move(message)), kind_(kind), failed_(true) {}

  bool is_ok() const { return !failed_; }
  const std::string& message() const { return message_; }
  ErrorKind kind() const { return kind_; }

 private:
  std::string message_;
  ErrorKind kind_ = ErrorKind::kInternal;
  bool failed_ = false;
};

template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT

  bool is_ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  T& operator*() { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

// Runs fn, turning a thrown qdq::Error (or anything else escaping) into a Status.
template <typename Fn>
auto catch_errors(Fn&& fn) -> Result<decltype(fn())> {
  try {
    return fn();
  } catch (const Error& e) {
    return Status::from(e);
  } catch (const std::bad_alloc&) {
    return Status("out of memory", ErrorKind::kInvalidInput);
  } catch (const std::exception& e) {
    return Status(std::string("internal error: ") + e.what(), ErrorKind::kInternal);
  }
}

[[noreturn]] inline void fail(std::string message, ErrorKind kind = ErrorKind::kInvalidInput) {
  throw Error(std::move(message), kind);
}

inline void check(bool condition, std::string_view message,
                  ErrorKind kind = ErrorKind::kInvalidInput) {
  if (!condition) fail(std::string(message), kind);
}

// The message built only when the condition fails (checks on every run).
template <typename Message>
requires std::is_invocable_r_v<std::string, Message>
void check(bool condition, Message&& message, ErrorKind kind = ErrorKind::kInvalidInput) {
  if (!condition) fail(message(), kind);
}

}  // namespace qdq
