// when_any: run tasks concurrently and keep the first to finish.
//
//   auto r = co_await when_any(read_reply(), sleep_for(1s));
//   if (r.index() == 0) use(std::get<0>(r));
//
// Contract:
// - The children start in argument order and run concurrently with a stop
//   token linked to the awaiter's. The first child to finish (with a value,
//   an error Result or an exception) wins; the others are stopped and
//   awaited before when_any resumes, and their values are dropped.
// - The first exception in completion order is rethrown: the winner's, or
//   one a loser threw while finishing (never swallowed).
// - Variadic form: a std::variant whose active index is the winner's
//   position (void children yield std::monostate). Vector form: the winner's
//   index and value.
#pragma once

#include <optional>
#include <utility>
#include <variant>
#include <vector>

#include "cipherline/runtime/internal/task_group.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline {

template <class T>
struct WhenAnyResult {
  std::size_t index;
  internal::Stored<T> value;
};

template <class... Ts>
Task<std::variant<internal::Stored<Ts>...>> when_any(Task<Ts>... tasks) {
  static_assert(sizeof...(Ts) > 0, "when_any needs at least one task");
  internal::GroupState state(sizeof...(Ts), internal::GroupPolicy::stop_on_first_completion);
  std::tuple<std::optional<internal::Stored<Ts>>...> slots;
  auto runners = internal::make_runners(state, slots, tasks...);
  co_await internal::GroupState::Start(state, runners);

  state.rethrow_if_failed();
  using Variant = std::variant<internal::Stored<Ts>...>;
  const std::size_t winner = state.winner();
  std::optional<Variant> out;
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    ((I == winner ? (out.emplace(std::in_place_index<I>, std::move(*std::get<I>(slots))), 0) : 0),
     ...);
  }
  (std::index_sequence_for<Ts...>{});
  co_return std::move(*out);
}

template <class T>
Task<WhenAnyResult<T>> when_any(std::vector<Task<T>> tasks) {
  if (tasks.empty()) throw std::invalid_argument("when_any needs at least one task");
  internal::GroupState state(tasks.size(), internal::GroupPolicy::stop_on_first_completion);
  std::vector<std::optional<internal::Stored<T>>> slots(tasks.size());
  auto runners = internal::make_runners(state, slots, tasks);
  co_await internal::GroupState::Start(state, runners);

  state.rethrow_if_failed();
  const std::size_t winner = state.winner();
  co_return WhenAnyResult<T>{winner, std::move(*slots[winner])};
}

}  // namespace cipherline
