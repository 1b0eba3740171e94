// with_timeout: a distinct timed_out error, the inner task cancelled.
#include "cipherline/runtime/with_timeout.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

TEST(WithTimeout, ReturnsTheValueWhenInTime) {
  Loop loop;
  auto fast = []() -> Task<int> { co_return 7; };
  const Result<int> r = sync_wait(loop, with_timeout(fast(), 1h));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, 7);
}

TEST(WithTimeout, TimesOutAndCancelsTheInnerTask) {
  Loop loop;
  Result<void> inner_saw;
  bool inner_finished = false;
  auto slow = [&]() -> Task<int> {
    inner_saw = co_await sleep_for(1h);
    inner_finished = true;
    co_return 1;
  };
  const Result<int> r = sync_wait(loop, with_timeout(slow(), 5ms));
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_EQ(r.error().message(), "operation timed out");
  EXPECT_TRUE(inner_finished);
  EXPECT_EQ(inner_saw.error(), errc::operation_cancelled);
}

TEST(WithTimeout, PassesResultsThrough) {
  Loop loop;
  auto failing = []() -> Task<Result<int>> { co_return std::make_error_code(std::errc::io_error); };
  const Result<int> r = sync_wait(loop, with_timeout(failing(), 1h));
  EXPECT_EQ(r.error(), std::errc::io_error);
  auto nothing = []() -> Task<void> { co_return; };
  EXPECT_TRUE(sync_wait(loop, with_timeout(nothing(), 1h)));
}

TEST(WithTimeout, RethrowsTheInnerException) {
  Loop loop;
  auto thrower = []() -> Task<int> {
    throw std::runtime_error("inner");
    co_return 0;
  };
  EXPECT_THROW((void)sync_wait(loop, with_timeout(thrower(), 1h)), std::runtime_error);
}

TEST(WithTimeout, CallerCancellationIsNotATimeout) {
  Loop loop;
  std::stop_source source;
  source.request_stop();
  auto slow = []() -> Task<Result<void>> { co_return co_await sleep_for(1h); };
  const Result<void> r = sync_wait(loop, with_timeout(slow(), 1h), source.get_token());
  EXPECT_EQ(r.error(), errc::operation_cancelled);
}

}  // namespace
}  // namespace cipherline
