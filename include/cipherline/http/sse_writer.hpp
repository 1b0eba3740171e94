// SseWriter: sends Server-Sent Events over a streamed HTTP response.
//
//   SseWriter sse(writer);
//   co_await sse.start();                        // 200, text/event-stream
//   co_await sse.send(R"({"choices":[…]})");     // "data: …\n\n", sent at once
//   co_await sse.send("[DONE]");
//   co_await sse.finish();
//
// Contract:
// - Each event is written as soon as it is sent (one chunk, flushed): tokens
//   reach the client as they are produced.
// - `data` containing line breaks (LF, CRLF or CR) becomes several `data:`
//   lines, so the reader reassembles it exactly; `event` and `id` must not
//   contain line breaks or NUL (std::invalid_argument).
// - The event is built in a buffer the writer reuses: no allocation per
//   event in steady state.
// - Loop thread only; borrows the ResponseWriter.
#pragma once

#include <string>
#include <string_view>

#include "cipherline/http/response_writer.hpp"

namespace cipherline::http {

class SseWriter {
 public:
  explicit SseWriter(ResponseWriter& writer) noexcept : writer_(writer) {}

  // start sends the head: 200, Content-Type: text/event-stream,
  // Cache-Control: no-cache, plus `extra` headers.
  Task<Result<void>> start(Headers extra = {});
  Task<Result<void>> send(std::string_view data, std::string_view event = {},
                          std::string_view id = {});
  // comment sends ": text" — a keep-alive that readers ignore.
  Task<Result<void>> comment(std::string_view text);
  Task<Result<void>> finish() { return writer_.finish(); }

  // format_event appends the wire form of one event to `out`.
  static void format_event(std::string& out, std::string_view data, std::string_view event = {},
                           std::string_view id = {});

 private:
  ResponseWriter& writer_;
  std::string buffer_;
};

}  // namespace cipherline::http
