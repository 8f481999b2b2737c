#include "support/parallel.h"

#include <strings.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace qdq::team_detail {
namespace {

// A word the team's threads watch for a change. A waiting thread spins first
// (a layer's region follows the last within microseconds), then sleeps in the
// kernel, so that a team waiting through a long serial stretch gives its
// cores back. With more threads than cores a spinning thread would hold the
// core the thread it waits for needs: then it hardly spins (as libgomp does),
// and so where OMP_WAIT_POLICY is passive (OpenMP's word for "other processes
// share these cores": libgomp's threads then sleep at once too).
struct alignas(64) Watched {
  std::atomic<uint32_t> word{0};
};

// The master thread's done words, one a team thread, kept across runs: a run
// allocates nothing once the first has grown them.
Watched* done_words(int threads) {
  thread_local std::unique_ptr<Watched[]> words;
  thread_local int count = 0;
  if (count < threads)
    words = std::make_unique<Watched[]>(static_cast<size_t>(threads)), count = threads;
  for (int thread = 0; thread < threads; ++thread)
    words[thread].word.store(0, std::memory_order_relaxed);
  return words.get();
}

bool passive_wait_policy() {
  static const bool passive = [] {
    const char* policy = std::getenv("OMP_WAIT_POLICY");
    return policy && strcasecmp(policy, "passive") == 0;
  }();
  return passive;
}

class Team {
 public:
  // Set by the master before its first region: OpenMP may give the team
  // fewer threads than asked.
  void set_threads(int threads) {
    threads_ = threads;
    spins_ = threads > omp_get_num_procs() || passive_wait_policy() ? kOversubscribedSpins : kSpins;
    done_ = done_words(threads);
  }
  int threads() const { return threads_; }

