#include "support/parallel.h"

#include <gtest/gtest.h>

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
