// when_all: concurrent children, results in order, first failure stops the rest.
#include "cipherline/runtime/when_all.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

Task<int> value(int v) { co_return v; }

TEST(WhenAll, ReturnsATupleInArgumentOrder) {
  Loop loop;
  auto body = []() -> Task<std::tuple<int, std::string, std::monostate>> {
    auto text = []() -> Task<std::string> { co_return "two"; };
    auto none = []() -> Task<void> { co_return; };
    co_return co_await when_all(value(1), text(), none());
  };
  const auto [a, b, c] = sync_wait(loop, body());
  EXPECT_EQ(a, 1);
  EXPECT_EQ(b, "two");
  (void)c;
}

TEST(WhenAll, ChildrenRunConcurrently) {
  Loop loop;
  // Each child waits for the other: only concurrent execution completes.
  Channel<int> ab(0);
  Channel<int> ba(0);
  auto ping = [&]() -> Task<int> {
    (co_await ab.send(1)).value();
    co_return (co_await ba.receive()).value();
  };
  auto pong = [&]() -> Task<int> {
    const int v = (co_await ab.receive()).value();
    (co_await ba.send(v + 1)).value();
    co_return v;
  };
  const auto [p, q] = sync_wait(loop, when_all(ping(), pong()));
  EXPECT_EQ(p, 2);
  EXPECT_EQ(q, 1);
}

TEST(WhenAll, VectorFormKeepsOrder) {
  Loop loop;
  std::vector<Task<int>> tasks;
  for (int i = 0; i < 100; ++i) tasks.push_back(value(i));
  const std::vector<int> out = sync_wait(loop, when_all(std::move(tasks)));
  ASSERT_EQ(out.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(out[i], i);
}

TEST(WhenAll, EmptyVectorCompletesAtOnce) {
  Loop loop;
  EXPECT_TRUE(sync_wait(loop, when_all(std::vector<Task<int>>{})).empty());
  sync_wait(loop, when_all(std::vector<Task<void>>{}));
}

TEST(WhenAll, FirstFailureCancelsTheOthersAndIsRethrown) {
  Loop loop;
  Result<void> sleeper_result;
  bool sleeper_finished = false;
  auto sleeper = [&]() -> Task<void> {
    sleeper_result = co_await sleep_for(1h);
    sleeper_finished = true;
  };
  auto failer = []() -> Task<void> {
    (void)co_await sleep_for(1ms);
    throw std::runtime_error("child failed");
  };
  const auto started = std::chrono::steady_clock::now();
  try {
    sync_wait(loop, when_all(sleeper(), failer()));
    FAIL() << "expected the child's exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "child failed");
  }
  // The sleeper was cancelled and awaited before when_all returned.
  EXPECT_TRUE(sleeper_finished);
  EXPECT_EQ(sleeper_result.error(), errc::operation_cancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 10min);
}

TEST(WhenAll, AnErrorResultAlsoCancelsTheOthers) {
  Loop loop;
  auto sleeper = []() -> Task<Result<void>> { co_return co_await sleep_for(1h); };
  auto refuser = []() -> Task<Result<void>> {
    co_return std::make_error_code(std::errc::connection_refused);
  };
  const auto [slept, refused] = sync_wait(loop, when_all(sleeper(), refuser()));
  EXPECT_EQ(slept.error(), errc::operation_cancelled);
  EXPECT_EQ(refused.error(), std::errc::connection_refused);
}

TEST(WhenAll, StoppingTheAwaiterStopsEveryChild) {
  Loop loop;
  std::stop_source source;
  auto sleeper = []() -> Task<Result<void>> { co_return co_await sleep_for(1h); };
  auto stopper = [&]() -> Task<Result<void>> {
    (void)co_await sleep_for(1ms);
    source.request_stop();
    co_return Result<void>{};
  };
  auto body = [&]() -> Task<std::tuple<Result<void>, Result<void>, Result<void>>> {
    co_return co_await when_all(sleeper(), sleeper(), with_stop_token(stopper(), {}));
  };
  const auto [a, b, c] = sync_wait(loop, body(), source.get_token());
  EXPECT_EQ(a.error(), errc::operation_cancelled);
  EXPECT_EQ(b.error(), errc::operation_cancelled);
  EXPECT_TRUE(c);
}

}  // namespace
}  // namespace cipherline