  // The master's side of a region: `job` on every thread, its own part
  // first; the first exception any part threw is rethrown.
  void run(Job job, void* body) {
    job_ = job;
    body_ = body;
    const uint32_t generation = bump(generation_);  // releases the stores above
    run_part(0);
    for (int thread = 1; thread < threads_; ++thread) {
      Watched& done = done_[thread];
      for (uint32_t seen; (seen = done.word.load(std::memory_order_acquire)) != generation;)
        await_change(done, seen);
    }
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

  // A waiting thread's loop, until the master stops the team.
  void serve(int thread) {
    for (uint32_t seen = 0;;) {
      seen = await_change(generation_, seen);
      if (stopped_.load(std::memory_order_acquire)) return;
      run_part(thread);
      // Each thread's own word: threads adding to one counter passed its
      // cache line from core to core in turn (the device machine's 16-core
      // Xeon, an empty region on 16 threads: 1.6-2.9 us with a counter,
      // 0.7-0.9 with the words; on 8: 1.1-1.3 and 0.6-0.7).
      done_[thread].word.store(seen, std::memory_order_seq_cst);
      wake_sleepers(done_[thread]);
    }
  }

  void stop() {
    stopped_.store(true, std::memory_order_relaxed);
    bump(generation_);
  }

 private:
  static constexpr int kSpins = 1 << 14, kOversubscribedSpins = 64;  // a pause: ~28 ns here

  void run_part(int thread);

  uint32_t await_change(Watched& w, uint32_t seen) {
    for (int i = 0; i < spins_; ++i) {
      const uint32_t now = w.word.load(std::memory_order_acquire);
      if (now != seen) return now;
      __builtin_ia32_pause();
    }
    // seq_cst pairs with wake_sleepers': either the changer sees this
    // sleeper, or this thread sees the change before it sleeps.
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    while (w.word.load(std::memory_order_seq_cst) == seen) w.word.wait(seen);
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return w.word.load(std::memory_order_acquire);
  }
  uint32_t bump(Watched& w) {
    const uint32_t now = w.word.fetch_add(1, std::memory_order_seq_cst) + 1;
    wake_sleepers(w);
    return now;
  }
  void wake_sleepers(Watched& w) {
    if (sleepers_.load(std::memory_order_seq_cst) > 0) w.word.notify_all();
  }

  int threads_ = 1, spins_ = kSpins;
  Job job_ = nullptr;
  void* body_ = nullptr;
  Watched generation_;
  Watched* done_ = nullptr;  // [threads]: the last generation each thread finished
  std::atomic<bool> stopped_{false};
  alignas(64) std::atomic<int> sleepers_{0};
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

thread_local Team* master_of = nullptr;  // the team whose master this thread is
thread_local bool in_region = false;
thread_local int region_thread = 0, region_threads = 1;

// This thread is a team's master, between the team's regions.
bool in_team() { return master_of != nullptr && !in_region; }

// This thread's region state while it runs a part of a region, the state
// before restored after (a region opened inside a part runs inline).
class RegionPart {
 public:
  RegionPart(int thread, int threads)
      : in_region_(std::exchange(in_region, true)),
        thread_(std::exchange(region_thread, thread)),
        threads_(std::exchange(region_threads, threads)) {}
  ~RegionPart() {
    in_region = in_region_;
    region_thread = thread_;
    region_threads = threads_;
  }
  RegionPart(const RegionPart&) = delete;
  RegionPart& operator=(const RegionPart&) = delete;

 private:
  bool in_region_;
  int thread_, threads_;
};

void Team::run_part(int thread) {
  try {
    const RegionPart part(thread, threads_);
    job_(body_, thread, threads_);
  } catch (...) {
    const std::lock_guard lock(error_mutex_);
    if (!error_) error_ = std::current_exception();
  }
}

}  // namespace

bool can_open_team() {
  return master_of == nullptr && !in_region && !omp_in_parallel() && omp_get_max_threads() > 1;
}

void run_as_team(void (*f)(void*), void* context) {
  Team team;
  std::exception_ptr error;
#pragma omp parallel
  {
    if (omp_get_thread_num() == 0) {
      team.set_threads(omp_get_num_threads());
      master_of = &team;
      try {
        f(context);
      } catch (...) {
        error = std::current_exception();
      }
      master_of = nullptr;
      team.stop();
    } else {
      team.serve(omp_get_thread_num());
    }
  }
  if (error) std::rethrow_exception(error);
}

void run_region(Job job, void* body) {
  if (in_team()) return master_of->run(job, body);
  const RegionPart part(0, 1);
  job(body, 0, 1);
}

}  // namespace qdq::team_detail

namespace qdq {

int team_threads() {
  using namespace team_detail;
  if (in_team()) return master_of->threads();
  return can_open_team() ? omp_get_max_threads() : 1;
}

StealingShares::StealingShares(int64_t n, int64_t chunk)
    : count_(std::min(team_threads(), kShares)), chunk_(std::max<int64_t>(chunk, 1)) {
  if (n > int64_t{0xffffffff}) throw std::length_error("StealingShares: over 2^32 items");
  stealing_ = (n + count_ - 1) / count_ >= 2 * chunk_;
  for (int share = 0; share < count_; ++share)
    shares_[static_cast<size_t>(share)].bounds.store(
        pack(n * share / count_, n * (share + 1) / count_), std::memory_order_relaxed);
}

StealingShares::Range StealingShares::claim(int thread, int threads) {
  for (int share = thread; share < count_; share += threads) {
    std::atomic<uint64_t>& bounds = shares_[static_cast<size_t>(share)].bounds;
    uint64_t now = bounds.load(std::memory_order_relaxed);
    for (;;) {
      const auto [begin, end] = unpack(now);
      if (begin >= end) break;
      // An eighth of the rest in whole chunks, at least one: few claims on a
      // long share, small ones near its end, where a thread runs short.
      const int64_t size =
          std::min(end - begin, std::max(chunk_, (end - begin) / 8 / chunk_ * chunk_));
      if (bounds.compare_exchange_weak(now, pack(begin + size, end), std::memory_order_relaxed))
        return {begin, begin + size};
    }
  }
  return {};
}

StealingShares::Range StealingShares::steal(int thread, int threads) {
  while (stealing_) {
    int fullest = -1;
    uint64_t seen = 0;
    int64_t most = 2 * chunk_ - 1;
    for (int share = 0; share < count_; ++share) {
      const uint64_t now =
          shares_[static_cast<size_t>(share)].bounds.load(std::memory_order_relaxed);
      const auto [begin, end] = unpack(now);
      if (end - begin > most) fullest = share, seen = now, most = end - begin;
    }
    if (fullest < 0) break;
    const auto [begin, end] = unpack(seen);
    const int64_t split = end - most / 2;
    if (!shares_[static_cast<size_t>(fullest)].bounds.compare_exchange_strong(
            seen, pack(begin, split), std::memory_order_relaxed))
      continue;
    if (thread >= count_) return {split, end};
    // This thread's shares are empty (claim found none), so no thief writes
    // its first: the store cannot be lost, and no thief's compare-and-swap
    // of an older value succeeds.
    shares_[static_cast<size_t>(thread)].bounds.store(pack(split, end), std::memory_order_relaxed);
    if (const Range range = claim(thread, threads); range.begin != range.end) return range;
  }
  return {};
}

std::pair<int64_t, int64_t> thread_range(int64_t n) {
  const int64_t threads = team_detail::region_threads, thread = team_detail::region_thread;
  return {n * thread / threads, n * (thread + 1) / threads};
}

}  // namespace qdq
