// wait_for_signal: suspend until one of a set of signals arrives.
//
//   int sig = (co_await wait_for_signal(SIGINT, SIGTERM)).value();
//   server.request_stop();
//
// Completes with the number of the first signal of the set delivered to the
// process after the wait started, or errc::operation_cancelled. While the
// wait is pending, libuv handles those signals (their default action, such
// as termination, does not happen); afterwards the previous disposition is
// restored. Loop thread only; handles are closed through libuv.
#pragma once

#include <uv.h>

#include <type_traits>
#include <vector>

#include "cipherline/runtime/internal/operation.hpp"

namespace cipherline {

class [[nodiscard]] WaitForSignal : public internal::Operation<WaitForSignal, int> {
 public:
  explicit WaitForSignal(std::vector<int> signals) : signals_(std::move(signals)) {}
  ~WaitForSignal();

 private:
  friend class internal::Operation<WaitForSignal, int>;
  struct Watcher;
  bool start();
  bool cancel() noexcept;
  void detach() noexcept;

  std::vector<int> signals_;
  std::vector<Watcher*> watchers_;
};

template <class... Signals>
requires(std::is_convertible_v<Signals, int>&&...) WaitForSignal
    wait_for_signal(Signals... signals) {
  return WaitForSignal(std::vector<int>{static_cast<int>(signals)...});
}

}  // namespace cipherline
