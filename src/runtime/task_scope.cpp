#include "cipherline/runtime/task_scope.hpp"

#include <cstdio>
#include <cstdlib>

namespace cipherline {

// Child: an eager, self-destroying coroutine that runs one spawned task and
// reports its end to the scope.
class TaskScope::Child {
 public:
  struct promise_type : internal::RecycledFrame {
    promise_type(TaskScope& scope, Task<void>&) noexcept : token(&scope.token_) {}

    Child get_return_object() const noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // the body catches all
    const std::stop_token& stop_token() const noexcept { return *token; }

    const std::stop_token* token;
  };
};

TaskScope::Child TaskScope::run_child(TaskScope& scope, Task<void> task) {
  std::exception_ptr error;
  try {
    co_await std::move(task);
  } catch (...) {
    error = std::current_exception();
  }
  scope.child_done(std::move(error));
}

TaskScope::~TaskScope() {
  if (active_ != 0) {
    std::fprintf(stderr, "cipherline: TaskScope destroyed with %zu running tasks; join it first\n",
                 active_);
    std::abort();
  }
}

void TaskScope::spawn(Task<void> task) {
  if (!task.valid()) throw std::logic_error("TaskScope::spawn of an empty Task");
  ++active_;
  run_child(*this, std::move(task));
}

void TaskScope::child_done(std::exception_ptr error) noexcept {
  if (error) {
    ++failures_;
    if (!first_error_) first_error_ = std::move(error);
  }
  if (--active_ == 0 && joiner_) {
    Loop::current().schedule(joiner_node_, std::exchange(joiner_, {}));
  }
}

class TaskScope::JoinAwaiter {
 public:
  explicit JoinAwaiter(TaskScope& scope) noexcept : scope_(scope) {}

  bool await_ready() const noexcept { return scope_.active_ == 0; }

  template <class P>
  void await_suspend(std::coroutine_handle<P> h) {
    scope_.joiner_ = h;
    const std::stop_token& token = internal::stop_token_of(h);
    if (token.stop_possible()) forward_.emplace(token, StopChildren{&scope_});
  }

  void await_resume() noexcept { forward_.reset(); }

 private:
  struct StopChildren {
    TaskScope* scope;
    void operator()() const noexcept { scope->request_stop(); }
  };

  TaskScope& scope_;
  std::optional<std::stop_callback<StopChildren>> forward_;
};

Task<void> TaskScope::join() {
  if (joiner_) throw std::logic_error("TaskScope::join is already being awaited");
  co_await JoinAwaiter(*this);
  if (first_error_) std::rethrow_exception(std::exchange(first_error_, {}));
}

}  // namespace cipherline
