// offload: work on the thread pool, results and exceptions back on the loop.
#include "cipherline/runtime/offload.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"

namespace cipherline {
namespace {

// The cancellation tests fill the pool; fix its size before libuv starts it.
const bool pool_size_set = [] { return setenv("UV_THREADPOOL_SIZE", "4", 1) == 0; }();

TEST(Offload, RunsOnAnotherThreadAndResumesOnTheLoop) {
  Loop loop;
  const auto loop_thread = std::this_thread::get_id();
  auto body = [&]() -> Task<bool> {
    const auto worker = (co_await offload([] { return std::this_thread::get_id(); })).value();
    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
    co_return worker != loop_thread;
  };
  EXPECT_TRUE(sync_wait(loop, body()));
}

TEST(Offload, ReturnsValuesAndVoid) {
  Loop loop;
  auto body = []() -> Task<long> {
    (co_await offload([] {})).value();
    co_return (co_await offload([] {
      long s = 0;
      for (int i = 1; i <= 1000; ++i) s += i;
      return s;
    })).value();
  };
  EXPECT_EQ(sync_wait(loop, body()), 500500);
}

TEST(Offload, RethrowsTheJobsException) {
  Loop loop;
  auto body = []() -> Task<void> {
    (void)co_await offload([]() -> int { throw std::out_of_range("job failed"); });
  };
  EXPECT_THROW(sync_wait(loop, body()), std::out_of_range);
}

// A gate that holds pool threads busy until opened.
struct Gate {
  std::mutex m;
  std::condition_variable cv;
  bool open = false;
  std::atomic<int> entered{0};

  void wait() {
    ++entered;
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(m);
      open = true;
    }
    cv.notify_all();
  }
};

TEST(Offload, CancellingAQueuedJobRemovesIt) {
  Loop loop;
  Gate gate;
  std::atomic<bool> queued_job_ran{false};
  ASSERT_TRUE(pool_size_set);
  const int pool = 4;
  auto body = [&]() -> Task<Result<int>> {
    TaskScope blockers;
    for (int i = 0; i < pool; ++i) {
      blockers.spawn(
          [](Gate& g) -> Task<void> { (co_await offload([&g] { g.wait(); })).value(); }(gate));
    }
    // Every pool thread is now blocked, or about to be: the next job queues.
    Result<int> cancelled = 0;
    {
      TaskScope scope;
      scope.spawn([](std::atomic<bool>& ran, Result<int>& out) -> Task<void> {
        out = co_await offload([&ran] {
          ran = true;
          return 1;
        });
      }(queued_job_ran, cancelled));
      scope.request_stop();
      co_await scope.join();
    }
    gate.release();
    co_await blockers.join();
    co_return cancelled;
  };
  const Result<int> r = sync_wait(loop, body());
  EXPECT_EQ(r.error(), errc::operation_cancelled);
  EXPECT_FALSE(queued_job_ran);
}

TEST(Offload, ARunningJobCompletesDespiteCancellation) {
  Loop loop;
  Gate started;
  std::stop_source source;
  auto body = [&]() -> Task<Result<int>> {
    auto job = [&]() -> Task<Result<int>> {
      co_return co_await offload([&] {
        ++started.entered;
        started.wait();
        return 7;
      });
    };
    auto canceller = [&]() -> Task<void> {
      // Wait until the job runs, then cancel, then let it finish.
      while (started.entered.load() == 0) (void)co_await offload([] { std::this_thread::yield(); });
      source.request_stop();
      started.release();
    };
    auto [r, unused] = co_await when_all(with_stop_token(job(), source.get_token()), canceller());
    (void)unused;
    co_return r;
  };
  const Result<int> r = sync_wait(loop, body());
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(*r, 7);
}

}  // namespace
}  // namespace cipherline
