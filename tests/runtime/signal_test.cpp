// wait_for_signal: delivery of one of a set of signals, and cancellation.
#include "cipherline/runtime/signal.hpp"

#include <gtest/gtest.h>

#include <csignal>

#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "stop_while_pending.hpp"

namespace cipherline {
namespace {

TEST(Signal, CompletesWithTheSignalReceived) {
  Loop loop;
  auto body = []() -> Task<int> {
    auto waiter = []() -> Task<Result<int>> {
      co_return co_await wait_for_signal(SIGUSR1, SIGUSR2);
    };
    auto raiser = []() -> Task<void> {
      // The waiter is suspended with its handlers installed by now.
      std::raise(SIGUSR2);
      co_return;
    };
    auto [r, unused] = co_await when_all(waiter(), raiser());
    (void)unused;
    co_return r.value();
  };
  EXPECT_EQ(sync_wait(loop, body()), SIGUSR2);
}

TEST(Signal, Cancellation) {
  Loop loop;
  auto body = []() -> Task<Result<int>> {
    co_return co_await testing::stop_while_pending(
        []() -> Task<Result<int>> { co_return co_await wait_for_signal(SIGUSR1); }());
  };
  EXPECT_EQ(sync_wait(loop, body()).error(), errc::operation_cancelled);
}

TEST(Signal, EmptySetIsRejected) {
  Loop loop;
  auto body = []() -> Task<void> { (void)co_await wait_for_signal(); };
  EXPECT_THROW(sync_wait(loop, body()), std::invalid_argument);
}

}  // namespace
}  // namespace cipherline
