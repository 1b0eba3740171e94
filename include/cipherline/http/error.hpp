// Error codes of the HTTP layer (std::error_code category "cipherline.http").
//
// Parsers that can say more — which limit, which byte offset — report a
// cipherline::Error carrying one of these codes plus a detail message; the
// code alone is what callers compare against:
//
//   if (r.error() == cipherline::http::errc::sse_event_too_large) ...
//
// Thread-safe: the category is an immutable singleton.
#pragma once

#include <system_error>

namespace cipherline::http {

enum class errc {
  // The lines of one server-sent event exceeded SseReader::Options::max_event_size.
  // Compares equal to std::errc::message_size.
  sse_event_too_large = 1,
  // A request or response that is not valid HTTP/1.1 (the detail carries
  // llhttp's reason and the byte offset).
  malformed_message,
  // The request line and headers exceed the header limit (→ 431).
  header_too_large,
  // The request target exceeds the URL limit (→ 414).
  uri_too_long,
  // The body exceeds the limit of its route (→ 413).
  body_too_large,
  // The peer closed the connection before the message was complete.
  incomplete_message,
  // No complete request head, or no body progress, within the timeout (→ 408).
  request_timeout,
  // The handler misused the ResponseWriter (wrote after finishing, …).
  response_state,
  // A TLS handshake or configuration failed (the detail names the reason:
  // hostname mismatch, expired certificate, unknown CA, …).
  tls_failed,
  // A proxy setting is invalid, or the proxy refused or broke a tunnel (the
  // detail names the proxy, the target and the proxy's answer).
  proxy_failed,
  // A multipart/form-data body or Content-Type that does not follow RFC 7578
  // (the detail names the part and what was wrong).
  malformed_multipart,
};

const std::error_category& http_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), http_category()};
}

}  // namespace cipherline::http

template <>
struct std::is_error_code_enum<cipherline::http::errc> : std::true_type {};
