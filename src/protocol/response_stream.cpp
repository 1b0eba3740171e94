#include "cipherline/protocol/response_stream.hpp"

#include <algorithm>

#include "cipherline/crypto/error.hpp"
#include "cipherline/protocol/event_fields.hpp"
#include "cipherline/protocol/unstructured_cipher.hpp"

namespace cipherline::protocol {

using crypto::errc;

namespace {

// The end of an Anthropic messages stream, which has no [DONE].
bool ends_stream(Route route, std::string_view type, std::string_view data) {
  return is_done_event(data) || (route == Route::messages && type == "message_stop");
}

// Events whose payload has no field to seal (Anthropic's {"type":…} alone).
bool may_be_plain(Route route, std::string_view type) {
  return route == Route::messages && (type == "message_stop" || type == "ping");
}

}  // namespace

ResponseStream::ResponseStream(Route route, bool event_stream,
                               std::unique_ptr<RequestCipher> cipher, ResponseLimits limits)
    : route_(route),
      event_stream_(event_stream),
      limits_(limits),
      cipher_(std::move(cipher)),
      open_([c = cipher_.get()](std::string_view field, std::string& out) {
        return c->open(field, out);
      }),
      plain_(plain_response_fields(route)),
      sse_({.max_event_size = limits.max_event}),
      frames_(limits.max_frame) {}

ResponseStream::ResponseStream(Route route, bool event_stream, crypto::OaeOpener opener,
                               ResponseLimits limits)
    : route_(route),
      event_stream_(event_stream),
      limits_(limits),
      sse_({.max_event_size = limits.max_event}),
      oae_(std::move(opener)),
      // A stream's messages are events: no frame needs to be larger.
      frames_(event_stream ? std::min(limits.max_frame, limits.max_event + crypto::kOaeOverhead)
                           : limits.max_frame) {}

ResponseStream::ResponseStream(ResponseStream&&) noexcept = default;
ResponseStream& ResponseStream::operator=(ResponseStream&&) noexcept = default;
ResponseStream::~ResponseStream() = default;

void ResponseStream::consume() noexcept {
  output_.clear();
  spans_.clear();
  events_.clear();
}

Result<void, Error> ResponseStream::fail(Error e) {
  failure_ = e;
  publish_events();
  return e;
}

void ResponseStream::publish_events() {
  events_.clear();
  const std::string_view out = output_;
  for (const auto& s : spans_) {
    events_.push_back(
        {s.type_size == 0 ? std::string_view("message") : out.substr(s.type_at, s.type_size),
         out.substr(s.data_at, s.data_size)});
  }
}

Result<void, Error> ResponseStream::feed(std::span<const std::byte> chunk) {
  if (failure_) return *failure_;
  if (finished_) return fail(Error(errc::cipher_state, "input after the end of the response"));
  Result<void, Error> r;
  if (oae_) {
    r = feed_oae(chunk);
  } else if (event_stream_) {
    r = feed_fields_events(chunk);
  } else if (raw_.size() + chunk.size() > limits_.max_body) {
    return fail(Error(errc::malformed_message, "the response body is larger than " +
                                                   std::to_string(limits_.max_body) + " bytes"));
  } else {
    raw_.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  }
  if (!r) return r;
  publish_events();
  return {};
}

Result<void, Error> ResponseStream::feed_fields_events(std::span<const std::byte> chunk) {
  if (ended_) return {};  // whatever follows [DONE] is not the server's
  sse_.feed(chunk);
  while (true) {
    auto event = sse_.next();
    if (!event)
      return fail(Error(event.error().code(), "the event stream: " + event.error().message()));
    if (!*event) return {};
    const auto& e = **event;
    const std::size_t start = output_.size();
    Span span{};
    if (e.type != "message") {
      output_ += "event: ";
      span.type_at = output_.size();
      span.type_size = e.type.size();
      output_ += e.type;
      output_ += '\n';
    }
    output_ += "data: ";
    span.data_at = output_.size();
    if (is_done_event(e.data)) {
      output_ += e.data;
    } else {
      const std::uint32_t before = cipher_->opened();
      auto opened = open_event_data(e.data, plain_, open_, output_);
      // An event with nothing sealed in it authenticates nothing: only the
      // protocol's content-free events may be so.
      if (opened && cipher_->opened() == before && !may_be_plain(route_, e.type)) {
        opened = Error(errc::authentication_failed, "it has no encrypted field");
      }
      if (!opened) {
        output_.resize(start);
        return fail(Error(
            opened.error().code(),
            "decrypting event " + std::to_string(spans_.size()) + ": " + opened.error().message()));
      }
    }
    span.data_size = output_.size() - span.data_at;
    output_ += "\n\n";
    spans_.push_back(span);
    if (ends_stream(route_, e.type, e.data)) {
      ended_ = true;
      return {};
    }
  }
}

Result<void, Error> ResponseStream::feed_oae(std::span<const std::byte> chunk) {
  frames_.feed(chunk);
  while (true) {
    auto message = frames_.next();
    if (!message) return fail(message.error());
    if (!*message) return {};
    const std::size_t start = output_.size();
    if (!event_stream_ && start + (*message)->size() > limits_.max_body) {
      return fail(Error(errc::malformed_message, "the response body is larger than " +
                                                     std::to_string(limits_.max_body) + " bytes"));
    }
    if (auto opened = oae_->open(**message, output_); !opened) return fail(opened.error());
    ended_ = oae_->complete();
    if (event_stream_ && output_.size() > start) {
      if (auto r = index_oae_event(start); !r) {
        output_.resize(start);
        return fail(r.error());
      }
    }
  }
}

// One OAE message of a stream holds one SSE event, as written by
// seal_event's framing: optional "event: <type>\n", one "data: <payload>\n",
// then a blank line.
Result<void, Error> ResponseStream::index_oae_event(std::size_t from) {
  const std::string_view text = std::string_view(output_).substr(from);
  const auto bad = [&](const char* why) {
    return Error(errc::malformed_message,
                 "message " + std::to_string(oae_->opened() - 1) + " is not one SSE event: " + why);
  };
  if (!text.ends_with("\n\n")) return bad("it does not end with a blank line");
  Span span{};
  bool has_data = false;
  std::size_t at = 0;
  while (at < text.size() - 1) {
    const std::size_t end = text.find('\n', at);
    const std::string_view line = text.substr(at, end - at);
    if (line.starts_with("event: ") && !has_data && span.type_size == 0) {
      span.type_at = from + at + 7;
      span.type_size = line.size() - 7;
    } else if (line.starts_with("data: ") && !has_data) {
      span.data_at = from + at + 6;
      span.data_size = line.size() - 6;
      has_data = true;
    } else if (line.starts_with("data:") && has_data) {
      return bad("it has several data lines");
    } else if (!line.empty() && !line.starts_with(":")) {
      return bad("a line that is neither event nor data");
    }
    at = end + 1;
  }
  if (!has_data) return bad("it has no data line");
  spans_.push_back(span);
  return {};
}

Result<void, Error> ResponseStream::finish() {
  if (failure_) return *failure_;
  if (finished_) return {};
  finished_ = true;
  if (oae_) {
    if (frames_.partial()) {
      return fail(Error(errc::stream_truncated, "the response ended inside a frame"));
    }
    if (auto r = oae_->finish(); !r) return fail(r.error());
    return {};
  }
  if (event_stream_) {
    if (!ended_) {
      return fail(Error(errc::stream_truncated, route_ == Route::messages
                                                    ? "the event stream ended before message_stop"
                                                    : "the event stream ended before [DONE]"));
    }
    return {};
  }
  const std::uint32_t before = cipher_->opened();
  // Unstructured answers are arrays of sealed elements (spec §5.6).
  auto r = route_ == Route::unstructured ? open_json_values(raw_, open_, output_)
                                         : open_json_fields(raw_, plain_, open_, output_);
  if (r && cipher_->opened() == before) {
    r = Error(errc::authentication_failed, "it has no encrypted field");
  }
  if (!r) {
    output_.clear();
    return fail(Error(r.error().code(), "decrypting the response: " + r.error().message()));
  }
  raw_.clear();
  raw_.shrink_to_fit();
  return {};
}

}  // namespace cipherline::protocol
