#include "cipherline/http/byte_stream.hpp"

namespace cipherline::http {

Task<Result<void>> ByteStream::write_one(ConstBuffer bytes) {
  const ConstBuffer buffers[] = {bytes};
  co_return co_await write(buffers);
}

std::chrono::milliseconds ByteStream::time_left(Clock::time_point deadline) noexcept {
  const auto left = deadline - Clock::now();
  if (left <= Clock::duration::zero()) return std::chrono::milliseconds::zero();
  return std::chrono::ceil<std::chrono::milliseconds>(left);
}

Task<Result<ConstBuffer>> TcpByteStream::read_before(Clock::time_point deadline) {
  if (deadline == kNoDeadline) co_return co_await stream_.read();
  co_return co_await stream_.read_for(time_left(deadline));
}

Task<Result<void>> TcpByteStream::write(std::span<const ConstBuffer> buffers) {
  co_return co_await stream_.write(buffers);
}

Task<Result<void>> TcpByteStream::shutdown() { co_return co_await stream_.shutdown(); }

}  // namespace cipherline::http
