#include "cipherline/http/body_reader.hpp"

#include "cipherline/http/error.hpp"
#include "message_reader.hpp"

namespace cipherline::http {

Task<Result<ConstBuffer, Error>> BodyReader::next() {
  co_return co_await reader_->next_body_chunk();
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
