#include "cipherline/http/error.hpp"

#include <string>

namespace cipherline::http {
namespace {

class HttpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline.http"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::sse_event_too_large:
        return "SSE event larger than the reader's size limit";
      case errc::malformed_message:
        return "malformed HTTP message";
      case errc::header_too_large:
        return "request header fields too large";
      case errc::uri_too_long:
        return "URI too long";
      case errc::body_too_large:
        return "body too large";
      case errc::incomplete_message:
        return "connection closed before the message was complete";
      case errc::request_timeout:
        return "timed out waiting for the message";
      case errc::response_state:
        return "response already finished or not started";
      case errc::tls_failed:
        return "TLS failed";
      case errc::proxy_failed:
        return "HTTP proxy failed";
      case errc::malformed_multipart:
        return "malformed multipart/form-data";
    }
    return "unknown http error " + std::to_string(code);
  }

  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::sse_event_too_large:
      case errc::body_too_large:
        return std::errc::message_size;
      case errc::request_timeout:
        return std::errc::timed_out;
      default:
        break;
    }
    return {code, *this};
  }
};

}  // namespace

const std::error_category& http_category() noexcept {
  static const HttpCategory category;
  return category;
}

}  // namespace cipherline::http
