// when_any: the first child to finish wins; the others are stopped and awaited.
#include "cipherline/runtime/when_any.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

TEST(WhenAny, FirstToFinishWinsAndLosersAreCancelled) {
  Loop loop;
  Channel<int> values(1);
  bool loser_finished = false;
  Result<void> loser_result;
  auto loser = [&]() -> Task<void> {
    loser_result = co_await sleep_for(1h);
    loser_finished = true;
  };
  auto winner = [&]() -> Task<int> { co_return (co_await values.receive()).value() * 2; };
  auto body = [&]() -> Task<std::variant<std::monostate, int>> {
    int v = 21;
    EXPECT_TRUE(values.try_send(v));
    co_return co_await when_any(loser(), winner());
  };
  const auto out = sync_wait(loop, body());
  ASSERT_EQ(out.index(), 1u);
  EXPECT_EQ(std::get<1>(out), 42);
  EXPECT_TRUE(loser_finished);
  EXPECT_EQ(loser_result.error(), errc::operation_cancelled);
}

TEST(WhenAny, SameTypesAreDistinguishedByIndex) {
  Loop loop;
  auto slow = []() -> Task<int> {
    (void)co_await sleep_for(1h);
    co_return 1;
  };
  auto fast = []() -> Task<int> { co_return 2; };
  const auto out = sync_wait(loop, when_any(slow(), fast(), slow()));
  EXPECT_EQ(out.index(), 1u);
  EXPECT_EQ(std::get<1>(out), 2);
}

TEST(WhenAny, VectorFormReportsTheWinnersIndex) {
  Loop loop;
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 5; ++i) {
    tasks.push_back([](int i) -> Task<int> {
      if (i != 3) (void)co_await sleep_for(1h);
      co_return i * 10;
    }(i));
  }
  const auto out = sync_wait(loop, when_any(std::move(tasks)));
  EXPECT_EQ(out.index, 3u);
  EXPECT_EQ(out.value, 30);
}

TEST(WhenAny, WinnersExceptionIsRethrown) {
  Loop loop;
  auto slow = []() -> Task<void> { (void)co_await sleep_for(1h); };
  auto thrower = []() -> Task<void> {
    throw std::runtime_error("winner failed");
    co_return;
  };
  EXPECT_THROW(sync_wait(loop, when_any(slow(), thrower())), std::runtime_error);
}

TEST(WhenAny, ALosersExceptionIsNotSwallowed) {
  Loop loop;
  auto fast = []() -> Task<int> { co_return 1; };
  auto bad_loser = []() -> Task<int> {
    (void)co_await sleep_for(1h);
    throw std::runtime_error("loser failed while cancelled");
  };
  EXPECT_THROW(sync_wait(loop, when_any(fast(), bad_loser())), std::runtime_error);
}

TEST(WhenAny, EmptyVectorIsRejected) {
  Loop loop;
  EXPECT_THROW(sync_wait(loop, when_any(std::vector<Task<int>>{})), std::invalid_argument);
}

}  // namespace
}  // namespace cipherline
