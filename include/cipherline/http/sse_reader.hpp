// SseReader: an incremental, zero-copy parser for Server-Sent Events
// (text/event-stream), following the "interpreting an event stream" rules of
// the WHATWG HTML standard. No I/O: bytes go in with feed(), events come out
// of next().
//
//   SseReader reader;
//   while (true) {
//     auto bytes = co_await stream.read();
//     if (!bytes) break;                // end of stream: an unfinished event is dropped
//     reader.feed(*bytes);
//     while (true) {
//       auto ev = reader.next();
//       if (!ev) co_return ev.error();  // http::errc::sse_event_too_large
//       if (!*ev) break;                // needs more bytes
//       handle((*ev)->type, (*ev)->data);
//     }
//   }
//
// Contract:
// - Format: lines end in CRLF, LF or CR, however the stream is split (a CR at
//   the end of one feed and an LF at the start of the next are one line end).
//   One UTF-8 byte order mark at the very start of the stream is skipped.
//   ':' starts a comment; "name:value" loses one space after the colon; a line
//   without a colon is a field with an empty value. `event` sets the type,
//   `data` appends a line, `id` sets the last event ID (ignored if it contains
//   NUL), `retry` sets the reconnection time (ignored unless it is one or more
//   ASCII digits that fit in 64 bits); other fields are ignored. A blank line
//   dispatches the event if it has any `data` line; the type defaults to
//   "message". An event not followed by its blank line is never dispatched.
// - Bytes, not text: the reader does not decode UTF-8. Where a browser would
//   replace invalid sequences with U+FFFD, the bytes are passed through as
//   they came; field names match byte for byte, case-sensitively.
// - Lifetimes (the rules a caller must follow):
//   * feed() does not copy: the bytes it is given must stay valid and
//     unchanged until next() returns std::nullopt or an error (by then the
//     reader has copied any unfinished line it still needs), or until the
//     next feed() returns (which copies whatever next() had not reached yet).
//     The loop above always satisfies this.
//   * The views in a returned SseEvent (type, data, last_event_id) stay valid
//     until the next call to feed() or next() on this reader, or its
//     destruction — whichever comes first. Copy what must live longer.
// - Zero copy: when an event has a single `data` line lying wholly inside the
//   bytes of the current feed(), `data` points into those bytes. Otherwise
//   (several lines, or a line split across feeds) the data is assembled in a
//   buffer the reader owns and reuses; in steady state no event allocates.
// - Limit and errors: the lines of one event — everything after the previous
//   blank line up to the line being read, comments included, line ends not
//   counted — may total at most Options::max_event_size bytes. Beyond that,
//   next() fails with http::errc::sse_event_too_large; the detail names the
//   limit and the stream offset where the event started. Lines are counted
//   as they arrive, so the reader never holds more than about that many bytes
//   of an event, and never truncates one. An error is sticky: the reader
//   releases its buffers, ignores further input, and every later next()
//   returns the same error. Bytes of several events given to feed() but not
//   yet read by next() are not counted against the limit: drain with next()
//   before feeding more, as the loop above does, to keep memory bounded.
// - `last_event_id` and `retry` describe the stream, not one event: they are
//   the last event ID (as of the blank line that dispatched the event) and
//   the reconnection time in milliseconds most recently set, which persist
//   across events until the stream sets them again.
// - Thread affinity: none; a reader is one stream's state and is not shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cipherline/http/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::http {

struct SseEvent {
  std::string_view type;               // "message" unless an `event` field set another
  std::string_view data;               // the `data` lines joined by LF
  std::string_view last_event_id;      // empty until the stream sets one
  std::optional<std::uint64_t> retry;  // reconnection time in ms, once the stream set one
};

class SseReader {
 public:
  struct Options {
    std::size_t max_event_size = std::size_t{1} << 20;
  };

  SseReader() : SseReader(Options{}) {}
  explicit SseReader(Options options) noexcept;

  // feed hands over the next bytes of the stream, split anywhere (down to
  // one byte per call). See the lifetime rules above.
  void feed(std::span<const std::byte> bytes);
  void feed(std::string_view bytes);

  // next returns the next complete event, std::nullopt when more bytes are
  // needed, or the (sticky) error.
  Result<std::optional<SseEvent>, Error> next();

  // The last event ID as of the most recent blank line, and the reconnection
  // time in milliseconds most recently set, for a caller that reconnects
  // (these change even when no event is dispatched).
  std::string_view last_event_id() const noexcept { return last_event_id_; }
  std::optional<std::uint64_t> retry() const noexcept { return retry_; }

 private:
  bool take_line(std::string_view& line, bool& in_input);
  const char* find_line_end_in_input() noexcept;
  bool fits(std::size_t line_bytes) const noexcept;
  void fail(std::uint64_t event_offset);
  void process_field(std::string_view line, bool in_input);
  bool end_of_block();
  void start_event() noexcept;
  SseEvent event() const noexcept;

  Options options_;

  // Input not yet read: `pending_` (owned bytes from `pending_pos_`: an
  // unfinished line, or what an earlier feed left unread) comes before
  // `input_` (the caller's bytes of the latest feed).
  std::string_view input_;
  std::string pending_;
  std::size_t pending_pos_ = 0;
  std::size_t pending_scanned_ = 0;  // no line end in pending_[pending_pos_, this)
  // Where the next CR and LF lie in `input_`, so that a line end is found in
  // linear time however the stream mixes them (null: not searched yet).
  const char* next_cr_ = nullptr;
  const char* next_lf_ = nullptr;
  bool skip_lf_ = false;  // the last line ended in CR: a following LF is part of it
  std::uint8_t bom_matched_ = 0;
  bool at_stream_start_ = true;

  // Stream offsets, for the error detail.
  std::uint64_t offset_ = 0;       // of the next line's first byte
  std::uint64_t line_offset_ = 0;  // of the line last taken
  std::uint64_t event_offset_ = 0;
  std::size_t event_bytes_ = 0;  // lines of the current event so far

  // The event being built. A single data line inside `input_` stays a view
  // (`data_view_`); anything else is copied into `data_`.
  std::string_view data_view_;
  std::string data_;
  std::size_t data_lines_ = 0;
  bool data_owned_ = false;
  std::string type_;
  bool dispatched_ = false;  // an event was returned; reset before reading on

  std::string id_buffer_;
  bool id_changed_ = false;
  std::string last_event_id_;
  std::optional<std::uint64_t> retry_;

  std::optional<Error> error_;
};

}  // namespace cipherline::http
