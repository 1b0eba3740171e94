// SocketAddress: an IPv4 or IPv6 address with a port (a value type).
//
//   SocketAddress a = SocketAddress::parse("127.0.0.1:8080");
//   SocketAddress b = SocketAddress::parse("[::1]:443");
//
// `parse` accepts numeric addresses only (names go through `resolve`) and
// throws std::invalid_argument naming the bad input; `try_parse` returns
// std::nullopt instead.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cipherline {

class SocketAddress {
 public:
  SocketAddress() noexcept;

  static SocketAddress parse(std::string_view host_port);
  static std::optional<SocketAddress> try_parse(std::string_view host_port) noexcept;
  // from_ip combines a numeric IPv4/IPv6 address and a port.
  static std::optional<SocketAddress> from_ip(std::string_view ip, std::uint16_t port) noexcept;
  // from_native copies a sockaddr of family AF_INET or AF_INET6.
  static std::optional<SocketAddress> from_native(const sockaddr* address) noexcept;

  int family() const noexcept { return storage_.ss_family; }
  std::uint16_t port() const noexcept;
  const sockaddr* native() const noexcept { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t native_size() const noexcept;

  // "127.0.0.1:8080" or "[::1]:8080".
  std::string to_string() const;

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept;

 private:
  sockaddr_storage storage_;
};

}  // namespace cipherline
