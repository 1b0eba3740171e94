// ResponseWriter: writes one HTTP/1.1 response, whole or streamed.
//
//   co_await w.respond(200, {{"Content-Type", "application/json"}}, body);  // Content-Length
//
//   co_await w.start(200, headers);      // no Content-Length: chunked coding
//   co_await w.write(token_bytes);       // sent at once (each write is flushed)
//   co_await w.finish();
//
// Contract:
// - A response is started once (`respond` or `start`) and finished once;
//   writing before start or after finish fails with
//   http::errc::response_state, as does writing more than a declared
//   Content-Length.
// - Without a Content-Length header, the body is sent with chunked transfer
//   coding; each `write` is one chunk, written immediately (no buffering,
//   for token streams). With one, the body must have exactly that length;
//   finishing short closes the connection instead of reusing it.
// - HEAD requests and 1xx/204/304 statuses get headers only.
// - "Connection: close" is sent when the connection will close after this
//   response (the client asked, HTTP/1.0, the server is draining).
// - Loop thread only; the writer borrows the connection's stream.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cipherline/http/byte_stream.hpp"
#include "cipherline/http/headers.hpp"

namespace cipherline::http {

class ResponseWriter {
 public:
  // `closing`, if given, is read when the head is written: while it is
  // true the response says "Connection: close" (a server that began
  // shutting down after the request arrived).
  ResponseWriter(ByteStream& stream, bool head_request, bool keep_alive,
                 const bool* closing = nullptr) noexcept
      : stream_(stream), head_request_(head_request), keep_alive_(keep_alive), closing_(closing) {}

  Task<Result<void>> respond(int status, Headers headers, std::string_view body);
  Task<Result<void>> start(int status, Headers headers);
  Task<Result<void>> write(ConstBuffer bytes);
  Task<Result<void>> write(std::string_view text) { return write(as_bytes(text)); }
  Task<Result<void>> finish();

  bool started() const noexcept { return started_; }
  bool finished() const noexcept { return finished_; }
  int status() const noexcept { return status_; }
  // keep_alive: whether the connection can carry another request after this
  // response.
  bool keep_alive() const noexcept { return keep_alive_; }
  // close_after makes this response the connection's last (before start).
  void close_after() noexcept { keep_alive_ = false; }
  // abort marks a started response as cut short: the server closes the
  // connection instead of finishing it, so the peer sees it end early.
  void abort() noexcept {
    aborted_ = true;
    keep_alive_ = false;
  }
  bool aborted() const noexcept { return aborted_; }

 private:
  std::string head(int status, const Headers& headers, std::optional<std::uint64_t> length);
  bool has_body() const noexcept;

  ByteStream& stream_;
  bool head_request_;
  bool keep_alive_;
  const bool* closing_;
  bool started_ = false;
  bool finished_ = false;
  bool aborted_ = false;
  bool chunked_ = false;
  int status_ = 0;
  std::optional<std::uint64_t> declared_length_;
  std::uint64_t written_ = 0;
};

}  // namespace cipherline::http
