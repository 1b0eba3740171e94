#include "message_reader.hpp"

namespace cipherline::http::internal {

MessageReader::MessageReader(ByteStream& stream, llhttp_type_t type) : stream_(stream) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = &MessageReader::on_message_begin;
  settings_.on_url = &MessageReader::on_url;
  settings_.on_status = &MessageReader::on_status;
  settings_.on_header_field = &MessageReader::on_header_field;
  settings_.on_header_value = &MessageReader::on_header_value;
  settings_.on_header_value_complete = &MessageReader::on_header_value_complete;
  settings_.on_headers_complete = &MessageReader::on_headers_complete;
  settings_.on_body = &MessageReader::on_body;
  settings_.on_message_complete = &MessageReader::on_message_complete;
  llhttp_init(&parser_, type, &settings_);
  parser_.data = this;
}

Task<Result<void, Error>> MessageReader::read_request_head(RequestHead& head, const Limits& limits,
                                                           Clock::time_point deadline) {
  head = RequestHead{};
  head_done_ = false;
  request_ = &head;
  response_ = nullptr;
  limits_ = limits;
  co_return co_await parse_until(Stop::head, deadline);
}

Task<Result<void, Error>> MessageReader::read_response_head(ResponseHead& head,
                                                            bool to_head_request,
                                                            const Limits& limits,
                                                            Clock::time_point deadline) {
  head = ResponseHead{};
  head_done_ = false;
  response_ = &head;
  request_ = nullptr;
  to_head_request_ = to_head_request;
  limits_ = limits;
  co_return co_await parse_until(Stop::head, deadline);
}

Task<Result<ConstBuffer, Error>> MessageReader::next_body_chunk() {
  chunk_ready_ = false;
  if (message_done_) {
    // No view of this message is in use any more: a connection that now
    // waits (a server streaming its answer) holds no read buffer meanwhile.
    if (unparsed_.empty()) stream_.trim();
    co_return ConstBuffer{};
  }
  if (!body_read_started_) {
    body_read_started_ = true;
    if (before_first_body_read && unparsed_.empty()) {
      if (auto r = co_await before_first_body_read(); !r) co_return Error(r.error());
    }
  }
  auto parsed = co_await parse_until(Stop::chunk_or_end, Clock::now() + body_timeout);
  if (!parsed) {
    if (parsed.error() == cipherline::errc::timed_out) {
      co_return Error(errc::request_timeout,
                      "no body data for " + std::to_string(body_timeout.count()) + " ms");
    }
    co_return parsed.error();
  }
  if (chunk_ready_) co_return chunk_;
  if (unparsed_.empty()) stream_.trim();
  co_return ConstBuffer{};
}

Task<Result<void, Error>> MessageReader::parse_until(Stop stop, Clock::time_point deadline) {
  // Before waiting for input, let llhttp take the steps that need none (a
  // message without a body completes right after its head).
  bool tried_without_input = false;
  while (true) {
    if (stop == Stop::head ? head_done_ : (chunk_ready_ || message_done_))
      co_return Result<void, Error>{};
    if (unparsed_.empty() && tried_without_input) {
      auto bytes = co_await stream_.read_before(deadline);
      if (!bytes) {
        if (bytes.error() == cipherline::errc::timed_out) co_return Error(bytes.error());
        if (bytes.error() != cipherline::errc::end_of_stream) {
          co_return Error(bytes.error(), "reading the HTTP message: " + bytes.error().message());
        }
        if (!message_started_) co_return Error(cipherline::errc::end_of_stream);
        const llhttp_errno_t finished = llhttp_finish(&parser_);
        if ((finished == HPE_OK || finished == HPE_PAUSED) && message_done_) continue;
        co_return Error(errc::incomplete_message,
                        "connection closed " + std::to_string(offset_) +
                            " bytes in, before the HTTP message was complete");
      }
      unparsed_ = *bytes;
    }
    tried_without_input = true;
    if (auto r = execute(); !r) co_return r.error();
  }
}

Result<std::optional<ConstBuffer>, Error> MessageReader::next_buffered_body_chunk() {
  if (message_done_) return ConstBuffer{};
  if (!body_read_started_) return std::nullopt;  // the first read is next_body_chunk's
  chunk_ready_ = false;
  while (!chunk_ready_ && !message_done_ && !unparsed_.empty()) {
    if (auto r = execute(); !r) return r.error();
  }
  if (chunk_ready_) return chunk_;
  if (message_done_) return ConstBuffer{};
  return std::nullopt;
}

Result<void, Error> MessageReader::execute() {
  static const char kNothing = 0;
  const char* data =
      unparsed_.empty() ? &kNothing : reinterpret_cast<const char*>(unparsed_.data());
  const llhttp_errno_t err = llhttp_execute(&parser_, data, unparsed_.size());
  std::size_t consumed = unparsed_.size();
  if (err == HPE_PAUSED) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
    llhttp_resume(&parser_);
  } else if (err == HPE_PAUSED_UPGRADE) {
    consumed = static_cast<std::size_t>(llhttp_get_error_pos(&parser_) - data);
    llhttp_resume_after_upgrade(&parser_);
  } else if (err != HPE_OK) {
    return parse_error(err);
  }
  if (!unparsed_.empty()) unparsed_ = unparsed_.subspan(consumed);
  offset_ += consumed;
  return {};
}

