// ProxySettings: which HTTP proxy, if any, a client request goes through —
// configured like curl, from the same environment variables.
//
//   auto settings = ProxySettings::from_environment();
//   auto route = settings.route_for(origin);   // Result<optional<ProxyEndpoint>>
//   if (!route) ... route.error().message()     // "https_proxy 'socks5://…': …"
//   if (*route) ... connect to (*route)->host:(*route)->port
//
// Contract (curl's rules):
// - Variables: `http_proxy` for http:// origins (lower case only, as curl:
//   the upper-case form can be set by a CGI request header);
//   `https_proxy` or `HTTPS_PROXY` for https://; `all_proxy` or `ALL_PROXY`
//   for either when the specific one is unset; `no_proxy` or `NO_PROXY`.
//   The lower-case variable wins when both are set; empty means unset.
// - Proxy URL: `[http://][user[:password]@]host[:port]`, default port 1080;
//   user and password are percent-decoded and sent as Basic
//   Proxy-Authorization. Other schemes (https://, socks…) are reported as
//   unsupported when a request would use them, naming the variable.
// - NO_PROXY: comma-separated, blanks ignored, case-insensitive. `*` alone
//   matches every host. A name matches itself and its subdomains
//   (`example.com` and `.example.com` both match `example.com` and
//   `www.example.com`, not `notexample.com`). An IP address matches the
//   same address, or with `/bits` a CIDR range (IPv6 without brackets); IP
//   entries only match hosts given as IP literals. Ports in the origin do
//   not matter.
// - How the client uses a proxy: https:// origins through a `CONNECT`
//   tunnel (TLS to the origin inside it, verified against the origin's
//   name); http:// origins with absolute-form request targets.
// - Pure values; no I/O beyond reading the environment in from_environment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::http {

struct Origin;

struct ProxyEndpoint {
  std::string host;  // as written, IPv6 without brackets
  std::uint16_t port = 1080;
  std::string authorization;  // "Basic …" or empty
  std::string url;            // "http://host:port", for messages (no credentials)
};

struct ProxySettings {
  std::string http_proxy;   // proxy URL for http:// origins; empty: direct
  std::string https_proxy;  // proxy URL for https:// origins; empty: direct
  std::string no_proxy;     // hosts reached directly (curl's NO_PROXY syntax)
  // Names of the settings' sources, for error messages.
  std::string http_source = "http_proxy";
  std::string https_source = "https_proxy";

  static ProxySettings from_environment();

  // route_for is the proxy for `origin`, nullopt to connect directly, or an
  // errc::proxy_failed error for a setting that cannot be used.
  Result<std::optional<ProxyEndpoint>, Error> route_for(const Origin& origin) const;
};

// parse_proxy_url parses `[http://][user[:password]@]host[:port]`.
Result<ProxyEndpoint, Error> parse_proxy_url(std::string_view url);

// no_proxy_matches says whether `host` (a name, or an IP literal with or
// without brackets) is listed in `no_proxy`.
bool no_proxy_matches(std::string_view no_proxy, std::string_view host);

}  // namespace cipherline::http
