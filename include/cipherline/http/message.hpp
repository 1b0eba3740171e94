// The heads of HTTP/1.1 messages as parsed (requests on the server,
// responses on the client). Bodies are streamed separately (BodyReader).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cipherline/http/headers.hpp"

namespace cipherline::http {

struct RequestHead {
  std::string method;  // "GET", "POST", …
  std::string target;  // as sent: "/v1/models?x=1"
  int version_major = 1;
  int version_minor = 1;
  Headers headers;
  bool keep_alive = true;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;

  // path is the target up to '?'; query what follows it.
  std::string_view path() const noexcept {
    return std::string_view(target).substr(0, target.find('?'));
  }
  std::string_view query() const noexcept {
    const auto q = target.find('?');
    return q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
  }
  bool has_body() const noexcept { return chunked || content_length.value_or(0) > 0; }
};

struct ResponseHead {
  int status = 0;
  std::string reason;
  int version_major = 1;
  int version_minor = 1;
  Headers headers;
  bool keep_alive = true;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
};

// reason_phrase returns the standard phrase for a status code ("OK",
// "Not Found", …), or "Unknown".
std::string_view reason_phrase(int status) noexcept;

}  // namespace cipherline::http
