#include "cipherline/http/body_reader.hpp"

#include "cipherline/http/error.hpp"
#include "message_reader.hpp"

namespace cipherline::http {

Task<Result<ConstBuffer, Error>> BodyReader::next() {
  co_return co_await reader_->next_body_chunk();
}

Task<Result<std::string_view, Error>> BodyReader::next_burst(std::string& scratch) {
  auto first = co_await reader_->next_body_chunk();
  if (!first) co_return first.error();
  const std::string_view one = as_string(*first);
  scratch.clear();
  while (!one.empty()) {
    auto more = reader_->next_buffered_body_chunk();
    if (!more) co_return more.error();
    if (!*more || (*more)->empty()) break;  // not here yet, or the end (the next call says so)
    if (scratch.empty()) scratch.assign(one);
    scratch.append(as_string(**more));
  }
  co_return scratch.empty() ? one : std::string_view(scratch);
}

Task<Result<std::string, Error>> BodyReader::read_all(std::size_t limit) {
  std::string out;
  while (true) {
    auto chunk = co_await reader_->next_body_chunk();
    if (!chunk) co_return chunk.error();
    if (chunk->empty()) co_return out;
    if (out.size() + chunk->size() > limit) {
      co_return Error(errc::body_too_large,
                      "body larger than the " + std::to_string(limit) + "-byte limit");
    }
    out.append(as_string(*chunk));
  }
}

bool BodyReader::complete() const noexcept { return reader_->message_complete(); }

}  // namespace cipherline::http
