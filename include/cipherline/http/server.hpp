// HttpServer: HTTP/1.1 server on the runtime.
//
//   Router router;
//   router.add("GET", "/healthz", [](Request&, ResponseWriter& w) -> Task<void> {
//     (void)co_await w.respond(200, {}, "ok");
//   });
//   HttpServer server(std::move(router));
//   auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:8080"));
//   co_await server.serve(listener);   // until this task is stopped, then graceful shutdown
//
// Contract:
// - Keep-alive and pipelining: requests on a connection are handled one at
//   a time, in order; the connection closes after a response with
//   "Connection: close", or when the client or HTTP/1.0 asks for it.
// - Request bodies reach the handler as a stream (BodyReader), chunked
//   uploads included; "Expect: 100-continue" is answered when the handler
//   first reads the body. After the handler, an unread remainder is
//   drained so the connection can be reused.
// - Limits, with clear responses: request head over `max_head` → 431,
//   target over `max_target` → 414, body over the route's limit → 413
//   (before reading it when Content-Length says so), malformed request →
//   400 with llhttp's reason; each then closes the connection. These, and
//   404, 405, 503 (too many connections) and 500 (a handler that threw),
//   are text/plain with `error_headers` added. The first
//   request head must be complete within `head_timeout` of the accept, each
//   later one within `idle_timeout` of the previous response (a partial head
//   then gets 408 and the connection closes; a keep-alive connection that
//   sent nothing is closed quietly); each body read waits at most
//   `body_timeout`. These bounds are per-connection timer restarts, not
//   extra tasks. At `max_connections`, new connections get 503 and are
//   closed.
// - Handlers: a handler that throws before responding gets the client a
//   500; one that throws mid-response has its connection closed; one that
//   returns without responding gets a 500, one that returns mid-response
//   has its response finished.
// - Shutdown: when the task awaiting `serve` is stopped, the server stops
//   accepting, closes idle connections, lets requests in flight finish for
//   up to `shutdown_grace`, then cancels what is left and returns.
// - Loop thread only; one server may serve several listeners of one loop.
//   For several loops, run one server per loop (LoopGroup, SO_REUSEPORT).
#pragma once

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>

#include "cipherline/http/byte_stream.hpp"
#include "cipherline/http/router.hpp"
#include "cipherline/http/tls.hpp"
#include "cipherline/runtime/tcp_listener.hpp"

namespace cipherline::http {

struct ServerOptions {
  std::size_t max_head = 64 * 1024;
  std::size_t max_target = 8 * 1024;
  std::chrono::milliseconds head_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::chrono::milliseconds body_timeout{60'000};
  std::size_t max_connections = 10'000;
  std::chrono::milliseconds shutdown_grace{10'000};
  // Added to every response the server makes itself (not the handlers'):
  // a backend marks them "Privatemode-Encrypted: false", say.
  Headers error_headers{};
};

class HttpServer {
 public:
  explicit HttpServer(Router router, ServerOptions options = {});
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // serve accepts connections on `listener` until the awaiting task is
  // stopped, then shuts down gracefully (see above) and returns.
  Task<void> serve(TcpListener& listener);
  // serve_tls is serve with a TLS handshake (within head_timeout) on every
  // connection, using the context's current certificate.
  Task<void> serve_tls(TcpListener& listener, std::shared_ptr<TlsServerContext> tls);

  // serve_connection serves one connection until it closes (for streams the
  // server did not accept itself, such as TLS).
  Task<void> serve_connection(std::unique_ptr<ByteStream> stream, SocketAddress peer);

  std::size_t active_connections() const noexcept { return connections_.size(); }
  std::uint64_t requests_served() const noexcept { return requests_served_; }

 private:
  struct Connection;
  Task<void> accept_loop(TcpListener& listener, std::shared_ptr<TlsServerContext> tls);
  Task<void> run_connection(Connection& c);
  Task<bool> handle_one(Connection& c, bool first);
  void drain_idle() noexcept;

  Router router_;
  ServerOptions options_;
  std::list<Connection*> connections_;
  bool draining_ = false;
  std::uint64_t requests_served_ = 0;
};

}  // namespace cipherline::http
