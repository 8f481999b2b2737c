#include "support/small_vector.h"

#include <gtest/gtest.h>

#include <vector>

namespace qdq {
namespace {

using Small = SmallVector<int64_t, 3>;

std::vector<int64_t> as_vector(const Small& v) { return {v.begin(), v.end()}; }

TEST(SmallVector, GrowsFromInlineToHeapKeepingItsElements) {
  Small v{1, 2};
  const int64_t* inline_data = v.data();
  v.push_back(3);
  EXPECT_EQ(v.data(), inline_data);  // three fit inline
  v.push_back(4);
  EXPECT_NE(v.data(), inline_data);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 3, 4}));
  v.push_back(v[0]);  // an element of its own, read before the storage moves
  v.resize(7, 9);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 3, 4, 1, 9, 9}));
  v.resize(2);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2}));
}

TEST(SmallVector, CopiesAndMovesInlineAndHeapStorage) {
  for (const Small& source : {Small{5, 6}, Small{1, 2, 3, 4, 5}}) {
    Small copy = source;
    EXPECT_EQ(copy, source);
    Small moved = std::move(copy);
    EXPECT_EQ(moved, source);
    EXPECT_TRUE(copy.empty());  // NOLINT: moved-from is empty, by its contract
    Small assigned{7};
    assigned = moved;
    EXPECT_EQ(assigned, source);
    assigned = std::move(moved);
    EXPECT_EQ(assigned, source);
    const Small& itself = assigned;
    assigned = itself;  // self-assignment keeps it
    EXPECT_EQ(assigned, source);
  }
}

TEST(SmallVector, InsertsAndErasesAnywhere) {
  Small v{1, 4};
  v.insert(v.begin() + 1, 2);
  const std::vector<int64_t> more{7, 8};
  v.insert(v.end(), more.begin(), more.end());
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 4, 7, 8}));
  v.insert(v.begin(), v.begin() + 3, v.end());  // from itself, across a regrowth
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{7, 8, 1, 2, 4, 7, 8}));
  v.erase(v.begin(), v.begin() + 2);
  v.erase(v.end() - 1);
  EXPECT_EQ(as_vector(v), (std::vector<int64_t>{1, 2, 4, 7}));
}

TEST(SmallVector, ComparesAndConvertsLikeAVector) {
  const std::vector<int64_t> dims{2, 3, 4, 5};
  const Small from_vector = dims;
  EXPECT_EQ(as_vector(from_vector), dims);
  EXPECT_EQ(Small(3, 1), (Small{1, 1, 1}));
  EXPECT_LT((Small{1, 2}), (Small{1, 3}));
  EXPECT_LT((Small{1, 2}), (Small{1, 2, 0}));
  EXPECT_NE((Small{1, 2}), (Small{1, 2, 0}));
  EXPECT_EQ(*from_vector.rbegin(), 5);
}

}  // namespace
}  // namespace qdq
