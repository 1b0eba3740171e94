// ByteStream: a connected, bidirectional byte stream as the HTTP layer sees
// it — plain TCP, or TLS over TCP — so that the server, the client and SSE
// work the same over both.
//
// Contract (as TcpStream's, which it generalises):
// - read() yields the bytes received since the last read (at least one),
//   viewing memory of the stream that stays valid until the next read() or
//   close(); the peer's orderly end is errc::end_of_stream.
//   read_before(deadline) gives up with errc::timed_out at the deadline
//   without losing data; it is how the server and client bound their waits
//   on the hot path (a timer restart, no extra task).
// - write() completes when every byte of every buffer was handed to the
//   transport; buffers must stay valid until then. Cancelling a write closes
//   the stream.
// - Every operation honours the awaiting task's stop token.
// - One reader and one writer at a time; loop thread only.
#pragma once

#include <chrono>
#include <memory>
#include <span>

#include "cipherline/runtime/task.hpp"
#include "cipherline/runtime/tcp_stream.hpp"

namespace cipherline::http {

class ByteStream {
 public:
  ByteStream() = default;
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;
  virtual ~ByteStream() = default;

  using Clock = std::chrono::steady_clock;
  static constexpr Clock::time_point kNoDeadline = Clock::time_point::max();

  Task<Result<ConstBuffer>> read() { return read_before(kNoDeadline); }
  virtual Task<Result<ConstBuffer>> read_before(Clock::time_point deadline) = 0;
  virtual Task<Result<void>> write(std::span<const ConstBuffer> buffers) = 0;
  // shutdown ends the sending direction after queued data (TCP FIN; TLS
  // close_notify then FIN).
  virtual Task<Result<void>> shutdown() = 0;
  virtual void close() noexcept = 0;
  virtual bool is_open() const noexcept = 0;
  // at_rest: open with nothing unread, as an idle keep-alive connection
  // must be to be reused (see TcpStream::at_rest).
  virtual bool at_rest() const noexcept = 0;
  // trim: the last read's view is no longer used; buffers that only serve
  // the next read may be freed until it comes (TcpStream::release_buffer).
  virtual void trim() noexcept {}

  // time_left is what remains until `deadline`, rounded up to whole
  // milliseconds (never negative).
  static std::chrono::milliseconds time_left(Clock::time_point deadline) noexcept;

  // write_one writes a single buffer.
  Task<Result<void>> write_one(ConstBuffer bytes);
};

// TcpByteStream: ByteStream over a plain TcpStream.
class TcpByteStream final : public ByteStream {
 public:
  explicit TcpByteStream(TcpStream stream) noexcept : stream_(std::move(stream)) {}

  Task<Result<ConstBuffer>> read_before(Clock::time_point deadline) override;
  Task<Result<void>> write(std::span<const ConstBuffer> buffers) override;
  Task<Result<void>> shutdown() override;
  void close() noexcept override { stream_.close(); }
  bool is_open() const noexcept override { return stream_.is_open(); }
  bool at_rest() const noexcept override { return stream_.at_rest(); }
  void trim() noexcept override { stream_.release_buffer(); }

  TcpStream& tcp() noexcept { return stream_; }

 private:
  TcpStream stream_;
};

}  // namespace cipherline::http
