#include "cipherline/runtime/socket_address.hpp"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <stdexcept>

namespace cipherline {

SocketAddress::SocketAddress() noexcept { std::memset(&storage_, 0, sizeof storage_); }

std::optional<SocketAddress> SocketAddress::from_ip(std::string_view ip,
                                                    std::uint16_t port) noexcept {
  char text[INET6_ADDRSTRLEN + 1];
  if (ip.empty() || ip.size() >= sizeof text) return std::nullopt;
  std::memcpy(text, ip.data(), ip.size());
  text[ip.size()] = '\0';

  SocketAddress a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage_);
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    return a;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage_);
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    return a;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SocketAddress::try_parse(std::string_view host_port) noexcept {
  std::string_view host;
  std::string_view port;
  if (host_port.starts_with('[')) {
    const auto close = host_port.find(']');
    if (close == std::string_view::npos || close + 1 >= host_port.size() ||
        host_port[close + 1] != ':') {
      return std::nullopt;
    }
    host = host_port.substr(1, close - 1);
    port = host_port.substr(close + 2);
    if (host.find(':') == std::string_view::npos) return std::nullopt;  // brackets are for IPv6
  } else {
    const auto colon = host_port.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = host_port.substr(0, colon);
    port = host_port.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return std::nullopt;  // IPv6 needs brackets
  }
  std::uint16_t number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || end != port.data() + port.size() || port.empty()) return std::nullopt;
  return from_ip(host, number);
}

SocketAddress SocketAddress::parse(std::string_view host_port) {
  if (auto a = try_parse(host_port)) return *a;
  throw std::invalid_argument(
      "not a numeric IP address with port (like 127.0.0.1:8080 or [::1]:8080): '" +
      std::string(host_port) + "'");
}

std::optional<SocketAddress> SocketAddress::from_native(const sockaddr* address) noexcept {
  SocketAddress a;
  if (address->sa_family == AF_INET) {
    std::memcpy(&a.storage_, address, sizeof(sockaddr_in));
  } else if (address->sa_family == AF_INET6) {
    std::memcpy(&a.storage_, address, sizeof(sockaddr_in6));
  } else {
    return std::nullopt;
  }
  return a;
}

std::uint16_t SocketAddress::port() const noexcept {
  if (family() == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
  if (family() == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return 0;
}

socklen_t SocketAddress::native_size() const noexcept {
  if (family() == AF_INET) return sizeof(sockaddr_in);
  if (family() == AF_INET6) return sizeof(sockaddr_in6);
  return 0;
}

std::string SocketAddress::to_string() const {
  char text[INET6_ADDRSTRLEN] = {};
  std::string out;
  if (family() == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, text,
              sizeof text);
    out.append(text);
  } else if (family() == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, text,
              sizeof text);
    out.append("[").append(text).append("]");
  } else {
    return "(unspecified)";
  }
  out.append(":").append(std::to_string(port()));
  return out;
}

bool operator==(const SocketAddress& a, const SocketAddress& b) noexcept {
  return a.native_size() == b.native_size() &&
         std::memcmp(&a.storage_, &b.storage_, a.native_size()) == 0;
}

}  // namespace cipherline
