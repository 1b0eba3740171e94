#include "cipherline/http/byte_stream.hpp"

namespace cipherline::http {

Task<Result<void>> ByteStream::write_one(ConstBuffer bytes) {
  const ConstBuffer buffers[] = {bytes};
  co_return co_await write(buffers);
}

Task<Result<ConstBuffer>> TcpByteStream::read() { co_return co_await stream_.read(); }

Task<Result<void>> TcpByteStream::write(std::span<const ConstBuffer> buffers) {
  co_return co_await stream_.write(buffers);
}

Task<Result<void>> TcpByteStream::shutdown() { co_return co_await stream_.shutdown(); }

}  // namespace cipherline::http
