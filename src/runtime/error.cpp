#include "cipherline/runtime/error.hpp"

#include <uv.h>

namespace cipherline {
namespace {

class RuntimeCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::operation_cancelled:
        return "operation cancelled";
      case errc::timed_out:
        return "operation timed out";
      case errc::channel_closed:
        return "channel closed";
      case errc::end_of_stream:
        return "end of stream";
      case errc::read_after_end_of_stream:
        return "read after end of stream was already reported";
      case errc::stream_closed:
        return "stream is closed";
      case errc::read_in_progress:
        return "another read is already pending on this stream";
    }
    return "unknown cipherline error " + std::to_string(code);
  }

  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::operation_cancelled:
        return std::errc::operation_canceled;
      case errc::timed_out:
        return std::errc::timed_out;
      default:
        return {code, *this};
    }
  }
};

class UvCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "libuv"; }

  std::string message(int code) const override { return uv_strerror(code); }

  // On Unix, libuv codes are negated errno values except for a few of its own
  // (UV_EOF, UV_EAI_*, ...), which lie outside the errno range.
  std::error_condition default_error_condition(int code) const noexcept override {
    if (code < 0 && code > -4000) return {-code, std::generic_category()};
    return {code, *this};
  }
};

}  // namespace

const std::error_category& runtime_category() noexcept {
  static const RuntimeCategory category;
  return category;
}

const std::error_category& uv_category() noexcept {
  static const UvCategory category;
  return category;
}

void throw_uv_error(int status, const std::string& what) {
  throw std::system_error(uv_error(status), what);
}

}  // namespace cipherline
