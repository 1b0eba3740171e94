// MessageReader: pull-style reading of HTTP/1.1 messages from a ByteStream
// with llhttp (private to the http layer).
//
// llhttp is a push parser; this turns it around by pausing it at the three
// points a caller waits for — the end of the head, each body chunk, the end
// of the message — so that heads are read with `read_*_head`, bodies chunk
// by chunk with `next_body_chunk`, and bytes already received for the next
// message (pipelining, keep-alive) stay where they are. Body chunks are
// views into the stream's read buffer: no copy on the way to the handler.
//
// Heads are copied into RequestHead/ResponseHead (they are small), with
// limits on their size; errors are http::errc values with a detail naming
// the limit or llhttp's reason and the byte offset.
#pragma once

#include <llhttp.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "cipherline/http/byte_stream.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/http/message.hpp"

namespace cipherline::http::internal {

class MessageReader {
 public:
  struct Limits {
    std::size_t max_head = 64 * 1024;   // request line / status line + headers
    std::size_t max_target = 8 * 1024;  // request target
    std::uint64_t max_body = UINT64_MAX;
  };

  // Requests (server side) or responses (client side).
  MessageReader(ByteStream& stream, llhttp_type_t type);
  MessageReader(const MessageReader&) = delete;
  MessageReader& operator=(const MessageReader&) = delete;

  using Clock = ByteStream::Clock;

  // read_request_head reads the next request's head. A stream that ends
  // cleanly before the first byte of a request gives errc::end_of_stream
  // (the client closed an idle connection), not an HTTP error. A head not
  // complete by `deadline` gives cipherline::errc::timed_out.
  Task<Result<void, Error>> read_request_head(RequestHead& head, const Limits& limits,
                                              Clock::time_point deadline);
  // read_response_head reads a response head; `to_head_request` says the
  // request was HEAD (no body follows whatever the headers say).
  Task<Result<void, Error>> read_response_head(ResponseHead& head, bool to_head_request,
                                               const Limits& limits, Clock::time_point deadline);

  // next_body_chunk yields the next piece of the current message's body,
  // an empty span when it is complete, or an error. The view stays valid
  // until the next call.
  Task<Result<ConstBuffer, Error>> next_body_chunk();
  // next_buffered_body_chunk yields the next piece that needs no read from
  // the network: a piece, an empty span at the end of the body, nullopt when
  // the next piece is not here yet (or the body was never read). Its views
  // and the last one of next_body_chunk stay valid until that next read.
  Result<std::optional<ConstBuffer>, Error> next_buffered_body_chunk();

  // The body limit can be lowered once the route is known.
  void set_body_limit(std::uint64_t limit) noexcept { limits_.max_body = limit; }
  bool message_complete() const noexcept { return message_done_; }
  // Whether any byte of the next message arrived.
  bool message_started() const noexcept { return message_started_; }
  // Whether the connection may carry another message after this one.
  bool keep_alive() const noexcept { return llhttp_should_keep_alive(&parser_) != 0; }
  std::uint64_t offset() const noexcept { return offset_; }
  // Bytes received but not parsed yet (beyond the current pause point).
  std::size_t buffered() const noexcept { return unparsed_.size(); }

  // Each body chunk must arrive within this time (errc::request_timeout).
  std::chrono::milliseconds body_timeout{60'000};

  // before_first_body_read runs once, before the body is first read from
  // the network (for "Expect: 100-continue").
  std::function<Task<Result<void>>()> before_first_body_read;

 private:
  enum class Stop { head, chunk_or_end };

  Task<Result<void, Error>> parse_until(Stop stop, Clock::time_point deadline);
  // execute gives llhttp what was received (up to its next pause).
  Result<void, Error> execute();
  Error parse_error(llhttp_errno_t err) const;

  static int on_message_begin(llhttp_t* p);
  static int on_url(llhttp_t* p, const char* at, std::size_t len);
  static int on_status(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_field(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value(llhttp_t* p, const char* at, std::size_t len);
  static int on_header_value_complete(llhttp_t* p);
  static int on_headers_complete(llhttp_t* p);
  static int on_body(llhttp_t* p, const char* at, std::size_t len);
  static int on_message_complete(llhttp_t* p);
  static MessageReader& self(llhttp_t* p) noexcept { return *static_cast<MessageReader*>(p->data); }
  int count_head(std::size_t len) noexcept;

  ByteStream& stream_;
  llhttp_settings_t settings_{};
  llhttp_t parser_{};
  ConstBuffer unparsed_;  // received, not yet given to llhttp
  std::uint64_t offset_ = 0;

  Limits limits_;
  RequestHead* request_ = nullptr;
  ResponseHead* response_ = nullptr;
  bool to_head_request_ = false;
  std::string field_;
  std::string value_;
  bool in_value_ = false;
  std::size_t head_bytes_ = 0;
  bool head_done_ = false;
  bool message_done_ = true;
  bool message_started_ = false;
  bool body_read_started_ = false;
  ConstBuffer chunk_;
  bool chunk_ready_ = false;
  std::uint64_t body_bytes_ = 0;
  std::optional<Error> callback_error_;  // why a callback stopped the parser
};

}  // namespace cipherline::http::internal
