#include "cipherline/http/response_writer.hpp"

#include <charconv>

#include "cipherline/http/error.hpp"
#include "cipherline/http/message.hpp"

namespace cipherline::http {

bool ResponseWriter::has_body() const noexcept {
  return !head_request_ && status_ >= 200 && status_ != 204 && status_ != 304;
}

std::string ResponseWriter::head(int status, const Headers& headers,
                                 std::optional<std::uint64_t> length) {
  status_ = status;
  if (closing_ != nullptr && *closing_) keep_alive_ = false;
  std::string out;
  out.reserve(128 + headers.size() * 48);
  out += "HTTP/1.1 ";
  out += std::to_string(status);
  out += ' ';
  out += reason_phrase(status);
  out += "\r\n";
  for (const auto& [name, value] : headers.fields()) {
    if (header_name_equals(name, "Content-Length") ||
        header_name_equals(name, "Transfer-Encoding") || header_name_equals(name, "Connection")) {
      continue;  // framing is the writer's
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  const bool bodiless_status = status < 200 || status == 204 || status == 304;
  if (length) {
    declared_length_ = length;
    if (!bodiless_status) out += "Content-Length: " + std::to_string(*length) + "\r\n";
  } else if (!bodiless_status) {
    chunked_ = true;
    out += "Transfer-Encoding: chunked\r\n";
  }
  if (!keep_alive_) out += "Connection: close\r\n";
  out += "\r\n";
  return out;
}

Task<Result<void>> ResponseWriter::respond(int status, Headers headers, std::string_view body) {
  if (started_) co_return errc::response_state;
  started_ = true;
  const std::string h = head(status, headers, body.size());
  finished_ = true;
  written_ = body.size();
  const ConstBuffer parts[] = {as_bytes(h), as_bytes(body)};
  co_return co_await stream_.write(std::span(parts).first(has_body() && !body.empty() ? 2 : 1));
}

Task<Result<void>> ResponseWriter::start(int status, Headers headers) {
  if (started_) co_return errc::response_state;
  started_ = true;
  std::optional<std::uint64_t> length;
  if (auto value = headers.get("Content-Length")) {
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
    if (ec != std::errc{} || end != value->data() + value->size()) {
      throw std::invalid_argument("invalid Content-Length '" + std::string(*value) + "'");
    }
    length = n;
  }
  const std::string h = head(status, headers, length);
  co_return co_await stream_.write_one(as_bytes(h));
}

Task<Result<void>> ResponseWriter::write(ConstBuffer bytes) {
  if (!started_ || finished_) co_return errc::response_state;
  if (bytes.empty() || !has_body()) co_return Result<void>{};
  if (!chunked_) {
    if (declared_length_ && written_ + bytes.size() > *declared_length_) {
      co_return errc::response_state;
    }
    written_ += bytes.size();
    co_return co_await stream_.write_one(bytes);
  }
  char size_line[24];
  auto [end, ec] = std::to_chars(size_line, size_line + 16, bytes.size(), 16);
  (void)ec;
  *end++ = '\r';
  *end++ = '\n';
  written_ += bytes.size();
  const ConstBuffer parts[] = {ConstBuffer(reinterpret_cast<const std::byte*>(size_line),
                                           static_cast<std::size_t>(end - size_line)),
                               bytes, as_bytes("\r\n")};
  co_return co_await stream_.write(parts);
}

Task<Result<void>> ResponseWriter::finish() {
  if (!started_ || finished_) co_return errc::response_state;
  finished_ = true;
  if (!has_body()) co_return Result<void>{};
  if (chunked_) co_return co_await stream_.write_one(as_bytes("0\r\n\r\n"));
  if (declared_length_ && written_ != *declared_length_) keep_alive_ = false;  // framing broken
  co_return Result<void>{};
}

}  // namespace cipherline::http
