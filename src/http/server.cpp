#include "cipherline/http/server.hpp"

#include "cipherline/http/error.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/with_timeout.hpp"
#include "message_reader.hpp"

namespace cipherline::http {

struct HttpServer::Connection {
  std::unique_ptr<ByteStream> stream;
  SocketAddress peer;
  internal::MessageReader reader;
  bool idle = true;
  std::list<Connection*>::iterator registration;

  Connection(std::unique_ptr<ByteStream> s, SocketAddress p)
      : stream(std::move(s)), peer(p), reader(*stream, HTTP_REQUEST) {}
};

namespace {

// The headers of the server's own responses.
Headers text_headers(const ServerOptions& options) {
  Headers h;
  h.add("Content-Type", "text/plain; charset=utf-8");
  for (const auto& [name, value] : options.error_headers.fields()) h.add(name, value);
  return h;
}

// An error response on a connection that closes right after. What the
// client still sends (the rest of a refused body) is read and dropped for
// a while first: closing with unread bytes resets the connection, and the
// client may lose the answer before it reads it.
Task<void> respond_and_close(ByteStream& stream, int status, std::string_view message,
                             Headers headers) {
  ResponseWriter w(stream, false, false);
  (void)co_await w.respond(status, std::move(headers), std::string(message) + "\n");
  (void)co_await stream.shutdown();
  const auto until = ByteStream::Clock::now() + std::chrono::seconds(2);
  std::size_t dropped = 0;
  while (dropped < 64 * 1024 * 1024) {
    auto bytes = co_await stream.read_before(until);
    if (!bytes) break;  // the client's end, an error, or time is up
    dropped += bytes->size();
  }
}

int status_for(const Error& e) {
  if (e == errc::header_too_large) return 431;
  if (e == errc::uri_too_long) return 414;
  if (e == errc::body_too_large) return 413;
  if (e == errc::request_timeout || e == cipherline::errc::timed_out) return 408;
  return 400;
}

}  // namespace

HttpServer::HttpServer(Router router, ServerOptions options)
    : router_(std::move(router)), options_(options) {}

Task<void> HttpServer::serve(TcpListener& listener) { return accept_loop(listener, nullptr); }

Task<void> HttpServer::serve_tls(TcpListener& listener, std::shared_ptr<TlsServerContext> tls) {
  return accept_loop(listener, std::move(tls));
}

Task<void> HttpServer::accept_loop(TcpListener& listener, std::shared_ptr<TlsServerContext> tls) {
  TaskScope connections;
  while (true) {
    auto accepted = co_await listener.accept();
    if (!accepted) break;  // stopped, or the listener closed
    const SocketAddress peer = accepted->peer_address();
    if (connections_.size() >= options_.max_connections) {
      connections.spawn([](TcpStream s, Headers headers) -> Task<void> {
        TcpByteStream stream(std::move(s));
        co_await respond_and_close(stream, 503, "too many connections", std::move(headers));
      }(std::move(*accepted), text_headers(options_)));
      continue;
    }
    if (tls) {
      connections.spawn([](HttpServer& server, TcpStream s, std::shared_ptr<TlsContext> ctx,
                           SocketAddress peer) -> Task<void> {
        auto stream = co_await with_timeout(TlsStream::accept(std::move(s), std::move(ctx)),
                                            server.options_.head_timeout);
        if (stream) co_await server.serve_connection(std::move(*stream), peer);
      }(*this, std::move(*accepted), tls->current(), peer));
      continue;
    }
    connections.spawn(
        serve_connection(std::make_unique<TcpByteStream>(std::move(*accepted)), peer));
  }
  // Graceful shutdown: no new connections; idle ones close now; requests in
  // flight get the grace period, then are cancelled. The joins run under
  // their own token: this task's is already stopped.
  draining_ = true;
  drain_idle();
  auto grace = [](TaskScope& scope, std::chrono::milliseconds grace) -> Task<void> {
    (void)co_await with_timeout(scope.join(), grace);  // on timeout, join cancels the rest
  };
  co_await with_stop_token(grace(connections, options_.shutdown_grace), std::stop_token{});
  co_await with_stop_token(connections.join(), std::stop_token{});
}

void HttpServer::drain_idle() noexcept {
  for (Connection* c : connections_) {
    if (c->idle) c->stream->close();  // wakes its pending head read
  }
}

Task<void> HttpServer::serve_connection(std::unique_ptr<ByteStream> stream, SocketAddress peer) {
  Connection c(std::move(stream), peer);
  c.registration = connections_.insert(connections_.end(), &c);
  try {
    co_await run_connection(c);
  } catch (...) {
    connections_.erase(c.registration);
    throw;
  }
  connections_.erase(c.registration);
}

Task<void> HttpServer::run_connection(Connection& c) {
  bool first = true;
  while (!draining_ && co_await handle_one(c, first)) first = false;
  c.stream->close();
}

// handle_one reads and answers one request; returns whether the connection
// can carry another.
Task<bool> HttpServer::handle_one(Connection& c, bool first) {
  internal::MessageReader::Limits limits{options_.max_head, options_.max_target};
  RequestHead head;
  c.idle = true;
  auto got = co_await c.reader.read_request_head(
      head, limits,
      ByteStream::Clock::now() + (first ? options_.head_timeout : options_.idle_timeout));
  c.idle = false;
  if (!got) {
    const Error& e = got.error();
    const bool quiet = e == cipherline::errc::end_of_stream ||
                       e == cipherline::errc::stream_closed ||
                       e == cipherline::errc::operation_cancelled ||
                       e == errc::incomplete_message || e.code().category() == uv_category() ||
                       (e == cipherline::errc::timed_out && !c.reader.message_started() && !first);
    if (!quiet) {
      co_await respond_and_close(*c.stream, status_for(e), e.message(), text_headers(options_));
    }
    co_return false;
  }

  const Router::Match route = router_.match(head.method, head.path());
  if (route.handler == nullptr) {
    Headers h = text_headers(options_);
    if (route.status == 405) h.add("Allow", route.allow);
    ResponseWriter w(*c.stream, head.method == "HEAD", head.keep_alive && !head.has_body());
    (void)co_await w.respond(route.status, std::move(h),
                             route.status == 405 ? "method not allowed" : "not found");
    ++requests_served_;
    // An unread body makes the connection unusable: it was closed above.
    co_return w.keep_alive() && !draining_;
  }
  if (head.content_length && *head.content_length > route.options.max_body) {
    co_await respond_and_close(*c.stream, 413,
                               "request body of " + std::to_string(*head.content_length) +
                                   " bytes exceeds the " + std::to_string(route.options.max_body) +
                                   "-byte limit of " + std::string(head.path()),
                               text_headers(options_));
    co_return false;
  }
  c.reader.set_body_limit(route.options.max_body);
  c.reader.body_timeout = options_.body_timeout;
  ByteStream& stream = *c.stream;
  if (head.headers.has_token("Expect", "100-continue") && head.version_minor >= 1) {
    c.reader.before_first_body_read = [&stream]() -> Task<Result<void>> {
      co_return co_await stream.write_one(as_bytes("HTTP/1.1 100 Continue\r\n\r\n"));
    };
  } else {
    c.reader.before_first_body_read = nullptr;
  }

  Request request{std::move(head), BodyReader(&c.reader), c.peer};
  ResponseWriter w(stream, request.head.method == "HEAD", request.head.keep_alive, &draining_);
  std::exception_ptr failure;
  try {
    co_await (*route.handler)(request, w);
  } catch (...) {
    failure = std::current_exception();
  }
  ++requests_served_;
  if (!w.started()) {
    w.close_after();
    (void)co_await w.respond(500, text_headers(options_),
                             failure ? "internal server error" : "the handler did not respond");
    co_return false;
  }
  if (failure || w.aborted()) co_return false;  // a response cut short cannot be finished
  if (!w.finished() && !co_await w.finish()) co_return false;
  if (!w.keep_alive() || !c.reader.keep_alive() || draining_) {
    (void)co_await stream.shutdown();
    co_return false;
  }
  // Drain what the handler left of the body, so the next request parses.
  while (!c.reader.message_complete()) {
    auto chunk = co_await c.reader.next_body_chunk();
    if (!chunk || chunk->empty()) co_return chunk.has_value();
  }
  co_return true;
}

}  // namespace cipherline::http
