#include "cipherline/http/proxy.hpp"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <cstdlib>
#include <cstring>

#include "authority.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/http/headers.hpp"

namespace cipherline::http {
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

// The first non-empty variable of `names`, with the name it came from.
std::pair<std::string, std::string> first_set(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    if (std::string value = env(name); !value.empty()) return {std::move(value), name};
  }
  return {};
}

Error proxy_error(std::string detail) { return Error(errc::proxy_failed, std::move(detail)); }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    const int hi = hex_value(in[i + 1]);
    const int lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// An IP literal as network-order bytes: 4 for IPv4, 16 for IPv6.
struct IpBytes {
  std::array<unsigned char, 16> bytes{};
  std::size_t size = 0;
};

std::optional<IpBytes> parse_ip(std::string_view text) {
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') {
    text = text.substr(1, text.size() - 2);
  }
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return std::nullopt;
  char buffer[INET6_ADDRSTRLEN];
  std::memcpy(buffer, text.data(), text.size());
  buffer[text.size()] = '\0';
  IpBytes ip;
  if (inet_pton(AF_INET, buffer, ip.bytes.data()) == 1) {
    ip.size = 4;
  } else if (inet_pton(AF_INET6, buffer, ip.bytes.data()) == 1) {
    ip.size = 16;
  } else {
    return std::nullopt;
  }
  return ip;
}

bool ip_entry_matches(std::string_view entry, const IpBytes& host) {
  std::size_t bits = host.size * 8;
  if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
    const std::string_view prefix = entry.substr(slash + 1);
    const auto [end, ec] = std::from_chars(prefix.data(), prefix.data() + prefix.size(), bits);
    if (ec != std::errc{} || end != prefix.data() + prefix.size()) return false;
    entry = entry.substr(0, slash);
  }
  const auto network = parse_ip(entry);
  if (!network || network->size != host.size || bits > host.size * 8) return false;
  const std::size_t whole = bits / 8;
  if (std::memcmp(network->bytes.data(), host.bytes.data(), whole) != 0) return false;
  if (bits % 8 == 0) return true;
  const auto mask = static_cast<unsigned char>(0xff << (8 - bits % 8));
  return (network->bytes[whole] & mask) == (host.bytes[whole] & mask);
}

bool name_entry_matches(std::string_view entry, std::string_view host) {
  if (entry.starts_with('.')) entry.remove_prefix(1);
  if (entry.ends_with('.')) entry.remove_suffix(1);
  if (host.ends_with('.')) host.remove_suffix(1);
  if (entry.empty()) return false;
  if (header_name_equals(entry, host)) return true;
  return host.size() > entry.size() && host[host.size() - entry.size() - 1] == '.' &&
         header_name_equals(entry, host.substr(host.size() - entry.size()));
}

}  // namespace

ProxySettings ProxySettings::from_environment() {
  ProxySettings s;
  auto [all, all_source] = first_set({"all_proxy", "ALL_PROXY"});
  auto [http, http_source] = first_set({"http_proxy"});
  auto [https, https_source] = first_set({"https_proxy", "HTTPS_PROXY"});
  s.http_proxy = http.empty() ? all : http;
  s.http_source = http.empty() ? all_source : http_source;
  s.https_proxy = https.empty() ? all : https;
  s.https_source = https.empty() ? all_source : https_source;
  s.no_proxy = first_set({"no_proxy", "NO_PROXY"}).first;
  return s;
}

Result<std::optional<ProxyEndpoint>, Error> ProxySettings::route_for(const Origin& origin) const {
  const bool https = origin.scheme == "https";
  const std::string& url = https ? https_proxy : http_proxy;
  if (url.empty() || no_proxy_matches(no_proxy, origin.host)) {
    return std::optional<ProxyEndpoint>{};
  }
  auto endpoint = parse_proxy_url(url);
  if (!endpoint) {
    return proxy_error((https ? https_source : http_source) + ": " + endpoint.error().message());
  }
  return std::optional<ProxyEndpoint>(std::move(*endpoint));
}

Result<ProxyEndpoint, Error> parse_proxy_url(std::string_view url) {
  const std::string quoted = "proxy URL '" + std::string(url) + "'";
  std::string_view rest = trim(url);
  if (const auto sep = rest.find("://"); sep != std::string_view::npos) {
    const std::string_view scheme = rest.substr(0, sep);
    if (!header_name_equals(scheme, "http")) {
      return proxy_error(quoted + " uses the unsupported scheme '" + std::string(scheme) +
                         "' (only http:// proxies are supported)");
    }
    rest.remove_prefix(sep + 3);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  ProxyEndpoint p;
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest.remove_prefix(at + 1);
    const auto colon = userinfo.find(':');
    const auto user = percent_decode(userinfo.substr(0, colon));
    const auto password = percent_decode(
        colon == std::string_view::npos ? std::string_view{} : userinfo.substr(colon + 1));
    if (!user || !password) return proxy_error(quoted + " has a bad %-escape in its credentials");
    const std::string credentials = *user + ":" + *password;
    p.authorization =
        "Basic " +
        crypto::to_base64(std::as_bytes(std::span(credentials.data(), credentials.size())));
  }
  auto authority = internal::parse_authority(rest);
  if (!authority) return proxy_error(quoted + ": " + authority.error());
  p.host = std::string(authority->host);
  p.port = authority->port.value_or(1080);
  const bool v6 = p.host.find(':') != std::string::npos;
  p.url = "http://" + (v6 ? "[" + p.host + "]" : p.host) + ":" + std::to_string(p.port);
  return p;
}

bool no_proxy_matches(std::string_view no_proxy, std::string_view host) {
  const auto ip = parse_ip(host);
  while (!no_proxy.empty()) {
    const auto comma = no_proxy.find(',');
    const std::string_view entry = trim(no_proxy.substr(0, comma));
    no_proxy = comma == std::string_view::npos ? std::string_view{} : no_proxy.substr(comma + 1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    if (ip ? ip_entry_matches(entry, *ip) : name_entry_matches(entry, host)) return true;
  }
  return false;
}

}  // namespace cipherline::http
