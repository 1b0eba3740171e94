// when_all: run tasks concurrently and wait for all of them.
//
//   auto [a, b] = co_await when_all(fetch(x), fetch(y));      // tuple
//   std::vector<int> v = co_await when_all(std::move(tasks)); // vector
//
// Contract:
// - The children start in argument order on the awaiting thread and run
//   concurrently; each inherits a stop token that is stopped when the awaiter
//   is stopped.
// - The first failure stops the others: a child fails when it throws or when
//   it returns a Result holding an error. when_all still waits for every
//   child to finish before it resumes (no child outlives it).
// - The first exception (in completion order) is rethrown; error Results are
//   returned in place, in the child's slot, like any other value.
// - void children yield std::monostate in the tuple; when_all over a vector
//   of Task<void> yields void.
#pragma once

#include <optional>
#include <tuple>
#include <utility>
#include <vector>

#include "cipherline/runtime/internal/task_group.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline {

template <class... Ts>
Task<std::tuple<internal::Stored<Ts>...>> when_all(Task<Ts>... tasks) {
  internal::GroupState state(sizeof...(Ts), internal::GroupPolicy::stop_on_failure);
  std::tuple<std::optional<internal::Stored<Ts>>...> slots;
  auto runners = internal::make_runners(state, slots, tasks...);
  co_await internal::GroupState::Start(state, runners);

  state.rethrow_if_failed();
  co_return std::apply(
      [](auto&... slot) { return std::tuple<internal::Stored<Ts>...>(std::move(*slot)...); },
      slots);
}

template <class T>
Task<std::conditional_t<std::is_void_v<T>, void, std::vector<T>>> when_all(
    std::vector<Task<T>> tasks) {
  internal::GroupState state(tasks.size(), internal::GroupPolicy::stop_on_failure);
  std::vector<std::optional<internal::Stored<T>>> slots(tasks.size());
  auto runners = internal::make_runners(state, slots, tasks);
  co_await internal::GroupState::Start(state, runners);

  state.rethrow_if_failed();
  if constexpr (!std::is_void_v<T>) {
    std::vector<T> values;
    values.reserve(slots.size());
    for (auto& slot : slots) values.push_back(std::move(*slot));
    co_return values;
  }
}

}  // namespace cipherline
