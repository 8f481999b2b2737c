// Loops over the OpenMP threads, and per-thread scratch, that allocate
// nothing once warm: an inference should not reach the allocator.
#pragma once

#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace qdq {

// body(i) for i in [0, n): on the threads when `worth_threads`, else on this
// one. Not an OpenMP `if` clause: libgomp makes (mallocs) a team of one on
// every entry into a region whose clause is false.
template <typename Body>
void parallel_for(int64_t n, bool worth_threads, Body&& body) {
  if (!worth_threads) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// This thread's share [begin, end) of n items split evenly and in order,
// inside a parallel region: a static schedule whose items the caller walks
// itself (stepping state from one item to the next).
inline std::pair<int64_t, int64_t> thread_range(int64_t n) {
  const int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
  return {n * thread / threads, n * (thread + 1) / threads};
}

// This thread's buffer `Use` (a kernel's own enum value) of at least `count`
// elements, kept across runs: once grown to the model's largest layer, a run
// allocates none.
template <typename T, auto Use>
T* thread_buffer(size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) buffer.resize(count);
  return buffer.data();
}

}  // namespace qdq
