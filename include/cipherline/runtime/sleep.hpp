// sleep_for: suspend the calling task for a duration.
//
//   if (auto r = co_await sleep_for(100ms); !r) return r.error();  // cancelled
//
// Completes with success after the duration (libuv timer resolution: one
// millisecond, rounded up), or with errc::operation_cancelled as soon as the
// task's stop token is stopped. Loop thread only; the timer handle is owned
// by the operation and closed through libuv, so destroying a sleeping frame
// is safe.
#pragma once

#include <uv.h>

#include <chrono>
#include <cstdint>

#include "cipherline/runtime/internal/operation.hpp"

namespace cipherline {

class [[nodiscard]] SleepFor : public internal::Operation<SleepFor, void> {
 public:
  explicit SleepFor(std::chrono::nanoseconds duration) noexcept;
  SleepFor(SleepFor&&) noexcept = default;
  ~SleepFor();

 private:
  friend class internal::Operation<SleepFor, void>;
  struct Timer;

  bool start();
  bool cancel() noexcept;
  void detach() noexcept;

  std::uint64_t milliseconds_;
  Timer* timer_ = nullptr;
};

inline SleepFor sleep_for(std::chrono::nanoseconds duration) noexcept { return SleepFor(duration); }

}  // namespace cipherline
