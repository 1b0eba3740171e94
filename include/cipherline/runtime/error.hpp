// Error codes of the runtime, as std::error_code values.
//
// Two categories: `runtime_category()` for conditions the runtime itself reports
// (cancellation, timeouts, closed channels and streams, end of stream), and
// `uv_category()` for libuv status codes. Both compare equal to the matching
// std::errc conditions where one exists, so callers may test either way:
//
//   if (r.error() == cipherline::errc::operation_cancelled) ...
//   if (r.error() == std::errc::connection_refused) ...
//
// Thread-safe: the categories are immutable singletons.
#pragma once

#include <string>
#include <system_error>

namespace cipherline {

enum class errc {
  // A stop was requested on the awaiting task's stop token before the
  // operation completed.
  operation_cancelled = 1,
  // `with_timeout` ran out of time; the inner task was cancelled.
  timed_out,
  // Send on a closed channel, or receive on a closed and drained one.
  channel_closed,
  // The peer finished sending (orderly shutdown). Returned once per stream.
  end_of_stream,
  // A read was attempted after `end_of_stream` had already been returned.
  read_after_end_of_stream,
  // The stream or listener was closed locally; no further I/O is possible.
  stream_closed,
  // Another read is already pending on the same stream.
  read_in_progress,
};

const std::error_category& runtime_category() noexcept;
const std::error_category& uv_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), runtime_category()};
}

// uv_error turns a negative libuv status into an error_code of `uv_category()`.
inline std::error_code uv_error(int status) noexcept { return {status, uv_category()}; }

// throw_uv_error throws std::system_error for a failed libuv call, with `what`
// naming the operation and its target ("bind 127.0.0.1:8080").
[[noreturn]] void throw_uv_error(int status, const std::string& what);

}  // namespace cipherline

template <>
struct std::is_error_code_enum<cipherline::errc> : std::true_type {};
