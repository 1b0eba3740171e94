// TcpState: the heap part of a TcpStream that libuv may touch (private).
//
// It holds the uv_tcp_t, the read buffer and the pending reader, and is
// deleted only by libuv's close callback, after every pending write and
// shutdown request has been called back.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "cipherline/runtime/tcp_stream.hpp"

namespace cipherline::internal {

struct TcpState {
  explicit TcpState(Loop& loop);

  // Reading -------------------------------------------------------------
  // Bytes [begin, end) of `buffer` are received and not yet returned by
  // read(); bytes before `begin` may still be viewed by the last reader.
  std::unique_ptr<std::byte[]> buffer;
  std::size_t capacity = 0;
  std::size_t begin = 0;
  std::size_t end = 0;
  bool filled = false;   // the last read filled the buffer: grow it
  bool reading = false;  // uv_read_start is active
  bool eof = false;      // the peer shut down its side
  bool eof_reported = false;
  int read_error = 0;  // sticky libuv error from reading
  TcpRead* reader = nullptr;
  // Bounds the pending reader's wait when it asked for a timeout. The timer
  // is lazy: it is not stopped when data arrives, only re-armed when a
  // reader needs an earlier expiry than the one set, and on expiry it
  // re-arms itself if the current reader's deadline is still ahead — so a
  // busy connection costs no timer-heap operation per read.
  uv_timer_t read_timer{};
  std::uint64_t read_deadline = 0;  // loop time (ms) the pending reader gives up
  std::uint64_t timer_expiry = 0;   // loop time (ms) the armed timer fires
  void arm_read_timer(std::uint64_t timeout_ms) noexcept;

  // ensure_buffer makes the read buffer if it was released.
  void ensure_buffer();
  // start_reading begins (or resumes) background reads; returns a libuv
  // status.
  int start_reading() noexcept;
  static void on_read_timeout(uv_timer_t* timer);
  // take_reader detaches the pending reader (if any).
  TcpRead* take_reader() noexcept;
  // take returns every buffered byte not yet returned.
  std::span<const std::byte> take() noexcept;
  // reclaim frees the space of bytes already returned, growing the buffer if
  // the last read filled it. Only when no returned view is in use any more.
  void reclaim();

  // Lifetime --------------------------------------------------------------
  // The state is deleted by whichever comes last: libuv's close callback or
  // the owner (a TcpStream, or the Connect operation producing one) letting
  // go of it through `release`.
  bool owned = true;
  bool closing = false;
  bool handle_closed = false;  // both handles (socket, read timer) closed
  int handles_open = 2;
  // close stops reading, fails a pending reader with errc::stream_closed and
  // closes the handle. Idempotent.
  void close() noexcept;
  // release: the owner lets go; closes the handle if still open.
  void release() noexcept;

  uv_tcp_t handle{};
  uv_connect_t connect_request{};

 private:
  static void on_alloc(uv_handle_t* handle, std::size_t suggested, uv_buf_t* buf);
  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void on_close(uv_handle_t* handle);
};

inline uv_stream_t* as_stream(TcpState* s) noexcept {
  return reinterpret_cast<uv_stream_t*>(&s->handle);
}

}  // namespace cipherline::internal
