// MemoryByteStream: a ByteStream over a fixed input, handed out in pieces of
// a given size, with everything written collected — for fuzzing the HTTP
// code without sockets.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "cipherline/http/byte_stream.hpp"

namespace cipherline::fuzzing {

class MemoryByteStream final : public http::ByteStream {
 public:
  MemoryByteStream(std::string_view input, std::size_t piece, std::string& output)
      : input_(input), piece_(std::max<std::size_t>(piece, 1)), output_(output) {}

  Task<Result<ConstBuffer>> read_before(Clock::time_point) override {
    if (closed_) co_return errc::stream_closed;
    if (pos_ >= input_.size()) co_return errc::end_of_stream;
    const std::size_t n = std::min(piece_, input_.size() - pos_);
    const ConstBuffer out = as_bytes(input_.substr(pos_, n));
    pos_ += n;
    co_return out;
  }
  Task<Result<void>> write(std::span<const ConstBuffer> buffers) override {
    if (closed_) co_return errc::stream_closed;
    for (ConstBuffer b : buffers) output_.append(as_string(b));
    co_return Result<void>{};
  }
  Task<Result<void>> shutdown() override { co_return Result<void>{}; }
  void close() noexcept override { closed_ = true; }
  bool is_open() const noexcept override { return !closed_; }
  bool at_rest() const noexcept override { return !closed_; }

 private:
  std::string_view input_;
  std::size_t pos_ = 0;
  std::size_t piece_;
  std::string& output_;
  bool closed_ = false;
};

}  // namespace cipherline::fuzzing
