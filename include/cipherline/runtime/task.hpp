// Task<T>: the lazy, move-only coroutine type of the runtime.
//
//   Task<int> answer() { co_return 42; }
//   Task<void> caller() { int x = co_await answer(); ... }
//
// Contract:
// - Lazy: calling a coroutine returning Task creates a suspended frame; the
//   body starts when the task is awaited (or handed to sync_wait, TaskScope,
//   when_all, when_any).
// - Move-only and awaitable once, as an rvalue: `co_await make_task()` or
//   `co_await std::move(task)`. Awaiting an empty (moved-from or already
//   awaited) Task throws std::logic_error. Await a task in the full
//   expression that creates it, so reference parameters and lambda captures
//   cannot dangle.
// - Completion transfers control straight back to the awaiter (symmetric
//   transfer), so long chains of synchronously completing tasks use no stack.
// - An exception escaping the body is captured and rethrown from the
//   `co_await` that awaited the task.
// - Cancellation: a task carries the std::stop_token of the task that awaits
//   it, so stopping a root cancels the whole subtree. `co_await
//   get_stop_token()` reads it inside a body; `with_stop_token` attaches a
//   different one. Every runtime awaitable that waits honours it.
// - Destroying a Task destroys its frame, including a frame suspended inside
//   an operation: the operations detach from libuv safely (see each one's
//   contract), so destroying a suspended tree is allowed.
// - Thread affinity: none of its own; a task runs on whichever loop thread
//   resumes it.
// - Frames come from a per-thread recycling allocator.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "cipherline/runtime/internal/frame_allocator.hpp"

namespace cipherline {

template <class T = void>
class Task;

namespace internal {

inline const std::stop_token& no_stop_token() noexcept {
  static const std::stop_token token;
  return token;
}

// A promise type that carries a stop token for the awaitables it awaits.
template <class P>
concept StopTokenPromise = requires(const P& p) {
  { p.stop_token() } -> std::same_as<const std::stop_token&>;
};

// stop_token_of returns the stop token of the coroutine `h`, or a token that
// can never be stopped when its promise type carries none.
template <class P>
const std::stop_token& stop_token_of(std::coroutine_handle<P> h) noexcept {
  if constexpr (StopTokenPromise<P>) {
    return h.promise().stop_token();
  } else {
    return no_stop_token();
  }
}

// Frames of every runtime coroutine type come from the recycling allocator.
struct RecycledFrame {
  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept {
    deallocate_frame(frame, size);
  }
};

class TaskPromiseBase : public RecycledFrame {
 public:
  struct FinalAwaiter {
    bool await_ready() const noexcept { return false; }
    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> h) const noexcept {
      return h.promise().continuation_;
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  FinalAwaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  const std::stop_token& stop_token() const noexcept { return *stop_token_; }

  // The token must outlive the task's execution; the awaiting coroutine's
  // promise (or the starter's state) owns it.
  void set_stop_token(const std::stop_token& token) noexcept { stop_token_ = &token; }
  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }

 protected:
  void rethrow_if_failed() const {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::coroutine_handle<> continuation_ = std::noop_coroutine();
  const std::stop_token* stop_token_ = &no_stop_token();
  std::exception_ptr exception_;
};

template <class T>
class TaskPromise final : public TaskPromiseBase {
 public:
  Task<T> get_return_object() noexcept;

  template <class U = T>
  requires std::is_convertible_v<U&&, T>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));
  }

  T take_result() {
    rethrow_if_failed();
    return std::move(*value_);
  }

 private:
  std::optional<T> value_;
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take_result() const { rethrow_if_failed(); }
};

struct TaskAccess;

}  // namespace internal

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = internal::TaskPromise<T>;
  using value_type = T;

  Task() noexcept = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      reset();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() { reset(); }

  // valid() is false for a default-constructed, moved-from or awaited task.
  bool valid() const noexcept { return static_cast<bool>(handle_); }

  class Awaiter {
   public:
    explicit Awaiter(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
    Awaiter(Awaiter&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
    Awaiter(const Awaiter&) = delete;
    Awaiter& operator=(const Awaiter&) = delete;
    Awaiter& operator=(Awaiter&&) = delete;
    ~Awaiter() {
      if (handle_) handle_.destroy();
    }

    bool await_ready() const {
      if (!handle_)
        throw std::logic_error("co_await on an empty Task (moved-from or already awaited)");
      return false;
    }

    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> awaiter) noexcept {
      handle_.promise().set_continuation(awaiter);
      handle_.promise().set_stop_token(internal::stop_token_of(awaiter));
      return handle_;
    }

    T await_resume() { return handle_.promise().take_result(); }

   private:
    std::coroutine_handle<promise_type> handle_;
  };

  // Awaiting takes the frame out of the Task; it is destroyed when the
  // co_await expression completes.
  Awaiter operator co_await() && noexcept { return Awaiter{std::exchange(handle_, {})}; }

 private:
  friend class internal::TaskPromise<T>;
  friend struct internal::TaskAccess;

  explicit Task(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

  void reset() noexcept {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  std::coroutine_handle<promise_type> handle_;
};

namespace internal {

template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>{std::coroutine_handle<TaskPromise<T>>::from_promise(*this)};
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>{std::coroutine_handle<TaskPromise<void>>::from_promise(*this)};
}

// TaskAccess lets the runtime's starters (sync_wait, TaskScope, when_all, ...)
// take a task's frame without awaiting it from another Task.
struct TaskAccess {
  template <class T>
  static std::coroutine_handle<TaskPromise<T>> release(Task<T>& task) noexcept {
    return std::exchange(task.handle_, {});
  }
};

template <class T>
struct is_task : std::false_type {};
template <class T>
struct is_task<Task<T>> : std::true_type {};

}  // namespace internal

// get_stop_token(): `co_await get_stop_token()` yields the calling task's
// stop token without suspending.
struct GetStopTokenAwaiter {
  const std::stop_token* token = nullptr;

  bool await_ready() const noexcept { return false; }
  template <class P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    token = &internal::stop_token_of(h);
    return false;
  }
  const std::stop_token& await_resume() const noexcept { return *token; }
};

inline GetStopTokenAwaiter get_stop_token() noexcept { return {}; }

namespace internal {

// Awaits a task's frame with a given stop token instead of the awaiter's.
template <class T>
class AdoptWithToken {
 public:
  AdoptWithToken(std::coroutine_handle<TaskPromise<T>> h, const std::stop_token& token)
      : handle_(h), token_(&token) {
    if (!handle_) throw std::logic_error("with_stop_token on an empty Task");
  }
  AdoptWithToken(const AdoptWithToken&) = delete;
  AdoptWithToken& operator=(const AdoptWithToken&) = delete;
  ~AdoptWithToken() { handle_.destroy(); }

  bool await_ready() const noexcept { return false; }
  std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiter) noexcept {
    handle_.promise().set_continuation(awaiter);
    handle_.promise().set_stop_token(*token_);
    return handle_;
  }
  T await_resume() { return handle_.promise().take_result(); }

 private:
  std::coroutine_handle<TaskPromise<T>> handle_;
  const std::stop_token* token_;
};

}  // namespace internal

// with_stop_token runs `task` with `token` instead of the awaiter's token.
template <class T>
Task<T> with_stop_token(Task<T> task, std::stop_token token) {
  co_return co_await internal::AdoptWithToken<T>(internal::TaskAccess::release(task), token);
}

}  // namespace cipherline
