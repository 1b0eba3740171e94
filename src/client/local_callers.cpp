#include "cipherline/client/local_callers.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "cipherline/client/error.hpp"

namespace cipherline::client {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trimmed(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

struct HostPort {
  std::string host;  // lower case, IPv6 in brackets
  std::optional<std::uint16_t> port;
};

// "name", "name:port", "[v6]" or "[v6]:port" (RFC 9110 §7.2).
std::optional<HostPort> parse_host(std::string_view text) {
  std::string_view name = text;
  std::optional<std::string_view> port_text;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close < 2) return std::nullopt;
    name = text.substr(0, close + 1);
    const auto rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port_text = rest.substr(1);
    }
    for (const char c : name.substr(1, name.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return std::nullopt;
      }
    }
  } else {
    if (const auto colon = text.find(':'); colon != std::string_view::npos) {
      name = text.substr(0, colon);
      port_text = text.substr(colon + 1);
    }
    if (name.empty()) return std::nullopt;
    for (const char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
        return std::nullopt;
      }
    }
  }
  HostPort out{lower(name), std::nullopt};
  if (port_text) {
    unsigned value = 0;
    const auto* end = port_text->data() + port_text->size();
    const auto [at, ec] = std::from_chars(port_text->data(), end, value);
    if (port_text->empty() || port_text->size() > 5 || ec != std::errc{} || at != end ||
        value > 65535) {
      return std::nullopt;
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

// "scheme://host[:port]", as a browser sends it.
bool valid_origin(std::string_view origin) {
  const auto sep = origin.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  for (const char c : origin.substr(0, sep)) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  return parse_host(origin.substr(sep + 3)).has_value();
}

// A header value for a message: quoted, at most 100 characters, printable.
std::string quoted(std::string_view value) {
  std::string out = "\"";
  for (const char c : value.substr(0, 100)) {
    out += std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  }
  if (value.size() > 100) out += "…";
  return out + "\"";
}

// The header's values (each field of that name).
std::vector<std::string_view> values_of(const http::Headers& headers, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [field, value] : headers.fields()) {
    if (http::header_name_equals(field, name)) out.push_back(trimmed(value));
  }
  return out;
}

bool is_ip_literal(const std::string& host) {
  return SocketAddress::try_parse(host + ":0").has_value();
}

// The listen address without its port: "127.0.0.1", "[::]".
std::string host_of(const SocketAddress& address) {
  const std::string text = address.to_string();
  return text.substr(0, text.rfind(':'));
}

}  // namespace

Result<LocalCallers, Error> LocalCallers::create(Options options) {
  LocalCallers callers;
  callers.listen_ = options.listen;
  for (const auto& host : options.allowed_hosts) {
    auto parsed = parse_host(trimmed(host));
    if (!parsed) {
      return Error(errc::bad_configuration,
                   "--allowed-host " + quoted(host) +
                       ": expected a host name or IP, with an optional :port (no scheme, no path)");
    }
    callers.allowed_hosts_.push_back({std::move(parsed->host), parsed->port});
  }
  for (const auto& origin : options.allowed_origins) {
    if (!valid_origin(trimmed(origin))) {
      return Error(errc::bad_configuration,
                   "--allowed-origin " + quoted(origin) +
                       ": expected scheme://host[:port] as browsers send it, e.g. "
                       "http://localhost:3000 (no path, no trailing /, no *)");
    }
    callers.allowed_origins_.push_back(lower(trimmed(origin)));
  }
  return callers;
}

LocalCallers LocalCallers::listening_on(const SocketAddress& address) const {
  LocalCallers callers = *this;
  callers.listen_ = address;
  return callers;
}

bool LocalCallers::own_name(std::string_view host, std::optional<std::uint16_t> port) const {
  const std::uint16_t listen_port = listen_ ? listen_->port() : 0;
  const bool listen_port_ok = !port || listen_port == 0 || *port == listen_port;
  if (host == "localhost" || host == "127.0.0.1" || host == "[::1]") return listen_port_ok;
  if (listen_) {
    const std::string listen_host = host_of(*listen_);
    const bool wildcard = listen_host == "0.0.0.0" || listen_host == "[::]";
    if (wildcard ? is_ip_literal(std::string(host)) : host == listen_host) return listen_port_ok;
  }
  return std::any_of(allowed_hosts_.begin(), allowed_hosts_.end(), [&](const Name& allowed) {
    return allowed.host == host && (!allowed.port || allowed.port == port);
  });
}

std::optional<LocalCallers::Refusal> LocalCallers::check(const http::Headers& headers) const {
  const auto hosts = values_of(headers, "Host");
  if (hosts.size() != 1) {
    return Refusal{400, hosts.empty() ? "the request has no Host header"
                                      : "the request has more than one Host header"};
  }
  const auto host = parse_host(hosts[0]);
  if (!host) return Refusal{400, "Host " + quoted(hosts[0]) + " is not host[:port]"};
  if (!own_name(host->host, host->port)) {
    std::string names = "localhost, 127.0.0.1, [::1]";
    if (listen_ && host_of(*listen_) != "127.0.0.1" && host_of(*listen_) != "[::1]") {
      names += ", " + host_of(*listen_);
    }
    if (listen_ && listen_->port() != 0) names += " on port " + std::to_string(listen_->port());
    return Refusal{421, "Host " + quoted(hosts[0]) + " is not one of this proxy's names (" + names +
                            "): refused as DNS rebinding would look; start the proxy with "
                            "--allowed-host for a name it should answer to"};
  }
  const auto origins = values_of(headers, "Origin");
  if (origins.size() > 1) return Refusal{403, "the request has more than one Origin header"};
  if (origins.size() == 1 && std::find(allowed_origins_.begin(), allowed_origins_.end(),
                                       lower(origins[0])) == allowed_origins_.end()) {
    return Refusal{403, "Origin " + quoted(origins[0]) +
                            " is not allowed: the proxy serves no web page unless started with "
                            "--allowed-origin naming its origin"};
  }
  return std::nullopt;
}

}  // namespace cipherline::client
