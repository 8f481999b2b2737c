// Runs ONNX's own node conformance tests (Debian's libonnx-testdata) for every
// op listed in claimed_ops.txt: each case whose model uses only claimed ops must
// match ONNX's expected outputs (float: rtol 1e-3, atol 1e-7 as ONNX's backend
// test; integers and bools exactly). Prints "N passed, M failed".
//
// usage: conformance_test CLAIMED_OPS_FILE DATA_DIR [DATA_DIR...]
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include "graph/onnx_import.h"
#include "graph/onnx_tensor.h"
#include "onnx/onnx_pb.h"
#include "runtime/reference/executor.h"
#include "runtime/reference/registry.h"

namespace fs = std::filesystem;
using namespace qdq;

namespace {

struct Claims {
  std::set<std::string> ops;
  std::map<std::string, std::string> excluded;  // case name -> reason
};

Claims read_claims(const fs::path& path) {
  Claims c;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    line = line.substr(0, line.find('#'));
    std::istringstream ss(line);
    std::string word;
    if (!(ss >> word)) continue;
    if (word == "exclude") {
      std::string name, reason;
      ss >> name;
      std::getline(ss, reason);
      c.excluded[name] = reason.substr(std::min(reason.find_first_not_of(' '), reason.size()));
    } else {
      c.ops.insert(word);
    }
  }
  return c;
}

template <typename T>
std::string compare_values(const Tensor& got, const Tensor& want) {
  auto g = got.values<T>();
  auto w = want.values<T>();
  for (size_t i = 0; i < g.size(); ++i) {
    bool ok;
    if constexpr (std::is_floating_point_v<T>) {
      ok = (std::isnan(g[i]) && std::isnan(w[i])) || g[i] == w[i] ||
           std::abs(static_cast<double>(g[i]) - w[i]) <=
               1e-7 + 1e-3 * std::abs(static_cast<double>(w[i]));
    } else {
      ok = g[i] == w[i];
    }
    if (!ok) {
      std::ostringstream ss;
      ss << "element " << i << ": got " << +g[i] << ", expected " << +w[i];
      return ss.str();
    }
  }
  return "";
}

std::string compare(const Tensor& got, const Tensor& want) {
  if (got.dtype() != want.dtype())
    return std::string("type ") + dtype_name(got.dtype()) + ", expected " +
           dtype_name(want.dtype());
  if (got.shape() != want.shape())
    return "shape " + shape_to_string(got.shape()) + ", expected " + shape_to_string(want.shape());
  return visit_dtype(got.dtype(),
                     [&](auto tag) { return compare_values<decltype(tag)>(got, want); });
}

// "" when the case passes, else why not.
std::string run_case(const fs::path& dir) {
  auto model = import_onnx_file(dir / "model.onnx", runtime_import_options());
  if (!model.is_ok()) return model.status().message();
  Graph& g = model->graph;
  auto ex = ReferenceExecutor::create(g);
  if (!ex.is_ok()) return ex.status().message();
  std::vector<fs::path> sets;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && e.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(e.path());
  std::sort(sets.begin(), sets.end());
  if (sets.empty()) return "no test data sets";
  for (const fs::path& set : sets) {
    std::map<std::string, Tensor> inputs;
    for (size_t i = 0; i < g.inputs().size(); ++i) {
      fs::path p = set / ("input_" + std::to_string(i) + ".pb");
      if (!fs::exists(p)) return "missing " + p.string();
      inputs[g.inputs()[i]->name] = read_tensor_proto_file(p);
    }
    auto outputs = ex->run(inputs);
    if (!outputs.is_ok()) return outputs.status().message();
    for (size_t i = 0; i < g.outputs().size(); ++i) {
      Tensor want = read_tensor_proto_file(set / ("output_" + std::to_string(i) + ".pb"));
      std::string why = compare(outputs.value()[i], want);
      if (!why.empty())
        return set.filename().string() + " output '" + g.outputs()[i]->name + "': " + why;
    }
  }
  return "";
}

// The op types a case's model uses, read straight from the protobuf so that a
// case our importer refuses still counts against the ops it uses.
std::set<std::string> model_ops(const fs::path& dir) {
  std::set<std::string> ops;
  std::ifstream in(dir / "model.onnx", std::ios::binary);
  onnx::ModelProto model;
  if (!model.ParseFromIstream(&in)) return ops;
  for (const auto& n : model.graph().node()) {
    const bool default_domain = n.domain().empty() || n.domain() == "ai.onnx";
    ops.insert(default_domain ? n.op_type() : n.domain() + ":" + n.op_type());
  }
  return ops;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: conformance_test CLAIMED_OPS_FILE DATA_DIR [DATA_DIR...]\n";
    return 2;
  }
  const Claims claims = read_claims(argv[1]);
  int passed = 0, failed = 0, excluded = 0, unclaimed = 0;
  std::map<std::string, int> passed_per_op;
  for (int a = 2; a < argc; ++a) {
    if (!fs::is_directory(argv[a])) {
      std::cerr << "error: " << argv[a] << " is not a directory (install libonnx-testdata)\n";
      return 2;
    }
    std::vector<fs::path> cases;
    for (const auto& e : fs::directory_iterator(argv[a]))
      if (fs::exists(e.path() / "model.onnx")) cases.push_back(e.path());
    std::sort(cases.begin(), cases.end());
    for (const fs::path& dir : cases) {
      const std::string name = dir.filename().string();
      const auto ops = model_ops(dir);
      const bool claimed =
          !ops.empty() && std::all_of(ops.begin(), ops.end(),
                                      [&](const std::string& op) { return claims.ops.count(op); });
      if (!claimed) {
        ++unclaimed;
        continue;
      }
      if (auto it = claims.excluded.find(name); it != claims.excluded.end()) {
        ++excluded;
        std::cout << "EXCLUDED " << name << ": " << it->second << "\n";
        continue;
      }
      const std::string why = run_case(dir);
      if (why.empty()) {
        ++passed;
        for (const auto& op : ops) ++passed_per_op[op];
      } else {
        ++failed;
        std::cout << "FAILED " << name << ": " << why << "\n";
      }
    }
  }
  std::cout << "\ncases passed per claimed op:";
  for (const auto& op : claims.ops) std::cout << " " << op << "=" << passed_per_op[op];
  std::cout << "\n"
            << excluded << " excluded (listed above with the reason), " << unclaimed
            << " not run (they use ops we do not claim)\n";
  std::cout << passed << " passed, " << failed << " failed\n";
  return failed == 0 && passed > 0 ? 0 : 1;
}
