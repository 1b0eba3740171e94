// ResponseStream: the client's end of one encrypted response, in either wire
// format — v1.40 fields (JSON bodies or SSE events whose non-plain fields are
// sealed) or OAE (frames of sealed messages, see oae_carriage.hpp). It is the
// one place a response is framed and opened: the proxy writes output() once
// per upstream read, and the in-process Client and batch read events() as
// views, so nothing re-parses text another layer produced.
//
//   ResponseStream stream(route, /*event_stream=*/true, std::move(opener));
//   while (auto chunk = co_await body.next()) {
//     if (chunk->empty()) { check(stream.finish()); break; }
//     check(stream.feed(*chunk));
//     write(stream.output());             // every complete event, in SSE wire form
//     for (auto& e : stream.events()) …   // e.type, e.data: views into output()
//     stream.consume();
//   }
//
// Contract:
// - Event streams: feed() opens every complete event of the bytes it is
//   given and appends it to output() in wire form ("event: t\n" unless the
//   type is "message", "data: …\n\n"). The stream's end is its own: [DONE]
//   (or Anthropic's message_stop) for fields, the final message for OAE;
//   after it, ended() is true and a fields stream ignores what follows
//   (plaintext an attacker could append) while an OAE stream fails with
//   stream_closed. finish() at end of input is crypto::errc::stream_truncated
//   unless the end was seen: a cut stream is never a complete answer.
// - Bodies (not an event stream): feed() collects (fields) or opens (OAE)
//   what arrives; finish() opens the rest and leaves the whole plaintext body
//   in output(); events() stays empty.
// - Fields format: a body or event in which no field was sealed is
//   authentication_failed (it authenticates nothing), except Anthropic's
//   content-free message_stop and ping. OAE: a stream's frames are bounded
//   by max_event, a body's plaintext by max_body.
// - Errors are sticky and name the failure (authentication_failed,
//   malformed_message, stream_truncated, stream_closed, invalid_json, or the
//   SSE reader's); output() never holds unauthenticated bytes — the events
//   before a failure stay, the failing one is not appended.
// - Views from output() and events() are valid until the next feed(),
//   finish() or consume(). consume() empties both and keeps their capacity:
//   in steady state a stream allocates nothing per event.
// - One stream per response, used by one task at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/crypto/oae.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "cipherline/protocol/json_fields.hpp"
#include "cipherline/protocol/oae_carriage.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::protocol {

// One opened event: views into the stream's output().
struct StreamEvent {
  std::string_view type;  // "message" unless the event named another
  std::string_view data;  // the data payload (decrypted JSON, or [DONE])
  bool is_done() const noexcept { return is_done_event(data); }
  bool is_error() const noexcept { return type == "error"; }
};

struct ResponseLimits {
  std::size_t max_body = 128 * 1024 * 1024;  // a whole (non-stream) body
  std::size_t max_event = std::size_t{1} << 20;
  std::size_t max_frame = kDefaultMaxOaeFrame;
};

class ResponseStream {
 public:
  // Fields format: `cipher` is the request's; it opens the response fields.
  ResponseStream(Route route, bool event_stream, std::unique_ptr<RequestCipher> cipher,
                 ResponseLimits limits = {});
  // OAE: `opener` is the response stream's.
  ResponseStream(Route route, bool event_stream, crypto::OaeOpener opener,
                 ResponseLimits limits = {});
  ResponseStream(ResponseStream&&) noexcept;
  ResponseStream& operator=(ResponseStream&&) noexcept;
  ~ResponseStream();

  Result<void, Error> feed(std::span<const std::byte> chunk);
  Result<void, Error> feed(std::string_view chunk) { return feed(std::as_bytes(std::span(chunk))); }
  Result<void, Error> finish();

  std::string_view output() const noexcept { return output_; }
  std::span<const StreamEvent> events() const noexcept { return events_; }
  void consume() noexcept;

  WireFormat format() const noexcept { return oae_ ? WireFormat::oae : WireFormat::fields; }
  bool event_stream() const noexcept { return event_stream_; }
  // Whether the stream's own end ([DONE], message_stop, the final message)
  // has been opened.
  bool ended() const noexcept { return ended_; }

 private:
  struct Span {
    std::size_t type_at, type_size, data_at, data_size;
  };
  Result<void, Error> fail(Error e);
  Result<void, Error> feed_fields_events(std::span<const std::byte> chunk);
  Result<void, Error> feed_oae(std::span<const std::byte> chunk);
  Result<void, Error> index_oae_event(std::size_t from);
  void publish_events();

  Route route_;
  bool event_stream_;
  ResponseLimits limits_;
  // Fields format.
  std::unique_ptr<RequestCipher> cipher_;
  FieldTransform open_;
  PlainFields plain_;
  http::SseReader sse_;
  std::string raw_;  // a fields body, collected until finish()
  // OAE.
  std::optional<crypto::OaeOpener> oae_;
  FrameReader frames_;

  std::string output_;
  std::vector<Span> spans_;
  std::vector<StreamEvent> events_;
  std::optional<Error> failure_;
  bool ended_ = false;
  bool finished_ = false;
};

}  // namespace cipherline::protocol
