// parse_authority: the `host[:port]` part of a URL, shared by origins and
// proxy URLs (private to the http layer).
//
// Accepts a name or IPv4 address, or an IPv6 address in brackets, with an
// optional port 1–65535. On failure the error is a reason for a message
// ("unclosed '['", "invalid port 'x'", …) that the caller prefixes with
// what it was parsing.
#pragma once

#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cipherline/runtime/result.hpp"

namespace cipherline::http::internal {

struct Authority {
  std::string_view host;   // without brackets
  bool bracketed = false;  // an IPv6 literal
  std::optional<std::uint16_t> port;
};

inline Result<Authority, std::string> parse_authority(std::string_view text) {
  Authority a;
  std::string_view port;
  bool has_port = false;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return std::string("unclosed '['");
    a.host = text.substr(1, close - 1);
    a.bracketed = true;
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return std::string("junk after ']'");
      port = text.substr(close + 2);
      has_port = true;
    }
  } else {
    const auto colon = text.rfind(':');
    a.host = text.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = text.substr(colon + 1);
      has_port = true;
    }
  }
  if (a.host.empty()) return std::string("no host");
  if (has_port) {
    std::uint16_t n = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
    if (ec != std::errc{} || end != port.data() + port.size() || n == 0) {
      return "invalid port '" + std::string(port) + "'";
    }
    a.port = n;
  }
  return a;
}

}  // namespace cipherline::http::internal
