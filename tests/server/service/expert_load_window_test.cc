#include "server/service/expert_load_window.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

namespace switchyard::server {
namespace {

using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1'000'000);

std::vector<int64_t> Sum(ExpertLoadWindow& w, absl::Time now) {
  absl::Span<const int64_t> s = w.Sum(now);
  return {s.begin(), s.end()};
}

TEST(ExpertLoadWindowTest, SumsTheStepsOfTheWindow) {
  ExpertLoadWindow w(3, absl::Seconds(60));  // 1 s slices
  EXPECT_THAT(Sum(w, kStart), ElementsAre(0, 0, 0));
  w.Add(kStart, std::vector<int32_t>{1, 2, 3});
  w.Add(kStart + absl::Milliseconds(500), std::vector<int32_t>{1, 0, 0});
  w.Add(kStart + absl::Seconds(30), std::vector<int32_t>{0, 5, 0});
  EXPECT_THAT(Sum(w, kStart + absl::Seconds(31)), ElementsAre(2, 7, 3));
}

TEST(ExpertLoadWindowTest, StepsLeaveTheWindowWhenItMovesPastThem) {
  ExpertLoadWindow w(2, absl::Seconds(60));
  w.Add(kStart, std::vector<int32_t>{4, 0});
  w.Add(kStart + absl::Seconds(30), std::vector<int32_t>{0, 6});
  // The first slice is still inside 59 s later, and gone at 60 s.
  EXPECT_THAT(Sum(w, kStart + absl::Seconds(59)), ElementsAre(4, 6));
  EXPECT_THAT(Sum(w, kStart + absl::Seconds(60)), ElementsAre(0, 6));
  EXPECT_THAT(Sum(w, kStart + absl::Seconds(90)), ElementsAre(0, 0));
}

TEST(ExpertLoadWindowTest, ALongIdleGapEmptiesTheWindowAndCountingGoesOn) {
  ExpertLoadWindow w(1, absl::Seconds(10));  // 1/6 s slices
  w.Add(kStart, std::vector<int32_t>{9});
  EXPECT_THAT(Sum(w, kStart + absl::Hours(5)), ElementsAre(0));
  w.Add(kStart + absl::Hours(5), std::vector<int32_t>{2});
  w.Add(kStart + absl::Hours(5) + absl::Seconds(5), std::vector<int32_t>{3});
  EXPECT_THAT(Sum(w, kStart + absl::Hours(5) + absl::Seconds(5)), ElementsAre(5));
}

TEST(ExpertLoadWindowTest, AClockThatStepsBackAddsToTheNewestSlice) {
  ExpertLoadWindow w(1, absl::Seconds(60));
  w.Add(kStart + absl::Seconds(10), std::vector<int32_t>{1});
  w.Add(kStart, std::vector<int32_t>{1});
  EXPECT_THAT(Sum(w, kStart + absl::Seconds(10)), ElementsAre(2));
  EXPECT_THAT(Sum(w, kStart + absl::Seconds(70)), ElementsAre(0));
}

}  // namespace
}  // namespace switchyard::server
