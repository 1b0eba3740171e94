// LocalCallers: whom a local proxy serves. `cipherline proxy` spends the
// user's API key for whoever reaches it; a web page the user visits reaches
// 127.0.0.1 too, by DNS rebinding (its own name resolving to 127.0.0.1) or
// by a cross-site form post. This policy refuses both: the first by the Host
// header, which then names the page's site, the second by the Origin header
// browsers send with it.
//
//   auto callers = LocalCallers::create({.listen = address, .allowed_hosts = {"llm.lan"}});
//   if (auto refusal = callers->check(request.head.headers)) {
//     answer(refusal->status, refusal->message);
//   }
//
// Contract:
// - Host must appear exactly once (else 400) and name the proxy (else 421):
//   localhost, 127.0.0.1, [::1] or the listen address — without a port or
//   with the listen port; with a wildcard listen address (0.0.0.0, [::]) any
//   IP literal with the listen port (a rebinding page's Host is its own
//   name, never an IP); or an allowed host: "name" on any port, "name:port"
//   on that port only. Names compare case-insensitively. Without a listen
//   address, or with port 0, any port is accepted.
// - Origin, when present, must appear once and be one of the allowed origins
//   (as browsers send it, scheme://host[:port], case-insensitive), else 403.
//   None is allowed by default: no web page is a local caller unless named.
// - Refusals name the header and its value (cut to 100 characters) and the
//   flag that admits it (--allowed-host, --allowed-origin).
// - create() refuses an allowed host that is not name[:port] and an allowed
//   origin that is not scheme://host[:port] (no path, no trailing "/", no
//   "*", not "null"), with errc::bad_configuration naming it.
// - Pure (no I/O); a value type, safe to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/http/headers.hpp"
#include "cipherline/runtime/result.hpp"
#include "cipherline/runtime/socket_address.hpp"

namespace cipherline::client {

class LocalCallers {
 public:
  struct Options {
    std::optional<SocketAddress> listen{};
    std::vector<std::string> allowed_hosts{};
    std::vector<std::string> allowed_origins{};
  };
  struct Refusal {
    int status;
    std::string message;
  };

  // The default: the loopback names on any port, no origin.
  LocalCallers() = default;
  static Result<LocalCallers, Error> create(Options options);
  // listening_on: the same policy for a proxy bound to `address` (its port
  // known once bound).
  LocalCallers listening_on(const SocketAddress& address) const;

  std::optional<Refusal> check(const http::Headers& headers) const;

 private:
  struct Name {
    std::string host;                   // lower case, IPv6 in brackets
    std::optional<std::uint16_t> port;  // none: any port
  };
  bool own_name(std::string_view host, std::optional<std::uint16_t> port) const;

  std::optional<SocketAddress> listen_;
  std::vector<Name> allowed_hosts_;
  std::vector<std::string> allowed_origins_;  // lower case
};

}  // namespace cipherline::client
