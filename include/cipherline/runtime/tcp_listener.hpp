// TcpListener: a listening TCP socket.
//
//   auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
//   while (true) {
//     auto conn = co_await listener.accept();
//     if (!conn) break;                      // cancelled, or listener closed
//     scope.spawn(serve(std::move(*conn)));
//   }
//
// Contract:
// - `bind` binds and listens at once; failures (a port in use, a bad
//   address, missing privileges) throw std::system_error whose message names
//   the address. `reuse_port` sets SO_REUSEPORT so that several loops can
//   each own a listener on the same port (see LoopGroup).
// - `accept` completes with the next connection. Connections are accepted
//   only while someone awaits `accept`; otherwise they wait in the kernel's
//   backlog, which is the backpressure.
// - Ownership: the listener owns its handle; destroying or closing it closes
//   the socket. A pending accept then completes with errc::stream_closed.
// - Thread affinity: the loop that created it.
#pragma once

#include "cipherline/runtime/internal/operation.hpp"
#include "cipherline/runtime/socket_address.hpp"
#include "cipherline/runtime/tcp_stream.hpp"

namespace cipherline {

namespace internal {
struct ListenerState;
}

class TcpAccept;

class TcpListener {
 public:
  struct Options {
    int backlog = 511;
    bool reuse_port = false;
  };

  TcpListener() noexcept = default;
  TcpListener(TcpListener&& other) noexcept;
  TcpListener& operator=(TcpListener&& other) noexcept;
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;
  ~TcpListener();

  static TcpListener bind(const SocketAddress& address, Options options);
  static TcpListener bind(const SocketAddress& address) { return bind(address, Options{}); }

  TcpAccept accept() noexcept;
  void close() noexcept;

  bool is_open() const noexcept { return state_ != nullptr; }
  // local_address reports the bound address (with the port the kernel chose
  // when binding port 0).
  SocketAddress local_address() const;

 private:
  explicit TcpListener(internal::ListenerState* state) noexcept : state_(state) {}
  internal::ListenerState* state_ = nullptr;
};

class TcpAccept : public internal::Operation<TcpAccept, TcpStream> {
 public:
  explicit TcpAccept(internal::ListenerState* state) noexcept : state_(state) {}
  TcpAccept(TcpAccept&&) noexcept = default;
  ~TcpAccept();

 private:
  friend class internal::Operation<TcpAccept, TcpStream>;
  friend struct internal::ListenerState;
  bool start();
  bool cancel() noexcept;

  internal::ListenerState* state_;
};

}  // namespace cipherline
