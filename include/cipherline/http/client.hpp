// HttpClient: HTTP/1.1 client with a connection pool per origin.
//
//   HttpClient client;
//   auto response = co_await client.request(Origin::parse("http://127.0.0.1:8080").value(),
//                                          {.method = "POST", .target = "/v1/chat/completions",
//                                           .headers = h, .body = json});
//   if (!response) ...                          // connect, timeout, malformed response…
//   auto text = co_await response->body().read_all();
//
// Contract:
// - Connections are reused (keep-alive) when the previous response was read
//   to its end and both sides allow it; at most `max_connections_per_origin`
//   are open per origin (further requests wait for one); idle connections
//   close after `idle_timeout`, and one the server closed (or sent anything
//   on) while idle is not reused. A request that fails on a reused connection
//   before any response byte arrived (the server closed it meanwhile) is
//   sent once more on a new connection when it did not reach the server
//   whole (it could not be written) or it is idempotent (its method is, per
//   RFC 9110 9.2.2, or the caller says so in ClientRequest::idempotent). A
//   POST written whole is not resent: the server may have acted on it.
// - https:// origins use TLS (ClientOptions::tls, else the system's roots),
//   verifying the origin's host name.
// - Proxies as curl has them (see proxy.hpp): ClientOptions::proxy, by
//   default read from the environment (http_proxy, HTTPS_PROXY, NO_PROXY…)
//   when the client is made. https:// goes through a CONNECT tunnel, http://
//   with absolute-form targets; a refused tunnel is errc::proxy_failed with
//   the proxy's status line.
// - DNS through the runtime's resolver; each address is tried in turn with
//   `connect_timeout` (which also bounds a proxy's CONNECT answer). The response head must arrive
//   within `head_timeout`; each body chunk within `body_timeout`.
// - The response body is streamed (BodyReader); destroying the response
//   before the body was read closes its connection instead of reusing it.
// - Cancellation: stopping the awaiting task cancels the connect, write or
//   read in progress; the connection is then closed.
// - Errors are values (cipherline::Error): uv/runtime codes for network
//   failures, http::errc for bad responses, with a message naming the
//   origin. Loop thread only; one client per loop.
#pragma once

#include "cipherline/runtime/channel.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "cipherline/http/body_reader.hpp"
#include "cipherline/http/byte_stream.hpp"
#include "cipherline/http/message.hpp"
#include "cipherline/http/proxy.hpp"
#include "cipherline/http/tls.hpp"

namespace cipherline::http {

struct Origin {
  std::string scheme = "http";  // "http" or "https"
  std::string host;
  std::uint16_t port = 80;

  // parse accepts "http://host[:port]" and "https://host[:port]" (a path,
  // if any, is ignored); IPv6 hosts in brackets.
  static Result<Origin, Error> parse(std::string_view url);
  std::string to_string() const;  // "http://host:port"
};

struct ClientRequest {
  std::string method = "GET";
  std::string target = "/";
  Headers headers{};
  std::string body{};
  // The caller knows that sending this request twice has the effect of
  // sending it once (a read, a watch): it may be resent after a stale
  // keep-alive connection failed it even if it was written whole. GET,
  // HEAD, OPTIONS, PUT, DELETE and TRACE are idempotent without it.
  bool idempotent = false;
};

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds head_timeout{60'000};
  std::chrono::milliseconds body_timeout{60'000};
  // Below servers' usual keep-alive timeouts (this project's is 60 s), so
  // the client, not the server, closes an idle connection first.
  std::chrono::milliseconds idle_timeout{30'000};
  std::size_t max_connections_per_origin = 64;
  // Connections being set up (connect, proxy tunnel, TLS handshake) at once;
  // further ones wait their turn. 0: no limit. A limit keeps a burst of
  // new streams from holding a handshake's memory each at the same time.
  std::size_t max_concurrent_connects = 0;
  std::size_t max_response_head = 64 * 1024;
  std::uint64_t max_response_body = UINT64_MAX;
  // TLS settings for https:// origins; null means the system's roots.
  std::shared_ptr<TlsContext> tls{};
  // Proxies; unset means ProxySettings::from_environment() (as curl).
  std::optional<ProxySettings> proxy{};
};

class HttpClient;

class ClientResponse {
 public:
  ClientResponse(ClientResponse&&) noexcept;
  ClientResponse& operator=(ClientResponse&&) = delete;
  ~ClientResponse();

  const ResponseHead& head() const noexcept { return head_; }
  int status() const noexcept { return head_.status; }
  BodyReader& body() noexcept { return body_; }

 private:
  friend class HttpClient;
  struct Lease;
  ClientResponse(std::unique_ptr<Lease> lease, ResponseHead head);

  std::unique_ptr<Lease> lease_;
  ResponseHead head_;
  BodyReader body_;
};

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;
  ~HttpClient();

  Task<Result<ClientResponse, Error>> request(const Origin& origin, ClientRequest request) {
    // Not a coroutine itself: the request moves to the heap here, because
    // GCC 12 destroys aggregate prvalue arguments of coroutines twice.
    return send(std::make_unique<Outgoing>(Outgoing{origin, std::move(request)}));
  }

  // Open connections (idle and in use), for tests and metrics.
  std::size_t open_connections() const noexcept;
  std::uint64_t connections_made() const noexcept { return connections_made_; }

 private:
  friend class ClientResponse;
  struct Pool;
  struct PooledConnection;

  struct Outgoing {
    Origin origin;
    ClientRequest request;
  };
  Task<Result<ClientResponse, Error>> send(std::unique_ptr<Outgoing> outgoing);
  Task<Result<std::unique_ptr<PooledConnection>, Error>> acquire(Pool& pool, const Origin& origin,
                                                                 bool& reused);
  Task<Result<std::unique_ptr<PooledConnection>, Error>> connect(const Origin& origin,
                                                                 const Pool& pool);
  Task<Result<std::unique_ptr<PooledConnection>, Error>> establish(const Origin& origin,
                                                                   const Pool& pool);
  Task<Result<TcpStream, Error>> dial(const std::string& host, std::uint16_t port,
                                      const std::string& label);
  void release(Pool& pool, std::unique_ptr<PooledConnection> connection, bool reusable) noexcept;
  Result<Pool*, Error> pool_for(const Origin& origin);

  ClientOptions options_;
  std::map<std::string, std::unique_ptr<Pool>> pools_;
  std::uint64_t connections_made_ = 0;
  std::unique_ptr<Channel<bool>> connect_slots_;  // with max_concurrent_connects
};

}  // namespace cipherline::http
