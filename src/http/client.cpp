#include "cipherline/http/client.hpp"

#include <charconv>

#include "authority.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/resolve.hpp"
#include "cipherline/runtime/with_timeout.hpp"
#include "message_reader.hpp"

namespace cipherline::http {

// Origin ---------------------------------------------------------------------

Result<Origin, Error> Origin::parse(std::string_view url) {
  Origin o;
  const auto sep = url.find("://");
  if (sep == std::string_view::npos) {
    return Error(errc::malformed_message,
                 "URL '" + std::string(url) + "' has no scheme (http:// or https://)");
  }
  o.scheme = std::string(url.substr(0, sep));
  if (o.scheme != "http" && o.scheme != "https") {
    return Error(errc::malformed_message, "unsupported URL scheme '" + o.scheme + "'");
  }
  std::string_view rest = url.substr(sep + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  auto authority = internal::parse_authority(rest);
  if (!authority) {
    return Error(errc::malformed_message, "URL '" + std::string(url) + "': " + authority.error());
  }
  o.host = authority->bracketed ? "[" + std::string(authority->host) + "]"
                                : std::string(authority->host);
  o.port = authority->port.value_or(o.scheme == "https" ? 443 : 80);
  return o;
}

std::string Origin::to_string() const { return scheme + "://" + host + ":" + std::to_string(port); }

// Pool -----------------------------------------------------------------------

struct HttpClient::PooledConnection {
  std::unique_ptr<ByteStream> stream;
  internal::MessageReader reader;
  std::chrono::steady_clock::time_point idle_since;

  explicit PooledConnection(std::unique_ptr<ByteStream> s)
      : stream(std::move(s)), reader(*stream, HTTP_RESPONSE) {}
};

struct HttpClient::Pool {
  std::list<std::unique_ptr<PooledConnection>> idle;
  std::size_t in_use = 0;
  Channel<int> permits;                // one token per connection the origin may have
  std::optional<ProxyEndpoint> proxy;  // how the origin is reached

  Pool(std::size_t max, std::optional<ProxyEndpoint> via) : permits(max), proxy(std::move(via)) {
    for (std::size_t i = 0; i < max; ++i) {
      int token = 1;
      permits.try_send(token);
    }
  }
};

struct ClientResponse::Lease {
  HttpClient* client;
  HttpClient::Pool* pool;
  std::unique_ptr<HttpClient::PooledConnection> connection;
};

namespace {

// Returns the pool permit unless it was handed on to a response.
class Permit {
 public:
  explicit Permit(Channel<int>& permits) noexcept : permits_(&permits) {}
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() {
    if (permits_ != nullptr) {
      int token = 1;
      permits_->try_send(token);
    }
  }
  void hand_on() noexcept { permits_ = nullptr; }

 private:
  Channel<int>* permits_;
};

// "host" or "host:port" when the port is not the scheme's default.
std::string host_field(const Origin& origin) {
  if (origin.port == (origin.scheme == "https" ? 443 : 80)) return origin.host;
  return origin.host + ":" + std::to_string(origin.port);
}

// `proxy`: an http:// request through a proxy, which takes the absolute form
// of the target and the proxy's credentials.
std::string request_head(const Origin& origin, const ClientRequest& r, const ProxyEndpoint* proxy) {
  std::string out;
  out.reserve(128 + r.headers.size() * 48);
  out += r.method;
  out += ' ';
  if (proxy != nullptr) out += "http://" + host_field(origin);
  out += r.target.empty() ? "/" : r.target;
  out += " HTTP/1.1\r\n";
  if (!r.headers.contains("Host")) out += "Host: " + host_field(origin) + "\r\n";
  if (proxy != nullptr && !proxy->authorization.empty()) {
    out += "Proxy-Authorization: " + proxy->authorization + "\r\n";
  }
  for (const auto& [name, value] : r.headers.fields()) {
    if (header_name_equals(name, "Content-Length") ||
        header_name_equals(name, "Transfer-Encoding")) {
      continue;  // framing is the client's
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    out += "Content-Length: " + std::to_string(r.body.size()) + "\r\n";
  }
  out += "\r\n";
  return out;
}

// A failure a fresh connection would not have: the server closed an idle
// keep-alive connection just before it was reused.
bool stale_connection(const Error& e) {
  return e == cipherline::errc::end_of_stream || e == errc::incomplete_message ||
         e == std::errc::connection_reset || e == std::errc::broken_pipe;
}

bool idempotent(const ClientRequest& r) {
  if (r.idempotent) return true;
  for (std::string_view m : {"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"}) {
    if (r.method == m) return true;
  }
  return false;
}

}  // namespace

HttpClient::HttpClient(ClientOptions options) : options_(std::move(options)) {
  if (!options_.proxy) options_.proxy = ProxySettings::from_environment();
}
HttpClient::~HttpClient() = default;

std::size_t HttpClient::open_connections() const noexcept {
  std::size_t n = 0;
  for (const auto& [name, pool] : pools_) n += pool->idle.size() + pool->in_use;
  return n;
}

Result<HttpClient::Pool*, Error> HttpClient::pool_for(const Origin& origin) {
  auto& slot = pools_[origin.to_string()];
  if (!slot) {
    auto route = options_.proxy->route_for(origin);
    if (!route) {
      pools_.erase(origin.to_string());
      return route.error();
    }
    slot = std::make_unique<Pool>(options_.max_connections_per_origin, std::move(*route));
  }
  return slot.get();
}

Task<Result<TcpStream, Error>> HttpClient::dial(const std::string& host, std::uint16_t port,
                                                const std::string& label) {
  auto addresses = co_await resolve(host, port);
  if (!addresses) {
    co_return Error(addresses.error(), "resolving " + host + ": " + addresses.error().message());
  }
  Error last(cipherline::errc::stream_closed, "no address for " + host);
  for (const SocketAddress& address : *addresses) {
    auto stream = co_await with_timeout(TcpStream::connect(address), options_.connect_timeout);
    if (stream) co_return std::move(*stream);
    last = Error(stream.error(), "connecting to " + label + " (" + address.to_string() +
                                     "): " + stream.error().message());
    if (stream.error() == cipherline::errc::operation_cancelled) break;
  }
  co_return last;
}

namespace {

// open_tunnel asks the proxy on `tcp` for a CONNECT tunnel to `origin`.
Task<Result<void, Error>> open_tunnel(TcpStream& tcp, const Origin& origin,
                                      const ProxyEndpoint& proxy,
                                      std::chrono::milliseconds timeout) {
  const std::string target = origin.host + ":" + std::to_string(origin.port);
  const std::string where = "proxy " + proxy.url + " (CONNECT " + target + ")";
  std::string request = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!proxy.authorization.empty()) {
    request += "Proxy-Authorization: " + proxy.authorization + "\r\n";
  }
  request += "\r\n";
  TcpByteStream stream(std::move(tcp));
  if (auto sent = co_await stream.write_one(as_bytes(request)); !sent) {
    co_return Error(sent.error(), where + ": " + sent.error().message());
  }
  ResponseHead head;
  internal::MessageReader reader(stream, HTTP_RESPONSE);
  auto got = co_await reader.read_response_head(head, false, {.max_head = 16 * 1024},
                                                ByteStream::Clock::now() + timeout);
  if (!got) {
    co_return Error(errc::proxy_failed,
                    where + ": " +
                        (got.error() == cipherline::errc::timed_out
                             ? "no answer within " + std::to_string(timeout.count()) + " ms"
                             : got.error().message()));
  }
  if (head.status < 200 || head.status > 299) {
    std::string detail = where + " refused: " + std::to_string(head.status) + " " + head.reason;
    if (head.status == 407) {
      detail += proxy.authorization.empty() ? " (the proxy URL carries no credentials)"
                                            : " (the proxy rejected the credentials)";
    }
    co_return Error(errc::proxy_failed, std::move(detail));
  }
  if (reader.buffered() != 0) {
    co_return Error(errc::proxy_failed, where + ": data arrived before the tunnel was used");
  }
  tcp = std::move(stream.tcp());
  co_return Result<void, Error>{};
}

}  // namespace

Task<Result<std::unique_ptr<HttpClient::PooledConnection>, Error>> HttpClient::connect(
    const Origin& origin, const Pool& pool) {
  if (options_.max_concurrent_connects == 0) co_return co_await establish(origin, pool);
  if (!connect_slots_) {
    connect_slots_ = std::make_unique<Channel<bool>>(options_.max_concurrent_connects);
  }
  if (auto slot = co_await connect_slots_->send(true); !slot) {
    co_return Error(slot.error(), "connecting to " + origin.to_string());
  }
  auto connection = co_await establish(origin, pool);
  (void)connect_slots_->try_receive();  // the slot is free again
  co_return connection;
}

Task<Result<std::unique_ptr<HttpClient::PooledConnection>, Error>> HttpClient::establish(
    const Origin& origin, const Pool& pool) {
  std::string host = origin.host;
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const bool https = origin.scheme == "https";
  if (https && !options_.tls) {
    auto built = TlsClientConfig{}.build();
    if (!built) co_return built.error();
    options_.tls = std::move(*built);
  }
  const ProxyEndpoint* proxy = pool.proxy ? &*pool.proxy : nullptr;
  auto tcp = proxy != nullptr ? co_await dial(proxy->host, proxy->port, "proxy " + proxy->url)
                              : co_await dial(host, origin.port, origin.to_string());
  if (!tcp) co_return tcp.error();
  if (proxy != nullptr && https) {
    if (auto tunnel = co_await open_tunnel(*tcp, origin, *proxy, options_.connect_timeout);
        !tunnel) {
      co_return tunnel.error();
    }
  }
  std::unique_ptr<ByteStream> stream;
  if (https) {
    auto tls = co_await TlsStream::connect(std::move(*tcp), options_.tls, host);
    if (!tls) co_return tls.error();
    stream = std::move(*tls);
  } else {
    stream = std::make_unique<TcpByteStream>(std::move(*tcp));
  }
  ++connections_made_;
  co_return std::make_unique<PooledConnection>(std::move(stream));
}

Task<Result<std::unique_ptr<HttpClient::PooledConnection>, Error>> HttpClient::acquire(
    Pool& pool, const Origin& origin, bool& reused) {
  const auto now = std::chrono::steady_clock::now();
  while (!pool.idle.empty()) {
    std::unique_ptr<PooledConnection> c = std::move(pool.idle.back());
    pool.idle.pop_back();
    if (c->stream->at_rest() && now - c->idle_since < options_.idle_timeout) {
      reused = true;
      co_return c;
    }
    c->stream->close();
  }
  reused = false;
  co_return co_await connect(origin, pool);
}

void HttpClient::release(Pool& pool, std::unique_ptr<PooledConnection> connection,
                         bool reusable) noexcept {
  --pool.in_use;
  if (reusable && connection->stream->is_open()) {
    connection->idle_since = std::chrono::steady_clock::now();
    pool.idle.push_back(std::move(connection));
  } else {
    connection->stream->close();
  }
  int token = 1;
  pool.permits.try_send(token);
}

Task<Result<ClientResponse, Error>> HttpClient::send(std::unique_ptr<Outgoing> outgoing) {
  const Origin& origin = outgoing->origin;
  const ClientRequest* request = &outgoing->request;
  auto found = pool_for(origin);
  if (!found) co_return found.error();
  Pool& pool = **found;
  const ProxyEndpoint* absolute_form =
      pool.proxy && origin.scheme == "http" ? &*pool.proxy : nullptr;
  const std::string head = request_head(origin, *request, absolute_form);
  const bool head_request = request->method == "HEAD";
  internal::MessageReader::Limits limits{options_.max_response_head, 0, options_.max_response_body};
  // The first attempt's failure when it is retried: the request was written
  // then, so a retry that cannot even connect reports that failure, never a
  // connect error that would say the request did not leave.
  std::optional<Error> written_before;
  for (int attempt = 0;; ++attempt) {
    if (auto permit = co_await pool.permits.receive(); !permit) {
      co_return Error(permit.error(), "waiting for a connection to " + origin.to_string());
    }
    Permit permit(pool.permits);
    bool reused = false;
    auto connection =
        attempt == 0 ? co_await acquire(pool, origin, reused) : co_await connect(origin, pool);
    if (!connection) co_return written_before ? *written_before : connection.error();
    PooledConnection& c = **connection;
    const std::uint64_t offset_before = c.reader.offset();

    const ConstBuffer parts[] = {as_bytes(head), as_bytes(request->body)};
    auto written = co_await c.stream->write(std::span(parts).first(request->body.empty() ? 1 : 2));
    Error failure;
    if (written) {
      ResponseHead response;
      auto got = co_await c.reader.read_response_head(
          response, head_request, limits, ByteStream::Clock::now() + options_.head_timeout);
      if (got) {
        c.reader.set_body_limit(options_.max_response_body);
        c.reader.body_timeout = options_.body_timeout;
        ++pool.in_use;
        permit.hand_on();
        co_return ClientResponse(std::make_unique<ClientResponse::Lease>(
                                     ClientResponse::Lease{this, &pool, std::move(*connection)}),
                                 std::move(response));
      }
      failure = got.error();
      if (failure == cipherline::errc::timed_out) {
        failure = Error(errc::request_timeout,
                        "no response head from " + origin.to_string() + " within " +
                            std::to_string(options_.head_timeout.count()) + " ms");
      }
    } else {
      failure = Error(written.error(), "sending the request to " + origin.to_string() + ": " +
                                           written.error().message());
    }
    c.stream->close();
    const bool nothing_received = c.reader.offset() == offset_before;
    if (reused && attempt == 0 && nothing_received && stale_connection(failure) &&
        (!written || idempotent(*request))) {
      if (written) written_before = failure;
      continue;
    }
    co_return failure;
  }
}

// ClientResponse ---------------------------------------------------------------

ClientResponse::ClientResponse(std::unique_ptr<Lease> lease, ResponseHead head)
    : lease_(std::move(lease)), head_(std::move(head)), body_(&lease_->connection->reader) {}

ClientResponse::ClientResponse(ClientResponse&& other) noexcept
    : lease_(std::move(other.lease_)), head_(std::move(other.head_)), body_(other.body_) {}

ClientResponse::~ClientResponse() {
  if (!lease_) return;
  auto& reader = lease_->connection->reader;
  // Bytes after the response's end are a server out of step: not reused.
  const bool reusable = reader.message_complete() && reader.keep_alive() && head_.keep_alive &&
                        reader.buffered() == 0;
  lease_->client->release(*lease_->pool, std::move(lease_->connection), reusable);
}

}  // namespace cipherline::http
