// How many heap allocations an inference makes once the engine has run
// (packed weights, memory plan, per-layer state and per-thread buffers made),
// counted by replacing the global operator new in this executable alone. The
// runtime's goal, and this test's bound: none. Outputs go into the vector of
// the last run, as qexec's timing loop does.
// usage: run_allocations_test MODEL.onnx int8|fp32 BATCH
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <string>
#include <vector>

#include "graph/onnx_import.h"
#include "runtime/engine.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};
// The first counted allocations' sizes and callers, for the failure's report.
constexpr long kReported = 8;
std::atomic<std::size_t> reported_bytes[kReported];
std::atomic<void*> reported_callers[kReported];
}  // namespace

// GCC sees the library's operator new inlined beside this operator delete's
// free() and warns of a mismatch (a false positive: both are these two).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {
// Both forms of operator new below: malloc, counted while counting. Inlined
// into them, so that the return address is their caller's.
[[gnu::always_inline]] inline void* counted_malloc(std::size_t bytes) {
  if (counting.load(std::memory_order_relaxed)) {
    const long at = allocations.fetch_add(1, std::memory_order_relaxed);
    if (at < kReported) {
      reported_bytes[at] = bytes;
      reported_callers[at] = __builtin_return_address(0);
    }
  }
  return std::malloc(bytes == 0 ? 1 : bytes);
}
}  // namespace

void* operator new(std::size_t bytes) {
  if (void* p = counted_malloc(bytes)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
// The nothrow form as well: std::stable_sort's temporary buffer (the AVX2
// kernel's quad pairing) takes memory by it and returns it by the sized
// delete above, so the library's own nothrow new would be freed by free()
// (ASan: alloc-dealloc-mismatch) and its allocations not counted.
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  return counted_malloc(bytes);
}
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }

int main(int argc, char** argv) {
  using namespace qdq;
  if (argc != 4 || (std::strcmp(argv[2], "int8") != 0 && std::strcmp(argv[2], "fp32") != 0)) {
    std::fprintf(stderr, "usage: run_allocations_test MODEL.onnx int8|fp32 BATCH\n");
    return 2;
  }
  auto model = import_onnx_file(argv[1]);
  if (!model.is_ok()) {
    std::fprintf(stderr, "error: %s\n", model.status().message().c_str());
    return 1;
  }
  Graph& graph = model->graph;
  const bool int8 = std::strcmp(argv[2], "int8") == 0;
  auto engine = build_engine(graph, EngineOptions{int8, selected_isa(), {}, 0, {}});
  if (!engine.is_ok()) {
    std::fprintf(stderr, "error: %s\n", engine.status().message().c_str());
    return 1;
  }
  const Value* input = graph.inputs().front();
  Shape shape;  // the batch asked for, the model's other dims
  for (const Dim& d : input->shape.value_or(SymbolicShape{}))
    shape.push_back(shape.empty() ? std::atoll(argv[3]) : d.size);
  std::map<std::string, Tensor> feeds{{input->name, Tensor(input->dtype, shape)}};
  std::vector<Tensor> outputs;
  auto run = [&] {
    const Status status = engine->executor.run(feeds, outputs);
    if (!status.is_ok()) std::fprintf(stderr, "error: %s\n", status.message().c_str());
    return status.is_ok();
  };
  for (int warm = 0; warm < 2; ++warm)  // the first run packs and plans; the second reuses
    if (!run()) return 1;
  constexpr int kRuns = 10;
  counting = true;
  for (int i = 0; i < kRuns; ++i)
    if (!run()) return 1;
  counting = false;
  std::printf("%s %s batch %s: %ld allocations in %d runs over %zu layers\n", argv[1], argv[2],
              argv[3], allocations.load(), kRuns, engine->executor.layer_count());
  // Where the first came from, as `addr2line -f -C -e FILE OFFSET` reads it.
  for (long i = 0; i < std::min(allocations.load(), kReported); ++i) {
    void* caller = reported_callers[i].load();
    Dl_info where{};
    const bool found = dladdr(caller, &where) != 0 && where.dli_fname != nullptr;
    std::printf("allocation %ld: %zu bytes, called from %s+%#zx\n", i, reported_bytes[i].load(),
                found ? where.dli_fname : "?",
                static_cast<std::size_t>(static_cast<char*>(caller) -
                                         static_cast<char*>(found ? where.dli_fbase : nullptr)));
  }
  return allocations == 0 ? 0 : 1;
}
