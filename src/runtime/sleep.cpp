#include "cipherline/runtime/sleep.hpp"

#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/internal/uv_handle.hpp"

namespace cipherline {

struct SleepFor::Timer {
  uv_timer_t handle;
  SleepFor* owner;
};

SleepFor::SleepFor(std::chrono::nanoseconds duration) noexcept {
  const auto ns = duration.count() < 0 ? 0 : duration.count();
  milliseconds_ = static_cast<std::uint64_t>((ns + 999'999) / 1'000'000);
}

SleepFor::~SleepFor() {
  if (pending()) detach();
}

bool SleepFor::start() {
  auto* timer = new Timer{{}, this};
  uv_timer_init(Loop::current().native(), &timer->handle);
  timer->handle.data = timer;
  const int status = uv_timer_start(
      &timer->handle,
      [](uv_timer_t* handle) {
        auto* t = static_cast<Timer*>(handle->data);
        SleepFor* owner = t->owner;
        internal::close_and_delete(t, &t->handle);
        owner->timer_ = nullptr;
        owner->complete();
      },
      milliseconds_, 0);
  if (status < 0) {
    internal::close_and_delete(timer, &timer->handle);
    set_result(uv_error(status));
    return false;
  }
  timer_ = timer;
  return true;
}

bool SleepFor::cancel() noexcept {
  detach();
  return true;
}

void SleepFor::detach() noexcept {
  if (timer_ == nullptr) return;
  uv_timer_stop(&timer_->handle);
  internal::close_and_delete(timer_, &timer_->handle);
  timer_ = nullptr;
}

}  // namespace cipherline
