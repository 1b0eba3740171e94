// TaskScope: owner of background tasks (structured concurrency).
//
//   TaskScope connections;
//   while (auto conn = co_await listener.accept()) connections.spawn(serve(std::move(*conn)));
//   co_await connections.join();   // every connection handler has finished
//
// Contract:
// - `spawn` starts the task at once, on the calling thread, and runs it until
//   its first suspension. The task carries the scope's stop token.
// - `join` waits until no child is running (children spawned meanwhile
//   included). If the task awaiting `join` is stopped, the scope stops its
//   children and keeps waiting for them: cancel-and-await.
// - A child's exception is never swallowed: the first one is rethrown by
//   `join` (and cleared, so the scope can be reused); `failures()` counts all.
//   A failing child does not stop its siblings; call `request_stop` for that.
// - Destroying a scope with running children is a lifetime bug and aborts
//   with a message: always join.
// - Thread affinity: one loop thread; children run on it.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline {

class TaskScope {
 public:
  TaskScope() = default;
  TaskScope(const TaskScope&) = delete;
  TaskScope& operator=(const TaskScope&) = delete;
  ~TaskScope();

  void spawn(Task<void> task);

  [[nodiscard]] Task<void> join();

  // request_stop stops every running child and every child spawned later.
  void request_stop() noexcept { stop_.request_stop(); }
  bool stop_requested() const noexcept { return stop_.stop_requested(); }
  const std::stop_token& stop_token() const noexcept { return token_; }

  std::size_t active() const noexcept { return active_; }
  std::size_t failures() const noexcept { return failures_; }

 private:
  class Child;
  class JoinAwaiter;
  static Child run_child(TaskScope& scope, Task<void> task);
  void child_done(std::exception_ptr error) noexcept;

  std::stop_source stop_;
  std::stop_token token_ = stop_.get_token();
  std::size_t active_ = 0;
  std::size_t failures_ = 0;
  std::exception_ptr first_error_;
  std::coroutine_handle<> joiner_;
  internal::ReadyNode joiner_node_;
};

}  // namespace cipherline
