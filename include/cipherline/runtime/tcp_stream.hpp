// TcpStream: a connected TCP socket with pull-style buffered reads.
//
//   auto stream = (co_await TcpStream::connect(addr)).value();
//   co_await stream.write(as_bytes(request));
//   while (true) {
//     auto bytes = co_await stream.read();
//     if (!bytes) break;                 // end_of_stream, reset, cancelled...
//     parser.feed(*bytes);
//   }
//
// Contract:
// - Ownership: the stream owns its libuv handle and read buffer. Moving
//   transfers them; destroying or `close()`ing closes the socket. The handle
//   and buffer live until libuv's close callback, so pending operations of a
//   destroyed stream complete safely.
// - Reads: once the first `read()` is awaited, the socket is read in the
//   background into a buffer that starts at `kInitialReadBuffer` bytes and
//   doubles, up to `kMaxReadBuffer`, whenever a read fills it; reading pauses
//   while it is full (backpressure reaches the peer through TCP). Idle
//   connections stay cheap; bulk transfers get large reads. `read()` yields every buffered byte not
//   yet returned, waiting for at least one; the view stays valid until the next `read()` or
//   `close()`. One read at a time (errc::read_in_progress otherwise). The peer's orderly shutdown
//   yields errc::end_of_stream once; reading again yields errc::read_after_end_of_stream.
//   Cancelling a read loses no data. `read_for(timeout)` is a read that
//   gives up with errc::timed_out when nothing arrives in time (at once for
//   a zero timeout and nothing buffered); it costs one timer restart on the
//   stream's own timer, no allocation, so servers can bound every read.
// - Writes: `write` tries a direct non-blocking write first and queues the
//   rest with libuv; it completes when everything was handed to the kernel.
//   Concurrent writes are written in call order. The bytes must stay valid
//   until the write completes (the co_await ends). Cancelling a pending
//   write, or destroying its frame, closes the stream: a partly written
//   message would leave the peer's framing undefined.
// - Operations on a closed stream complete with errc::stream_closed.
// - TCP_NODELAY is on: tokens are small and latency matters.
// - Thread affinity: the loop that created it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include <uv.h>

#include "cipherline/runtime/internal/operation.hpp"
#include "cipherline/runtime/socket_address.hpp"

