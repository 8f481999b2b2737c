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

#include <algorithm>
#include <atomic>
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

// [0, n) shared out among a region's threads as they ask for it: each
// claims the next chunk when done with its last, a chunk half of what is
// left over the threads (at least one item), so that a thread slowed down
// leaves the rest of its work to the others. Even shares fixed in advance
// (thread i taking [n i / threads, n (i + 1) / threads)) left one of two
// threads waiting for the other a fifth of the time in 2-thread runs on this
// project's machine (a VM whose two vCPUs run at moments at different
// speeds): ResNet-20 u8s8, batch 32, per region |t0 - t1| summed to 25 % of
// the regions' time, MobileNetV2 19 %. Items are claimed in order, so a
// chunk is a run of neighbours, and a thread's first one is at least half
// of an even share. A thread may claim nothing in a run: what it must have
// ready for a later one (its thread_buffer sizes: no allocation in a run
// after the first) it readies before `take`, not in the chunks.
class SharedRanges {
 public:
  explicit SharedRanges(int64_t n) : n_(n) {}
  SharedRanges(const SharedRanges&) = delete;
  SharedRanges& operator=(const SharedRanges&) = delete;

  // Inside a region's body (`threads`: its threads), body(begin, end) on
  // each chunk this thread claims, until none is left.
  template <typename Body>
  void take(int threads, Body&& body) {
    for (;;) {
      int64_t begin = next_.load(std::memory_order_relaxed), size = 0;
      do {
        if (begin >= n_) return;
        size =
            threads == 1 ? n_ - begin : std::max<int64_t>(1, (n_ - begin) / (2 * int64_t{threads}));
      } while (!next_.compare_exchange_weak(begin, begin + size, std::memory_order_relaxed));
      body(begin, begin + size);
    }
  }

 private:
  std::atomic<int64_t> next_{0};
  const int64_t n_;
};

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
