#include "server/service/call_metrics_interceptor.h"

#include <chrono>

#include "gtest/gtest.h"

namespace switchyard::server {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::system_clock;

TEST(CountedStatusCodeTest, ACancellationAtTheDeadlineIsTheDeadlines) {
  const Clock::time_point now = Clock::now();
  // Past the server's deadline, or before it by no more than a request's
  // transit time: the client's deadline passed.
  EXPECT_EQ(CountedStatusCode(grpc::StatusCode::CANCELLED, now - milliseconds(1), now),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(CountedStatusCode(grpc::StatusCode::CANCELLED, now + milliseconds(7), now),
            grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_EQ(CountedStatusCode(grpc::StatusCode::CANCELLED, now + milliseconds(20), now),
            grpc::StatusCode::DEADLINE_EXCEEDED);
}

TEST(CountedStatusCodeTest, AnEarlierCancellationIsTheClients) {
  const Clock::time_point now = Clock::now();
  EXPECT_EQ(CountedStatusCode(grpc::StatusCode::CANCELLED, now + milliseconds(21), now),
            grpc::StatusCode::CANCELLED);
  EXPECT_EQ(CountedStatusCode(grpc::StatusCode::CANCELLED, Clock::time_point::max(), now),
            grpc::StatusCode::CANCELLED);  // no deadline
}

TEST(CountedStatusCodeTest, OtherCodesAreCountedAsSent) {
  const Clock::time_point now = Clock::now();
  for (grpc::StatusCode code : {grpc::StatusCode::OK, grpc::StatusCode::UNAVAILABLE, grpc::StatusCode::INTERNAL,
                                grpc::StatusCode::DEADLINE_EXCEEDED}) {
    EXPECT_EQ(CountedStatusCode(code, now - milliseconds(1), now), code);
    EXPECT_EQ(CountedStatusCode(code, now + milliseconds(100), now), code);
  }
}

}  // namespace
}  // namespace switchyard::server
