// Operation<Derived, T>: base of every awaitable that waits on libuv (not
// public API).
//
// It implements the parts every such awaitable shares:
// - a stop requested before the operation starts completes it at once with
//   errc::operation_cancelled, without touching libuv;
// - a stop requested while it is pending calls `Derived::cancel()` and, if
//   that says the operation is over, resumes the coroutine from the loop's
//   ready queue (never inline inside `request_stop`) with
//   errc::operation_cancelled;
// - libuv completions call `complete(result)`, which resumes inline;
//   completions triggered by another task (a channel hand-off) call
//   `complete_later(result)`, which resumes from the ready queue.
//
// Derived provides:
//   bool start();          // begin; false if it completed synchronously
//                          // (after calling set_result)
//   bool cancel() noexcept;  // detach from libuv; true if the operation is
//                          // over now, false if libuv will still complete it
//                          // (it then completes through `complete`)
// and its destructor detaches from libuv if the operation is still pending
// (`pending()`), so a frame destroyed mid-operation leaves libuv nothing
// dangling.
#pragma once

#include <coroutine>
#include <optional>
#include <stop_token>
#include <utility>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/result.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline::internal {

template <class Derived, class T>
class Operation {
 public:
  Operation() = default;
  // An operation may be moved before it is awaited (so that it can be handed
  // to with_timeout, for example), never after: nothing is carried over.
  Operation(Operation&&) noexcept {}
  Operation(const Operation&) = delete;
  Operation& operator=(const Operation&) = delete;
  Operation& operator=(Operation&&) = delete;

  bool await_ready() const noexcept { return false; }

  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) {
    const std::stop_token& token = stop_token_of(h);
    if (token.stop_requested()) {
      result_.emplace(errc::operation_cancelled);
      return false;
    }
    continuation_ = h;
    if (!derived().start()) return false;
    pending_ = true;
    if (token.stop_possible()) on_stop_.emplace(token, OnStop{this});
    return true;
  }

  Result<T> await_resume() {
    on_stop_.reset();
    return std::move(*result_);
  }

 protected:
  ~Operation() = default;

  bool pending() const noexcept { return pending_; }

  template <class... Args>
  void set_result(Args&&... args) {
    result_.emplace(std::forward<Args>(args)...);
  }

  // complete sets the result and resumes the awaiting coroutine inline.
  template <class... Args>
  void complete(Args&&... args) {
    result_.emplace(std::forward<Args>(args)...);
    pending_ = false;
    continuation_.resume();
  }

  template <class... Args>
  void complete_later(Args&&... args) {
    result_.emplace(std::forward<Args>(args)...);
    pending_ = false;
    Loop::current().schedule(resume_, continuation_);
  }

 private:
  struct OnStop {
    Operation* op;
    void operator()() const noexcept { op->stop(); }
  };

  Derived& derived() noexcept { return static_cast<Derived&>(*this); }

  void stop() noexcept {
    if (!pending_ || !derived().cancel()) return;
    pending_ = false;
    result_.emplace(errc::operation_cancelled);
    Loop::current().schedule(resume_, continuation_);
  }

  std::optional<Result<T>> result_;
  std::coroutine_handle<> continuation_;
  bool pending_ = false;
  std::optional<std::stop_callback<OnStop>> on_stop_;
  ReadyNode resume_;
};

}  // namespace cipherline::internal
