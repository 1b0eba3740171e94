// Task<T>: values, exceptions, laziness, symmetric transfer, stop tokens.
#include "cipherline/runtime/task.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {
namespace {

Task<int> answer() { co_return 42; }

Task<std::string> concat(std::string a, std::string b) { co_return a + b; }

Task<void> nothing() { co_return; }

TEST(Task, ReturnsValues) {
  Loop loop;
  EXPECT_EQ(sync_wait(loop, answer()), 42);
  EXPECT_EQ(sync_wait(loop, concat("to", "ken")), "token");
  sync_wait(loop, nothing());
}

TEST(Task, IsLazy) {
  Loop loop;
  bool started = false;
  auto body = [&]() -> Task<void> {
    started = true;
    co_return;
  };
  Task<void> t = body();
  EXPECT_FALSE(started);
  sync_wait(loop, std::move(t));
  EXPECT_TRUE(started);
}

struct Failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

Task<int> level3() {
  throw Failure("from level 3");
  co_return 0;
}
Task<int> level2() { co_return co_await level3() + 1; }
Task<int> level1() { co_return co_await level2() + 1; }

TEST(Task, ExceptionPropagatesThroughThreeLevels) {
  Loop loop;
  try {
    sync_wait(loop, level1());
    FAIL() << "expected an exception";
  } catch (const Failure& e) {
    EXPECT_STREQ(e.what(), "from level 3");
  }
}

TEST(Task, ExceptionCanBeCaughtByAnAwaitingTask) {
  Loop loop;
  auto catcher = []() -> Task<std::string> {
    try {
      co_await level2();
    } catch (const Failure& e) {
      co_return std::string("caught: ") + e.what();
    }
    co_return "not caught";
  };
  EXPECT_EQ(sync_wait(loop, catcher()), "caught: from level 3");
}

TEST(Task, AwaitingAMovedFromTaskIsALogicError) {
  Loop loop;
  auto body = []() -> Task<void> {
    Task<int> t = answer();
    Task<int> other = std::move(t);
    EXPECT_EQ(co_await std::move(other), 42);
    co_await std::move(t);  // moved-from
  };
  EXPECT_THROW(sync_wait(loop, body()), std::logic_error);
}

TEST(Task, AwaitingTwiceIsALogicError) {
  Loop loop;
  auto body = []() -> Task<void> {
    Task<int> t = answer();
    EXPECT_EQ(co_await std::move(t), 42);
    EXPECT_FALSE(t.valid());
    co_await std::move(t);
  };
  EXPECT_THROW(sync_wait(loop, body()), std::logic_error);
}

TEST(Task, SyncWaitOnEmptyTaskIsALogicError) {
  Loop loop;
  Task<int> empty;
  EXPECT_THROW(sync_wait(loop, std::move(empty)), std::logic_error);
}

// Symmetric transfer: a million synchronously completing awaits in a loop
// must not grow the stack.
TEST(Task, LongChainsOfSynchronousCompletionsUseNoStack) {
  Loop loop;
  auto body = []() -> Task<long> {
    long sum = 0;
    for (int i = 0; i < 1'000'000; ++i) sum += co_await answer();
    co_return sum;
  };
  EXPECT_EQ(sync_wait(loop, body()), 42'000'000);
}

Task<int> recurse(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await recurse(depth - 1);
}

TEST(Task, DeepRecursionCompletes) {
  Loop loop;
  EXPECT_EQ(sync_wait(loop, recurse(10'000)), 10'000);
}

TEST(Task, StopTokenIsInheritedByAwaitedTasks) {
  Loop loop;
  std::stop_source source;
  auto inner = []() -> Task<bool> { co_return (co_await get_stop_token()).stop_requested(); };
  auto outer = [&]() -> Task<bool> {
    source.request_stop();
    co_return co_await inner();
  };
  EXPECT_TRUE(sync_wait(loop, outer(), source.get_token()));
}

TEST(Task, WithStopTokenReplacesTheInheritedToken) {
  Loop loop;
  std::stop_source outer_source;
  std::stop_source inner_source;
  inner_source.request_stop();
  auto probe = []() -> Task<bool> { co_return (co_await get_stop_token()).stop_requested(); };
  auto body = [&]() -> Task<std::pair<bool, bool>> {
    const bool replaced = co_await with_stop_token(probe(), inner_source.get_token());
    const bool inherited = co_await probe();
    co_return std::pair{replaced, inherited};
  };
  const auto [replaced, inherited] = sync_wait(loop, body(), outer_source.get_token());
  EXPECT_TRUE(replaced);
  EXPECT_FALSE(inherited);
}

TEST(Task, DestroyingAnUnstartedTaskDestroysItsFrame) {
  struct Counter {
    int* count;
    ~Counter() { ++*count; }
  };
  int destroyed = 0;
  {
    auto body = [](Counter) -> Task<void> { co_return; };
    Task<void> t = body(Counter{&destroyed});
    destroyed = 0;  // temporaries of the call are gone; the frame's copy lives
  }
  EXPECT_EQ(destroyed, 1);
}

}  // namespace
}  // namespace cipherline
