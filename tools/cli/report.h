// Output helpers shared by the tools: the one-line error exit, atomic file
// writes, and the small JSON writer for --exportOutput/--exportTimes.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "graph/tensor.h"
#include "passes/fusion_explainer.h"
#include "support/files.h"
#include "support/status.h"

namespace qdq::cli {

// Prints "error: <message>" on stderr; returns the exit code CONTRACT.md gives
// (1 for bad input or usage, 2 for an internal failure).
int report_error(const Status& status);

using qdq::write_file_atomically;  // support/files.h

std::string json_escape(const std::string& s);
std::string json_number(double v);
// {"name": {"shape": [...], "data": [...]}, ...}
std::string tensors_to_json(const std::vector<std::string>& names,
                            const std::vector<Tensor>& tensors);

// Reads what tensors_to_json writes (null elements are NaN): by name, each
// shape and its elements as float. Throws an input error naming `what`.
struct NamedValues {
  Shape shape;
  std::vector<float> data;
};
std::map<std::string, NamedValues> tensors_from_json(const std::string& text,
                                                     const std::string& what);

// "INT8 layers: 37 of 41; INT8 multiply-adds: 40.55 M of 40.81 M (99.4 %)"
std::string fusion_summary(const FusionExplanation& e);

// Runs a tool's main body: qdq::Error and other exceptions become one error line.
template <typename Fn>
int run_tool(Fn&& body) {
  try {
    return body();
  } catch (const Error& e) {
    return report_error(Status::from(e));
  } catch (const std::bad_alloc&) {
    return report_error(Status("out of memory", ErrorKind::kInvalidInput));
  } catch (const std::exception& e) {
    return report_error(Status(std::string("internal error: ") + e.what(), ErrorKind::kInternal));
  }
}

}  // namespace qdq::cli