namespace cipherline {

using ConstBuffer = std::span<const std::byte>;

inline ConstBuffer as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

inline std::string_view as_string(ConstBuffer b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

namespace internal {
struct TcpState;
struct ListenerState;
}  // namespace internal

class TcpConnect;
class TcpRead;
class TcpWrite;
class TcpShutdown;

class TcpStream {
 public:
  static constexpr std::size_t kInitialReadBuffer = 4 * 1024;
  static constexpr std::size_t kMaxReadBuffer = 64 * 1024;

  TcpStream() noexcept = default;
  TcpStream(TcpStream&& other) noexcept;
  TcpStream& operator=(TcpStream&& other) noexcept;
  TcpStream(const TcpStream&) = delete;
  TcpStream& operator=(const TcpStream&) = delete;
  ~TcpStream();

  // connect completes with the connected stream or the connect error
  // (errc::operation_cancelled if stopped; the half-open socket is closed).
  static TcpConnect connect(const SocketAddress& peer);

  TcpRead read() noexcept;
  TcpRead read_for(std::chrono::milliseconds timeout) noexcept;
  TcpWrite write(ConstBuffer bytes);
  // write(buffers) writes several buffers as one vectored write.
  TcpWrite write(std::span<const ConstBuffer> buffers);
  // shutdown sends FIN after queued writes; reading stays possible.
  TcpShutdown shutdown() noexcept;
  void close() noexcept;

  bool is_open() const noexcept { return state_ != nullptr; }
  // at_rest: open, and nothing arrived that was not read (no byte, no end,
  // no error). An idle keep-alive connection the peer closed is not at rest
  // once its FIN was read in the background.
  bool at_rest() const noexcept;
  // release_buffer: the last read's view is no longer used; with nothing
  // unread the read buffer is freed, and made again (kInitialReadBuffer)
  // when bytes arrive. What a connection that waits long, such as a server's
  // while it streams its answer, holds meanwhile.
  void release_buffer() noexcept;
  SocketAddress local_address() const;
  SocketAddress peer_address() const;

  // For tests and tools that need socket options the runtime does not wrap.
  int native_fd() const;

 private:
  friend class TcpConnect;
  friend struct internal::ListenerState;
  explicit TcpStream(internal::TcpState* state) noexcept : state_(state) {}

  internal::TcpState* state_ = nullptr;
};

class TcpConnect : public internal::Operation<TcpConnect, TcpStream> {
 public:
  explicit TcpConnect(const SocketAddress& peer) noexcept : peer_(peer) {}
  TcpConnect(TcpConnect&&) noexcept = default;
  ~TcpConnect();

 private:
  friend class internal::Operation<TcpConnect, TcpStream>;
  bool start();
  bool cancel() noexcept;
  void detach() noexcept;
  static void on_connect(uv_connect_t* req, int status);

  SocketAddress peer_;
  internal::TcpState* state_ = nullptr;
};

class TcpRead : public internal::Operation<TcpRead, std::span<const std::byte>> {
 public:
  // timeout_ms < 0: no timeout.
  TcpRead(internal::TcpState* state, std::int64_t timeout_ms) noexcept
      : state_(state), timeout_ms_(timeout_ms) {}
  TcpRead(TcpRead&&) noexcept = default;
  ~TcpRead();

 private:
  friend class internal::Operation<TcpRead, std::span<const std::byte>>;
  friend struct internal::TcpState;
  bool start();
  bool cancel() noexcept;

  internal::TcpState* state_;
  std::int64_t timeout_ms_;
};

namespace internal {

// TcpRequest: the shared part of writes and shutdowns. The libuv request
// lives in a heap block that outlives the awaiting frame; cancelling the
// operation (or destroying its frame) orphans the block and closes the
// stream, and libuv's callback frees the block.
template <class Derived, class UvRequest>
class TcpRequest : public Operation<Derived, void> {
 public:
  TcpRequest(TcpRequest&&) noexcept = default;
  ~TcpRequest();

 protected:
  explicit TcpRequest(TcpState* state) noexcept : state_(state) {}

  // open returns false, with the result set to errc::stream_closed, when
  // the stream is closed.
  bool open();
  // submit allocates the request and has `Derived::issue(UvRequest*)` hand
  // it to libuv; returns what `start` returns.
  bool submit();
  bool cancel() noexcept;
  static void on_done(UvRequest* req, int status);

  TcpState* state_;

 private:
  struct Request;
  Request* request_ = nullptr;
};

}  // namespace internal

class TcpWrite : public internal::TcpRequest<TcpWrite, uv_write_t> {
 public:
  TcpWrite(internal::TcpState* state, ConstBuffer bytes) noexcept;
  TcpWrite(internal::TcpState* state, std::span<const ConstBuffer> buffers);
  TcpWrite(TcpWrite&&) noexcept = default;

 private:
  friend class internal::Operation<TcpWrite, void>;
  friend class internal::TcpRequest<TcpWrite, uv_write_t>;
  bool start();
  int issue(uv_write_t* req);

  static constexpr std::size_t kInlineBuffers = 4;

  uv_buf_t inline_[kInlineBuffers];
  std::vector<uv_buf_t> spilled_;
  unsigned first_ = 0;  // buffers before `first_` went out in the direct write
  unsigned count_;
};

class TcpShutdown : public internal::TcpRequest<TcpShutdown, uv_shutdown_t> {
 public:
  explicit TcpShutdown(internal::TcpState* state) noexcept : TcpRequest(state) {}
  TcpShutdown(TcpShutdown&&) noexcept = default;

 private:
  friend class internal::Operation<TcpShutdown, void>;
  friend class internal::TcpRequest<TcpShutdown, uv_shutdown_t>;
  bool start();
  int issue(uv_shutdown_t* req);
};

}  // namespace cipherline
