#include "support/parallel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace qdq {
namespace {

// Three threads (more than this project's machine has cores: the waiting
// threads also get to sleep), restored after.
class ParallelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = omp_get_max_threads();
    omp_set_num_threads(kThreads);
  }
  void TearDown() override { omp_set_num_threads(saved_); }
  static constexpr int kThreads = 3;

 private:
  int saved_ = 1;
};

constexpr int kMaxThreads = 64;

// How many times each of a region's threads ran it.
std::vector<int> region_threads() {
  std::vector<std::atomic<int>> seen(kMaxThreads);
  std::atomic<int> count{0};
  parallel_region([&](int thread, int threads) {
    seen[static_cast<size_t>(thread)].fetch_add(1);
    count = threads;
  });
  std::vector<int> ran;
  for (int t = 0; t < count; ++t) ran.push_back(seen[static_cast<size_t>(t)].load());
  return ran;
}

TEST_F(ParallelTest, RegionRunsOncePerThreadInsideAndOutsideATeam) {
  EXPECT_EQ(team_threads(), kThreads);
  EXPECT_EQ(region_threads(), std::vector<int>(kThreads, 1));  // a team of its own
  with_team([&] {
    EXPECT_EQ(team_threads(), kThreads);
    for (int i = 0; i < 100; ++i) ASSERT_EQ(region_threads(), std::vector<int>(kThreads, 1));
  });
}

