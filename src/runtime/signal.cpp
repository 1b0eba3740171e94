#include "cipherline/runtime/signal.hpp"

#include "cipherline/runtime/internal/uv_handle.hpp"

namespace cipherline {

struct WaitForSignal::Watcher {
  uv_signal_t handle;
  WaitForSignal* owner;
};

WaitForSignal::~WaitForSignal() {
  if (pending()) detach();
}

bool WaitForSignal::start() {
  if (signals_.empty()) throw std::invalid_argument("wait_for_signal: no signals given");
  for (int signum : signals_) {
    auto* w = new Watcher{{}, this};
    uv_signal_init(Loop::current().native(), &w->handle);
    w->handle.data = w;
    watchers_.push_back(w);
    const int status = uv_signal_start(
        &w->handle,
        [](uv_signal_t* handle, int received) {
          auto* owner = static_cast<Watcher*>(handle->data)->owner;
          owner->detach();
          owner->complete(received);
        },
        signum);
    if (status < 0) {
      detach();
      set_result(uv_error(status));
      return false;
    }
  }
  return true;
}

bool WaitForSignal::cancel() noexcept {
  detach();
  return true;
}

void WaitForSignal::detach() noexcept {
  for (Watcher* w : watchers_) {
    uv_signal_stop(&w->handle);
    internal::close_and_delete(w, &w->handle);
  }
  watchers_.clear();
}

}  // namespace cipherline
