// How many heap allocations an INT8 inference makes once the engine has run
// (packed weights, memory plan and per-layer state made), counted by replacing
// the global operator new in this executable alone. The runtime's goal is
// none; until the executor's per-step vectors and shapes are gone it checks a
// bound per layer, low enough that a message built on every call (as
// element_count's and Tensor::check_type's once were: about 20 a layer) fails.
// usage: run_allocations_test MODEL.onnx MAX_PER_LAYER
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <new>
#include <string>

#include "graph/onnx_import.h"
#include "runtime/engine.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
}  // namespace

// GCC sees the library's operator new inlined beside this operator delete's
// free() and warns of a mismatch (a false positive: both are these two).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

void* operator new(std::size_t bytes) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(bytes == 0 ? 1 : bytes)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

int main(int argc, char** argv) {
  using namespace qdq;
  if (argc != 3) {
    std::fprintf(stderr, "usage: run_allocations_test MODEL.onnx MAX_PER_LAYER\n");
    return 2;
  }
  auto model = import_onnx_file(argv[1]);
  if (!model.is_ok()) {
    std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
    return 1;
  }
  Graph& graph = model->graph;
  auto engine = build_engine(graph, EngineOptions{true, selected_isa(), {}, 0, {}});
  if (!engine.is_ok()) {
    std::fprintf(stderr, "error: %s\n", engine.status().message().c_str());
    return 1;
  }
  const Value* input = graph.inputs().front();
  Shape shape;  // batch 1, the model's other dims
  for (const Dim& d : input->shape.value_or(SymbolicShape{}))
    shape.push_back(shape.empty() ? 1 : d.size);
  std::map<std::string, Tensor> feeds{{input->name, Tensor(input->dtype, shape)}};
  for (int warm = 0; warm < 2; ++warm)  // the first run packs and plans; the second reuses
    if (!engine->executor.run(feeds).is_ok()) return 1;
  constexpr int kRuns = 10;
  counting = true;
  for (int i = 0; i < kRuns; ++i)
    if (!engine->executor.run(feeds).is_ok()) return 1;
  counting = false;
  const double layers = static_cast<double>(engine->executor.layer_count());
  const double per_layer = static_cast<double>(allocations) / kRuns / layers;
  const double bound = std::atof(argv[2]);
  std::printf("%ld allocations a run over %.0f layers: %.1f a layer (bound %.1f)\n",
              allocations.load() / kRuns, layers, per_layer, bound);
  return per_layer <= bound ? 0 : 1;
}