TEST_F(ParallelTest, ThreadRangesCoverEveryItemOnce) {
  for (int64_t n : {0, 1, 2, 3, 7, 100}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
    with_team([&] {
      parallel_region([&](int, int) {
        const auto [begin, end] = thread_range(n);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n;
  }
}

// Every item of [0, n) run once by `team` threads taking StealingShares
// in chunks of at least `chunk`; each thread's chunks checked as it takes
// them by `check(thread, begin, end)`.
template <typename Check>
void expect_every_item_once(int team, int64_t n, int64_t chunk, Check&& check) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  omp_set_num_threads(team);
  with_team([&] {
    StealingShares shares(n, chunk);
    parallel_region([&](int thread, int threads) {
      shares.take(thread, threads, [&](int64_t begin, int64_t end) {
        check(thread, begin, end);
        for (int64_t i = begin; i < end; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
      });
    });
  });
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n;
}

TEST_F(ParallelTest, StealingSharesRunEveryItemOnceInChunks) {
  for (int64_t n : {0, 1, 2, 3, 7, 100, 1000, 100000})
    for (int64_t chunk : {1, 4, 50}) {
      std::atomic<bool> bounded{true};
      expect_every_item_once(kThreads, n, chunk, [&](int, int64_t begin, int64_t end) {
        if (!(0 <= begin && begin < end && end <= n)) bounded = false;
      });
      EXPECT_TRUE(bounded.load()) << n << " " << chunk;
    }
}

// 70 threads, past the 64 shares: the last six have no share and only steal.
TEST_F(ParallelTest, StealingSharesServeMoreThreadsThanShares) {
  expect_every_item_once(70, 5000, 1, [](int, int64_t, int64_t) {});
}

// What even shares (thread_range) cannot do: a thread held up leaves the
// rest of its share to the others.
TEST_F(ParallelTest, StealingSharesLeaveASlowThreadsWorkToTheOthers) {
  constexpr int64_t kItems = 300;
  std::vector<std::atomic<int64_t>> taken(kThreads);
  expect_every_item_once(kThreads, kItems, 1, [&](int thread, int64_t begin, int64_t end) {
    taken[static_cast<size_t>(thread)].fetch_add(end - begin);
    if (thread == 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  // Its first chunk (an eighth of its share) and at most the one item left
  // to it: less than two chunks is never stolen.
  EXPECT_LE(taken[1].load(), kItems / kThreads / 8 + 1);
}

// Where no share has two chunks, no thread steals: each runs its own.
TEST_F(ParallelTest, StealingSharesOfLessThanTwoChunksStayWithTheirThreads) {
  std::vector<std::atomic<int64_t>> taken(kThreads);
  expect_every_item_once(kThreads, 30, 6, [&](int thread, int64_t begin, int64_t end) {
    taken[static_cast<size_t>(thread)].fetch_add(end - begin);
    if (thread == 1) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  });
  for (const auto& t : taken) EXPECT_EQ(t.load(), 10);
}

// A region of one thread, of shares made for three: it runs all three, in
// order, from the front, an eighth of the rest in whole chunks at a time.
TEST_F(ParallelTest, StealingSharesOfAnAbsentThreadGoToThePresentOnes) {
  StealingShares shares(300, 4);
  std::vector<std::pair<int64_t, int64_t>> chunks;
  shares.take(0, 1, [&](int64_t begin, int64_t end) { chunks.emplace_back(begin, end); });
  ASSERT_GE(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (std::pair<int64_t, int64_t>{0, 12}));   // 100 / 8 in 4s
  EXPECT_EQ(chunks[1], (std::pair<int64_t, int64_t>{12, 20}));  // 88 / 8 in 4s
  int64_t next = 0;
  for (const auto& [begin, end] : chunks) {
    EXPECT_EQ(begin, next);
    next = end;
  }
  EXPECT_EQ(next, 300);
}

// Thread 0 of three whose others never come (so, deterministic): done with
// its share, it takes the back half of the fullest other (the first of two
// equal), and so on while a share has two chunks; what it leaves, less than
// two chunks a share, is their owners'.
TEST_F(ParallelTest, StealingSharesStealTheBackHalfOfTheFullest) {
  StealingShares shares(300, 4);
  std::vector<std::pair<int64_t, int64_t>> chunks;
  shares.take(0, 3, [&](int64_t begin, int64_t end) { chunks.emplace_back(begin, end); });
  int64_t own = 0, items = 0;
  for (const auto& [begin, end] : chunks) {
    items += end - begin;
    if (end <= 100) own += end - begin;
  }
  EXPECT_EQ(own, 100);
  const auto first_stolen = std::ranges::find_if(chunks, [](auto c) { return c.first >= 100; });
  ASSERT_NE(first_stolen, chunks.end());
  EXPECT_EQ(first_stolen->first, 150);
  EXPECT_GT(items, 300 - 2 * 8);
  EXPECT_LE(items, 300);
}

TEST_F(ParallelTest, RegionInsideARegionRunsOnItsThreadAlone) {
  std::atomic<int> inner_runs{0}, inner_threads{0};
  with_team([&] {
    parallel_region([&](int, int) {
      const auto range = thread_range(10);
      EXPECT_EQ(team_threads(), 1);
      parallel_region([&](int thread, int threads) {
        EXPECT_EQ(thread, 0);
        inner_threads = threads;
        inner_runs.fetch_add(1);
      });
      EXPECT_EQ(thread_range(10), range) << "the outer region's, restored";
    });
  });
  EXPECT_EQ(inner_runs.load(), kThreads);
  EXPECT_EQ(inner_threads.load(), 1);
}

TEST_F(ParallelTest, AThreadsExceptionReachesTheCallerAndTheTeamGoesOn) {
  with_team([&] {
    for (int failing = 0; failing < kThreads; ++failing) {
      EXPECT_THROW(parallel_region([&](int thread, int) {
                     if (thread == failing) throw std::runtime_error("part failed");
                   }),
                   std::runtime_error);
      EXPECT_EQ(region_threads(), std::vector<int>(kThreads, 1));
    }
  });
  EXPECT_THROW(with_team([] { throw std::runtime_error("master failed"); }), std::runtime_error);
  EXPECT_EQ(region_threads(), std::vector<int>(kThreads, 1));
}

// Past the spin the waiting threads sleep; a region wakes them.
TEST_F(ParallelTest, TeamWakesAfterALongSerialStretch) {
  with_team([&] {
    EXPECT_EQ(region_threads(), std::vector<int>(kThreads, 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(region_threads(), std::vector<int>(kThreads, 1));
    std::atomic<int> parts{0};
    parallel_region([&](int thread, int) {
      if (thread == 1)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the master sleeps too
      parts.fetch_add(1);
    });
    EXPECT_EQ(parts.load(), kThreads);
  });
}

TEST_F(ParallelTest, ParallelForRunsEveryIndexOnceEitherWay) {
  for (bool worth_threads : {false, true}) {
    std::vector<std::atomic<int>> hits(1000);
    parallel_for(1000, worth_threads,
                 [&](int64_t i) { hits[static_cast<size_t>(i)].fetch_add(1); });
    for (const auto& h : hits) ASSERT_EQ(h.load(), 1);
  }
}

TEST(Parallel, OneThreadRunsInline) {
  const int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  EXPECT_EQ(team_threads(), 1);
  int runs = 0;
  with_team([&] {
    parallel_region([&](int thread, int threads) { runs += thread == 0 && threads == 1; });
  });
  omp_set_num_threads(saved);
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace qdq
