// Parallel regions over the OpenMP threads, and per-thread scratch, that
// allocate nothing once warm: an inference should not reach the allocator.
//
// A run of the executor opens one OpenMP region for all of its layers
// (`with_team`): its thread 0 runs the layers, the team's other threads wait
// for the layers' parallel regions, which hand them their work through a
// counter they watch. An OpenMP region a layer took 0.6-1.2 µs to open and
// close on this project's 2-core machine, the handoff 0.13 µs; MobileNetV2 at
// batch 1 opens some sixty. Outside a team (a kernel called on its own), a
// region opens a team of its own.
#pragma once

#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

namespace qdq {

// Runs `f` on this thread with the OpenMP threads (omp_get_max_threads) as a
// team for the parallel regions it opens. Already in a team, or inside an
// OpenMP region of someone else's, it just calls f. An exception from f, or
// from any thread's part of a region, is rethrown here.
template <typename F>
void with_team(F&& f);

// The threads a parallel region opened here would have.
int team_threads();

// body(thread, threads) on each of the team's threads (thread 0 is this
// one), returning when all have. A region opened inside a region's body runs
// its body(0, 1) on that thread alone.
template <typename Body>
void parallel_region(Body&& body);

// Inside a region's body: this thread's share [begin, end) of n items split
// evenly and in order (a static schedule whose items the caller walks itself,
// stepping state from one item to the next).
std::pair<int64_t, int64_t> thread_range(int64_t n);

// body(begin, end) on each thread's share of [0, n) (thread_range) in a
// region when `worth_threads`, else body(0, n) on this thread: for work that
// readies a thread's state once before its items.
template <typename Body>
void parallel_ranges(int64_t n, bool worth_threads, Body&& body) {
  if (!worth_threads) return body(int64_t{0}, n);
  parallel_region([&](int, int) {
    const auto [begin, end] = thread_range(n);
    body(begin, end);
  });
}

// body(i) for i in [0, n): in a region when `worth_threads`, else on this
// thread.
template <typename Body>
void parallel_for(int64_t n, bool worth_threads, Body&& body) {
  parallel_ranges(n, worth_threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
  });
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

namespace team_detail {

using Job = void (*)(void* body, int thread, int threads);

// The team's side of with_team and parallel_region (parallel.cc).
bool can_open_team();
void run_as_team(void (*f)(void*), void* context);
void run_region(Job job, void* body);

}  // namespace team_detail

template <typename F>
void with_team(F&& f) {
  if (!team_detail::can_open_team()) {
    f();
    return;
  }
  team_detail::run_as_team(
      [](void* context) { (*static_cast<std::remove_reference_t<F>*>(context))(); }, &f);
}

template <typename Body>
void parallel_region(Body&& body) {
  using B = std::remove_reference_t<Body>;
  const team_detail::Job job = [](void* context, int thread, int threads) {
    (*static_cast<B*>(context))(thread, threads);
  };
  // Already in a team (which makes can_open_team false), or unable to open one.
  if (!team_detail::can_open_team()) return team_detail::run_region(job, &body);
  with_team([&] { team_detail::run_region(job, &body); });
}

}  // namespace qdq
