// sleep_for: waits at least the duration; cancellation ends it at once.
#include "cipherline/runtime/sleep.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "cipherline/runtime/sync_wait.hpp"
#include "stop_while_pending.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Sleep, WaitsAtLeastTheDuration) {
  Loop loop;
  const auto start = Clock::now();
  auto r = sync_wait(loop, []() -> Task<Result<void>> { co_return co_await sleep_for(20ms); }());
  EXPECT_TRUE(r);
  EXPECT_GE(Clock::now() - start, 20ms);
}

TEST(Sleep, CancelledMidSleep) {
  Loop loop;
  const auto start = Clock::now();
  const Result<void> r = sync_wait(loop, testing::stop_while_pending(sleep_for(1h)));
  EXPECT_EQ(r.error(), errc::operation_cancelled);
  EXPECT_LT(Clock::now() - start, 30min);
}

TEST(Sleep, AlreadyStoppedTokenCompletesWithoutWaiting) {
  Loop loop;
  std::stop_source source;
  source.request_stop();
  auto r = sync_wait(
      loop, []() -> Task<Result<void>> { co_return co_await sleep_for(1h); }(), source.get_token());
  EXPECT_EQ(r.error(), errc::operation_cancelled);
}

TEST(Sleep, ZeroAndNegativeDurationsComplete) {
  Loop loop;
  auto body = []() -> Task<bool> {
    co_return (co_await sleep_for(0ms)).has_value() && (co_await sleep_for(-5ms)).has_value();
  };
  EXPECT_TRUE(sync_wait(loop, body()));
}

}  // namespace
}  // namespace cipherline
