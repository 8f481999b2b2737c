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
#include <array>
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

// [0, n) in even shares, one a thread of the regions opened here, that a
// thread done with its own share steals from: even shares alone left one of
// two threads waiting for the other a fifth of the time on this project's
// machine (a VM whose two vCPUs run at moments at different speeds; ResNet-20
// u8s8 at batch 32, per region |t0 - t1| summed to 23-31 % of the regions'
// time). Chunks of one counter for all threads, claimed in turn, cost the
// device machine's Xeon 1.1-2.2x the time at 16 threads: here a thread works
// through its own share, its own cache line, from the front, the neighbours
// of what it wrote in the layer before, and only a thread out of work
// touches another's line, taking the back half of the fullest share. Steals
// down to a single item cost the Xeon at batch 1 1.1-1.2x the time (its
// regions there last microseconds): none moves less than a chunk, and where
// no share has two chunks no thread looks.
//
// A thread may run no chunk of a region (its share stolen before it woke):
// what it must have ready for a later run (thread_buffer sizes: no
// allocation in a run after the first) it readies before `take`.
class StealingShares {
 public:
  // `chunk`: the fewest items a thread takes at a time while more are left
  // (steal_chunk's for items of known work).
  StealingShares(int64_t n, int64_t chunk);
  StealingShares(const StealingShares&) = delete;
  StealingShares& operator=(const StealingShares&) = delete;

  // Inside a region's body (`thread` of `threads`): body(begin, end) on each
  // chunk the thread takes, in order within each of its shares and stolen
  // ranges, until no share has a chunk to spare. A region of fewer threads
  // than the shares (OpenMP may give fewer than asked) gives thread t the
  // shares t, t + threads, ...
  template <typename Body>
  void take(int thread, int threads, Body&& body) {
    for (;;) {
      Range range = claim(thread, threads);
      if (range.begin == range.end) range = steal(thread, threads);
      if (range.begin == range.end) return;
      body(range.begin, range.end);
    }
  }

 private:
  // A share's items [begin, end) in one word: its owner takes from the
  // front, thieves from the back, each by compare-and-swap.
  struct Range {
    int64_t begin, end;
  };
  struct alignas(64) Share {
    std::atomic<uint64_t> bounds;
  };
  static constexpr int kShares = 64;  // threads past it only steal

  static uint64_t pack(int64_t begin, int64_t end) {
    return static_cast<uint64_t>(begin) | static_cast<uint64_t>(end) << 32;
  }
  static Range unpack(uint64_t bounds) {
    return {static_cast<int64_t>(bounds & 0xffffffffu), static_cast<int64_t>(bounds >> 32)};
  }
  // The next chunk of this thread's shares; empty when none is left.
  Range claim(int thread, int threads);
  // The back half of the fullest share's rest, moved into this thread's
  // first share and claimed from there, or run whole by a thread without a
  // share; empty when no share has two chunks.
  Range steal(int thread, int threads);

  std::array<Share, kShares> shares_;
  int count_;
  int64_t chunk_;
  bool stealing_;  // whether a share has two chunks
};

// The items of `item_work` multiply-adds each in a chunk of StealingShares:
// about a quarter million (2^14 to 2^20 measured alike at batch 32 here;
// on the Xeon 2^16-2^18 did best, 2^20 lost ResNet-20's batch 32 its gain).
inline int64_t steal_chunk(int64_t item_work) {
  constexpr int64_t kChunkWork = int64_t{1} << 18;
  return std::max<int64_t>(1, (kChunkWork + item_work - 1) / std::max<int64_t>(item_work, 1));
}

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
