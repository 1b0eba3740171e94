// resolve: DNS lookup through libuv's getaddrinfo on the thread pool.
//
//   auto addrs = co_await resolve("api.privatemode.ai", 443);
//
// Completes with the addresses for (host, port) in the resolver's order (TCP
// only), or with the resolver's error (uv_category, e.g. "unknown node or
// service"). A numeric host, and "localhost" or a name under it (RFC 6761:
// 127.0.0.1 and ::1), complete without a lookup. Cancellation
// completes at once with errc::operation_cancelled; a lookup already running
// finishes in the background and its result is dropped.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/internal/operation.hpp"
#include "cipherline/runtime/socket_address.hpp"

namespace cipherline {

class [[nodiscard]] Resolve : public internal::Operation<Resolve, std::vector<SocketAddress>> {
 public:
  Resolve(std::string_view host, std::uint16_t port) : host_(host), port_(port) {}
  Resolve(Resolve&&) noexcept = default;
  ~Resolve();

 private:
  friend class internal::Operation<Resolve, std::vector<SocketAddress>>;
  struct Request;
  bool start();
  bool cancel() noexcept;
  void detach() noexcept;

  std::string host_;
  std::uint16_t port_;
  Request* request_ = nullptr;
};

inline Resolve resolve(std::string_view host, std::uint16_t port) { return Resolve(host, port); }

}  // namespace cipherline
