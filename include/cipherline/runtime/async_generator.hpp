// AsyncGenerator<T>: a lazily produced stream of values.
//
//   AsyncGenerator<Event> events(TcpStream& s) { ... co_yield event; ... }
//   auto gen = events(stream);
//   while (auto e = co_await gen.next()) handle(*e);
//
// Contract:
// - Pull-driven, so backpressure is built in: the body runs only while a
//   consumer awaits `next()`, up to its next `co_yield` (or end).
// - `next()` yields the next value, or std::nullopt once the body has
//   finished. An exception escaping the body is rethrown from that `next()`;
//   after it, the generator is finished.
// - While producing, the body carries the stop token of the task awaiting
//   `next()`, so cancelling the consumer cancels what the producer awaits.
// - Destroying the generator destroys a suspended body (safe at any
//   suspension point). One `next()` at a time; move-only.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <type_traits>
#include <utility>

#include "cipherline/runtime/task.hpp"

namespace cipherline {

template <class T>
class [[nodiscard]] AsyncGenerator {
 public:
  class promise_type : public internal::RecycledFrame {
   public:
    AsyncGenerator get_return_object() noexcept {
      return AsyncGenerator{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }

    struct ToConsumer {
      bool await_ready() const noexcept { return false; }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) const noexcept {
        return h.promise().consumer_;
      }
      void await_resume() const noexcept {}
    };

    ToConsumer final_suspend() const noexcept { return {}; }

    template <class U = T>
    requires std::is_constructible_v<T, U&&> ToConsumer yield_value(U&& value)
    noexcept(std::is_nothrow_constructible_v<T, U&&>) {
      value_.emplace(std::forward<U>(value));
      return {};
    }

    void return_void() const noexcept {}
    void unhandled_exception() noexcept { exception_ = std::current_exception(); }
    const std::stop_token& stop_token() const noexcept { return *stop_token_; }

   private:
    friend class AsyncGenerator;
    std::coroutine_handle<> consumer_;
    const std::stop_token* stop_token_ = &internal::no_stop_token();
    std::optional<T> value_;
    std::exception_ptr exception_;
  };

  AsyncGenerator() noexcept = default;
  AsyncGenerator(AsyncGenerator&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  AsyncGenerator& operator=(AsyncGenerator&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  AsyncGenerator(const AsyncGenerator&) = delete;
  AsyncGenerator& operator=(const AsyncGenerator&) = delete;
  ~AsyncGenerator() {
    if (handle_) handle_.destroy();
  }

  class Next {
   public:
    explicit Next(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}

    bool await_ready() const {
      if (!handle_) throw std::logic_error("next() on an empty AsyncGenerator");
      return handle_.done();
    }

    template <class P>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<P> consumer) noexcept {
      auto& p = handle_.promise();
      p.consumer_ = consumer;
      p.stop_token_ = &internal::stop_token_of(consumer);
      p.value_.reset();
      return handle_;
    }

    std::optional<T> await_resume() {
      auto& p = handle_.promise();
      if (p.exception_) std::rethrow_exception(std::exchange(p.exception_, {}));
      if (handle_.done()) return std::nullopt;
      return std::move(p.value_);
    }

   private:
    std::coroutine_handle<promise_type> handle_;
  };

  Next next() noexcept { return Next{handle_}; }

 private:
  explicit AsyncGenerator(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

}  // namespace cipherline
