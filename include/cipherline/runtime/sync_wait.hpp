// sync_wait: run a task to completion on a loop from ordinary code.
//
//   int main() { Loop loop; return sync_wait(loop, serve()); }
//
// For `main`, tests and tools only: it blocks the calling thread, which must
// be the one that runs `loop`, until the task completes, running the loop
// meanwhile. Returns the task's value or rethrows its exception. While the
// task runs, the loop also waits for work posted from other threads (a task
// may hop to another loop and back). An optional stop token is handed to
// the task as its cancellation token; it must be signalled on this thread
// (for example by another task on the loop).
#pragma once

#include <stdexcept>
#include <stop_token>
#include <utility>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline {
namespace internal {

// LoopStopper: a coroutine that, resumed as the root task's continuation,
// stops the loop, so that sync_wait can run the loop in its default mode (one
// uv_run call for the whole task) rather than iteration by iteration.
class LoopStopper {
 public:
  struct promise_type : RecycledFrame {
    LoopStopper get_return_object() noexcept {
      return LoopStopper{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };

  LoopStopper(LoopStopper&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  LoopStopper(const LoopStopper&) = delete;
  LoopStopper& operator=(const LoopStopper&) = delete;
  ~LoopStopper() {
    if (handle_) handle_.destroy();
  }
  std::coroutine_handle<> handle() const noexcept { return handle_; }

 private:
  explicit LoopStopper(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

inline LoopStopper stop_loop(uv_loop_t* loop) {
  uv_stop(loop);
  co_return;
}

}  // namespace internal

template <class T>
T sync_wait(Loop& loop, Task<T> task, const std::stop_token& token = internal::no_stop_token()) {
  auto handle = internal::TaskAccess::release(task);
  if (!handle) throw std::logic_error("sync_wait on an empty Task (moved-from or already awaited)");
  struct DestroyFrame {
    std::coroutine_handle<internal::TaskPromise<T>> h;
    ~DestroyFrame() { h.destroy(); }
  } guard{handle};

  const internal::LoopStopper stopper = internal::stop_loop(loop.native());
  handle.promise().set_stop_token(token);
  handle.promise().set_continuation(stopper.handle());
  Loop::KeepAlive keep_alive(loop);
  internal::ReadyNode start;
  loop.schedule(start, handle);
  while (!handle.done()) loop.run();
  return handle.promise().take_result();
}

}  // namespace cipherline
