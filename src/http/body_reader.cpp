#include "cipherline/http/body_reader.hpp"

#include "cipherline/http/error.hpp"
#include "message_reader.hpp"

namespace cipherline::http {

Task<Result<ConstBuffer, Error>> BodyReader::next() {
  co_return co_await reader_->next_body_chunk();
}

namespace {

// A burst gathers pieces up to about this size; a scratch buffer that grew
// past it (a peer's one read of tiny chunks) is not kept between bursts.
constexpr std::size_t kBurst = 16 * 1024;

}  // namespace

Task<Result<std::string_view, Error>> BodyReader::next_burst(std::string& scratch) {
  if (scratch.capacity() > kBurst) std::string().swap(scratch);  // the last view is done with
  scratch.clear();
  auto first = co_await reader_->next_body_chunk();
  if (!first) co_return first.error();
  const std::string_view one = as_string(*first);
  while (!one.empty() && scratch.size() < kBurst) {
    auto more = reader_->next_buffered_body_chunk();
    // Not here yet, the end, or an error: the next call says which, after
    // what arrived before it was passed on (the parser keeps an error).
    if (!more || !*more || (*more)->empty()) break;
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
