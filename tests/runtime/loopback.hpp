// Test support: connected TCP pairs over loopback, and raw listeners whose
// accept queue is full (so that a further connect hangs in SYN_SENT).
#pragma once

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

#include "cipherline/runtime/tcp_listener.hpp"
#include "cipherline/runtime/tcp_stream.hpp"
#include "cipherline/runtime/with_timeout.hpp"

namespace cipherline::testing {

struct StreamPair {
  TcpStream client;
  TcpStream server;
};

inline Task<StreamPair> loopback_pair(TcpListener& listener) {
  StreamPair p;
  p.client = (co_await TcpStream::connect(listener.local_address())).value();
  p.server = (co_await listener.accept()).value();
  co_return p;
}

// read_exactly reads until `n` bytes have arrived (or an error).
inline Task<Result<std::string>> read_exactly(TcpStream& s, std::size_t n) {
  std::string out;
  while (out.size() < n) {
    auto bytes = co_await s.read();
    if (!bytes) co_return bytes.error();
    out.append(as_string(*bytes));
  }
  co_return out;
}

// A listening socket outside libuv with backlog 0 whose accept queue has been
// filled: the kernel drops further SYNs, so a connect to it stays pending.
class FullBacklogListener {
 public:
  FullBacklogListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 0) != 0) {
      throw std::runtime_error("cannot create raw listener");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    address_ = *SocketAddress::from_native(reinterpret_cast<sockaddr*>(&a));
  }
  FullBacklogListener(const FullBacklogListener&) = delete;
  FullBacklogListener& operator=(const FullBacklogListener&) = delete;
  ~FullBacklogListener() { ::close(fd_); }

  const SocketAddress& address() const { return address_; }

  // fill connects until the accept queue is over its limit. For a listening
  // socket, TCP_INFO reports the queue length in tcpi_unacked and the limit
  // in tcpi_sacked.
  Task<void> fill() {
    while (!full()) {
      auto conn = co_await with_timeout(TcpStream::connect(address_), std::chrono::seconds(5));
      held_.push_back(std::move(conn).value());
    }
  }

  bool full() const {
    tcp_info info{};
    socklen_t len = sizeof info;
    ::getsockopt(fd_, IPPROTO_TCP, TCP_INFO, &info, &len);
    return info.tcpi_unacked > info.tcpi_sacked;
  }

  void release_held() { held_.clear(); }

 private:
  int fd_ = -1;
  SocketAddress address_;
  std::vector<TcpStream> held_;
};

}  // namespace cipherline::testing