Error MessageReader::parse_error(llhttp_errno_t err) const {
  if (callback_error_) return *callback_error_;
  const char* reason = llhttp_get_error_reason(&parser_);
  return Error(errc::malformed_message,
               std::string("malformed HTTP message near byte ") + std::to_string(offset_) + ": " +
                   (reason != nullptr && *reason != '\0' ? reason : llhttp_errno_name(err)));
}

int MessageReader::count_head(std::size_t len) noexcept {
  head_bytes_ += len;
  if (head_bytes_ <= limits_.max_head) return 0;
  callback_error_ =
      Error(errc::header_too_large,
            "message head larger than the " + std::to_string(limits_.max_head) + "-byte limit");
  return -1;
}

int MessageReader::on_message_begin(llhttp_t* p) {
  MessageReader& r = self(p);
  r.message_started_ = true;
  r.message_done_ = false;
  r.head_done_ = false;
  r.body_read_started_ = false;
  r.head_bytes_ = 0;
  r.body_bytes_ = 0;
  r.field_.clear();
  r.value_.clear();
  r.in_value_ = false;
  r.callback_error_.reset();
  return 0;
}

int MessageReader::on_url(llhttp_t* p, const char* at, std::size_t len) {
  MessageReader& r = self(p);
  if (r.request_ == nullptr) return 0;
  if (r.request_->target.size() + len > r.limits_.max_target) {
    r.callback_error_ =
        Error(errc::uri_too_long,
              "request target longer than " + std::to_string(r.limits_.max_target) + " bytes");
    return -1;
  }
  r.request_->target.append(at, len);
  return r.count_head(len);
}

int MessageReader::on_status(llhttp_t* p, const char* at, std::size_t len) {
  MessageReader& r = self(p);
  if (r.response_ != nullptr) r.response_->reason.append(at, len);
  return r.count_head(len);
}

int MessageReader::on_header_field(llhttp_t* p, const char* at, std::size_t len) {
  MessageReader& r = self(p);
  if (r.in_value_) {
    r.field_.clear();
    r.value_.clear();
    r.in_value_ = false;
  }
  r.field_.append(at, len);
  return r.count_head(len);
}

int MessageReader::on_header_value(llhttp_t* p, const char* at, std::size_t len) {
  MessageReader& r = self(p);
  r.in_value_ = true;
  r.value_.append(at, len);
  return r.count_head(len);
}

int MessageReader::on_header_value_complete(llhttp_t* p) {
  MessageReader& r = self(p);
  Headers& h = r.request_ != nullptr ? r.request_->headers : r.response_->headers;
  h.append_unchecked(std::move(r.field_), std::move(r.value_));
  r.field_.clear();
  r.value_.clear();
  r.in_value_ = false;
  return 0;
}

int MessageReader::on_headers_complete(llhttp_t* p) {
  MessageReader& r = self(p);
  r.head_done_ = true;
  const bool chunked = (p->flags & F_CHUNKED) != 0;
  std::optional<std::uint64_t> length;
  if ((p->flags & F_CONTENT_LENGTH) != 0) length = p->content_length;
  const bool keep_alive = llhttp_should_keep_alive(p) != 0;
  if (r.request_ != nullptr) {
    RequestHead& h = *r.request_;
    h.method = llhttp_method_name(static_cast<llhttp_method_t>(p->method));
    h.version_major = p->http_major;
    h.version_minor = p->http_minor;
    h.keep_alive = keep_alive;
    h.content_length = length;
    h.chunked = chunked;
  } else {
    ResponseHead& h = *r.response_;
    h.status = p->status_code;
    h.version_major = p->http_major;
    h.version_minor = p->http_minor;
    h.keep_alive = keep_alive;
    h.content_length = length;
    h.chunked = chunked;
    // A response to HEAD has no body whatever its headers say; llhttp is
    // told so by the return value, and the message completes at once.
    if (r.to_head_request_) return 1;
  }
  return HPE_PAUSED;
}

int MessageReader::on_body(llhttp_t* p, const char* at, std::size_t len) {
  if (len == 0) return 0;  // an empty span flushed at the end of the input
  MessageReader& r = self(p);
  r.body_bytes_ += len;
  if (r.body_bytes_ > r.limits_.max_body) {
    r.callback_error_ =
        Error(errc::body_too_large,
              "body larger than the " + std::to_string(r.limits_.max_body) + "-byte limit");
    return -1;
  }
  r.chunk_ = ConstBuffer(reinterpret_cast<const std::byte*>(at), len);
  r.chunk_ready_ = true;
  return HPE_PAUSED;
}

int MessageReader::on_message_complete(llhttp_t* p) {
  MessageReader& r = self(p);
  r.message_done_ = true;
  r.message_started_ = false;
  return HPE_PAUSED;
}

}  // namespace cipherline::http::internal
