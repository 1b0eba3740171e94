// Shared machinery of when_all and when_any (not public API).
//
// A group runs each child task through a small runner coroutine that stores
// the child's value or exception in a slot, then reports to the group. The
// group owns a stop source linked to the awaiting task's token, so stopping
// the awaiter stops every child; the policy (stop the rest on first failure,
// or on first completion) decides when the group stops the children itself.
// The awaiter resumes only after every child has finished, so no child ever
// outlives the frame that owns the slots.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "cipherline/runtime/result.hpp"
#include "cipherline/runtime/task.hpp"

namespace cipherline::internal {

// Children's values are stored as `Stored<T>`: void becomes std::monostate.
template <class T>
using Stored = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

class GroupRunner;

enum class GroupPolicy { stop_on_failure, stop_on_first_completion };

class GroupState {
 public:
  GroupState(std::size_t children, GroupPolicy policy)
      : remaining_(children + 1), policy_(policy), token_(stop_.get_token()) {}

  const std::stop_token& token() const noexcept { return token_; }

  // Called by a runner when its child finished; `failed` is true for an
  // exception or an error Result.
  void child_finished(std::size_t index, bool failed, std::exception_ptr error) noexcept {
    if (error && !error_) error_ = std::move(error);
    if (!winner_) winner_ = index;
    if (failed || policy_ == GroupPolicy::stop_on_first_completion) stop_.request_stop();
  }

  // Returns the handle to resume when the last child (or the starter, which
  // holds one extra count) has finished; otherwise noop.
  std::coroutine_handle<> release() noexcept {
    return --remaining_ == 0 ? continuation_ : std::noop_coroutine();
  }

  std::size_t winner() const noexcept { return *winner_; }

  void rethrow_if_failed() const {
    if (error_) std::rethrow_exception(error_);
  }

  // Awaiter: starts every runner, then suspends until all have finished.
  class Start {
   public:
    Start(GroupState& state, std::vector<GroupRunner>& runners) noexcept
        : state_(state), runners_(runners) {}

    bool await_ready() const noexcept { return false; }

    template <class P>
    bool await_suspend(std::coroutine_handle<P> awaiter);

    void await_resume() noexcept { link_.reset(); }

   private:
    struct StopChildren {
      GroupState* state;
      void operator()() const noexcept { state->stop_.request_stop(); }
    };

    GroupState& state_;
    std::vector<GroupRunner>& runners_;
    std::optional<std::stop_callback<StopChildren>> link_;
  };

 private:
  std::size_t remaining_;
  GroupPolicy policy_;
  std::stop_source stop_;
  std::stop_token token_;
  std::coroutine_handle<> continuation_;
  std::exception_ptr error_;
  std::optional<std::size_t> winner_;
};

// Runner coroutine: lazily started by GroupState::Start, reports on
// completion and hands control to the awaiter when it is the last one.
class GroupRunner {
 public:
  struct promise_type : RecycledFrame {
    template <class... Args>
    explicit promise_type(GroupState& state, Args&...) noexcept : state(&state) {}

    GroupRunner get_return_object() noexcept {
      return GroupRunner{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    auto final_suspend() const noexcept {
      struct Release {
        bool await_ready() const noexcept { return false; }
        std::coroutine_handle<> await_suspend(
            std::coroutine_handle<promise_type> h) const noexcept {
          return h.promise().state->release();
        }
        void await_resume() const noexcept {}
      };
      return Release{};
    }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // the body catches all
    const std::stop_token& stop_token() const noexcept { return state->token(); }

    GroupState* state;
  };

  GroupRunner(GroupRunner&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  GroupRunner(const GroupRunner&) = delete;
  GroupRunner& operator=(const GroupRunner&) = delete;
  GroupRunner& operator=(GroupRunner&&) = delete;
  ~GroupRunner() {
    if (handle_) handle_.destroy();
  }

  std::coroutine_handle<> handle() const noexcept { return handle_; }

 private:
  explicit GroupRunner(std::coroutine_handle<promise_type> h) noexcept : handle_(h) {}
  std::coroutine_handle<promise_type> handle_;
};

template <class P>
bool GroupState::Start::await_suspend(std::coroutine_handle<P> awaiter) {
  state_.continuation_ = awaiter;
  const std::stop_token& parent = stop_token_of(awaiter);
  if (parent.stop_possible()) link_.emplace(parent, StopChildren{&state_});
  for (auto& runner : runners_) runner.handle().resume();
  return state_.release() != awaiter;
}

template <class T>
GroupRunner run_group_child(GroupState& state, Task<T> task, std::optional<Stored<T>>& slot,
                            std::size_t index) {
  bool failed = false;
  std::exception_ptr error;
  try {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      slot.emplace();
    } else {
      slot.emplace(co_await std::move(task));
      if constexpr (is_result_v<T>) failed = !slot->has_value();
    }
  } catch (...) {
    failed = true;
    error = std::current_exception();
  }
  state.child_finished(index, failed, std::move(error));
}

// make_runners creates one (unstarted) runner per task, each storing into
// its slot: the variadic form for a tuple of slots, the other for a vector.
template <class... Ts>
std::vector<GroupRunner> make_runners(GroupState& state,
                                      std::tuple<std::optional<Stored<Ts>>...>& slots,
                                      Task<Ts>&... tasks) {
  std::vector<GroupRunner> runners;
  runners.reserve(sizeof...(Ts));
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (runners.push_back(run_group_child(state, std::move(tasks), std::get<I>(slots), I)), ...);
  }
  (std::index_sequence_for<Ts...>{});
  return runners;
}

template <class T>
std::vector<GroupRunner> make_runners(GroupState& state,
                                      std::vector<std::optional<Stored<T>>>& slots,
                                      std::vector<Task<T>>& tasks) {
  std::vector<GroupRunner> runners;
  runners.reserve(tasks.size());
  for (std::size_t i = 0; i < tasks.size(); ++i) {
    runners.push_back(run_group_child(state, std::move(tasks[i]), slots[i], i));
  }
  return runners;
}

}  // namespace cipherline::internal
