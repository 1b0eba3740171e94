// Test support: stop an operation while it is pending and return what it
// completed with.
#pragma once

#include <optional>
#include <type_traits>
#include <utility>

#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/with_timeout.hpp"

namespace cipherline::testing {

// stop_while_pending starts `task` in a scope, where it runs up to its first
// suspension; then stops the scope, joins it and returns the task's result.
template <class T>
Task<T> stop_while_pending(Task<T> task) {
  TaskScope scope;
  std::optional<T> out;
  scope.spawn([](Task<T> t, std::optional<T>& out) -> Task<void> {
    out.emplace(co_await std::move(t));
  }(std::move(task), out));
  scope.request_stop();
  co_await scope.join();
  co_return std::move(*out);
}

// The same for a runtime operation that has not been awaited yet.
template <class A>
requires(!internal::is_task<std::remove_cvref_t<A>>::value) auto stop_while_pending(A&& operation) {
  return stop_while_pending(internal::await_in_task(std::forward<A>(operation)));
}

}  // namespace cipherline::testing
