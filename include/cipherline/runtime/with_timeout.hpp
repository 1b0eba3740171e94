// with_timeout: bound a task's running time.
//
//   Result<TcpStream> s = co_await with_timeout(TcpStream::connect(addr), 5s);
//   if (s.error() == errc::timed_out) ...
//
// Runs `task` (or an operation such as a connect or a read) with a stop token linked to the
// caller's. If it has not finished after `timeout`, it is stopped and awaited, and the result is
// errc::timed_out. If the caller is stopped first, the result is
// errc::operation_cancelled. Otherwise the task's own outcome: its value (a
// Result<T> is passed through as is) or its exception, rethrown.
#pragma once

#include <chrono>
#include <type_traits>

#include "cipherline/runtime/result.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/task.hpp"
#include "cipherline/runtime/when_any.hpp"

namespace cipherline {

template <class T>
using TimeoutResult = std::conditional_t<is_result_v<T>, T, Result<T>>;

namespace internal {

inline Task<Result<void>> timeout_timer(std::chrono::nanoseconds timeout) {
  co_return co_await sleep_for(timeout);
}

template <class A>
using await_result_t = decltype(std::declval<A&>().await_resume());

template <class A>
Task<await_result_t<A>> await_in_task(A awaitable) {
  co_return co_await std::move(awaitable);
}

}  // namespace internal

template <class T>
Task<TimeoutResult<T>> with_timeout(Task<T> task, std::chrono::nanoseconds timeout) {
  auto first = co_await when_any(std::move(task), internal::timeout_timer(timeout));
  if (first.index() == 1) {
    if (!std::get<1>(first)) co_return errc::operation_cancelled;
    co_return errc::timed_out;
  }
  if constexpr (std::is_void_v<T>) {
    co_return Result<void>{};
  } else {
    co_return TimeoutResult<T>(std::move(std::get<0>(first)));
  }
}

// with_timeout also takes a runtime operation that has not been awaited yet:
// `co_await with_timeout(TcpStream::connect(addr), 5s)`.
template <class A>
requires(!internal::is_task<std::remove_cvref_t<A>>::value) auto with_timeout(
    A&& operation, std::chrono::nanoseconds timeout) {
  return with_timeout(internal::await_in_task(std::forward<A>(operation)), timeout);
}

}  // namespace cipherline
