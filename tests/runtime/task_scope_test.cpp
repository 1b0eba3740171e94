// TaskScope: spawned work is owned, joined, cancelled, and its errors reported.
#include "cipherline/runtime/task_scope.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"

namespace cipherline {
namespace {

using namespace std::chrono_literals;

TEST(TaskScope, JoinWaitsForEveryChild) {
  Loop loop;
  Channel<int> done(100);
  auto body = [&]() -> Task<int> {
    TaskScope scope;
    for (int i = 0; i < 100; ++i) {
      scope.spawn([](Channel<int>& out, int i) -> Task<void> {
        (void)co_await sleep_for(std::chrono::milliseconds(i % 3));
        (co_await out.send(i)).value();
      }(done, i));
    }
    EXPECT_EQ(scope.active(), 100u);
    co_await scope.join();
    EXPECT_EQ(scope.active(), 0u);
    co_return static_cast<int>(done.size());
  };
  EXPECT_EQ(sync_wait(loop, body()), 100);
}

TEST(TaskScope, SpawnStartsTheTaskAtOnce) {
  Loop loop;
  auto body = []() -> Task<void> {
    TaskScope scope;
    bool ran = false;
    scope.spawn([](bool& ran) -> Task<void> {
      ran = true;
      co_return;
    }(ran));
    EXPECT_TRUE(ran);
    EXPECT_EQ(scope.active(), 0u);
    co_await scope.join();
  };
  sync_wait(loop, body());
}

TEST(TaskScope, ChildExceptionIsReportedByJoin) {
  Loop loop;
  auto body = []() -> Task<std::size_t> {
    TaskScope scope;
    scope.spawn([]() -> Task<void> {
      throw std::runtime_error("first");  // before its first suspension
      co_return;
    }());
    scope.spawn([]() -> Task<void> {
      (void)co_await sleep_for(0ms);
      throw std::runtime_error("second");
    }());
    scope.spawn([]() -> Task<void> { co_return; }());
    try {
      co_await scope.join();
      ADD_FAILURE() << "join should rethrow";
    } catch (const std::runtime_error& e) {
      EXPECT_STREQ(e.what(), "first");
    }
    // Reported once, then cleared: the scope is reusable.
    co_await scope.join();
    co_return scope.failures();
  };
  EXPECT_EQ(sync_wait(loop, body()), 2u);
}

TEST(TaskScope, FailingChildDoesNotStopSiblings) {
  Loop loop;
  auto body = []() -> Task<bool> {
    TaskScope scope;
    bool sibling_completed = false;
    scope.spawn([]() -> Task<void> {
      throw std::runtime_error("boom");
      co_return;
    }());
    scope.spawn([](bool& done) -> Task<void> {
      done = (co_await sleep_for(5ms)).has_value();
    }(sibling_completed));
    EXPECT_THROW(co_await scope.join(), std::runtime_error);
    co_return sibling_completed;
  };
  EXPECT_TRUE(sync_wait(loop, body()));
}

TEST(TaskScope, RequestStopCancelsChildren) {
  Loop loop;
  auto body = []() -> Task<int> {
    TaskScope scope;
    int cancelled = 0;
    for (int i = 0; i < 10; ++i) {
      scope.spawn([](int& cancelled) -> Task<void> {
        if ((co_await sleep_for(1h)).error() == errc::operation_cancelled) ++cancelled;
      }(cancelled));
    }
    scope.request_stop();
    co_await scope.join();
    co_return cancelled;
  };
  EXPECT_EQ(sync_wait(loop, body()), 10);
}

TEST(TaskScope, StoppingTheJoinerCancelsAndAwaitsChildren) {
  Loop loop;
  std::stop_source source;
  int cancelled = 0;
  auto body = [&]() -> Task<void> {
    TaskScope scope;
    for (int i = 0; i < 3; ++i) {
      scope.spawn([](int& cancelled) -> Task<void> {
        if ((co_await sleep_for(1h)).error() == errc::operation_cancelled) ++cancelled;
      }(cancelled));
    }
    scope.spawn([](std::stop_source& s) -> Task<void> {
      (void)co_await sleep_for(1ms);
      s.request_stop();
    }(source));
    co_await scope.join();
  };
  sync_wait(loop, body(), source.get_token());
  EXPECT_EQ(cancelled, 3);
}

TEST(TaskScope, SpawningAnEmptyTaskIsALogicError) {
  TaskScope scope;
  EXPECT_THROW(scope.spawn(Task<void>{}), std::logic_error);
}

TEST(TaskScopeDeathTest, DestroyingWithRunningChildrenAborts) {
  EXPECT_DEATH(
      {
        Loop loop;
        TaskScope scope;
        scope.spawn([]() -> Task<void> { (void)co_await sleep_for(1h); }());
      },
      "TaskScope destroyed with 1 running tasks");
}

}  // namespace
}  // namespace cipherline
