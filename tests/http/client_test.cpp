// HttpClient against the project's server and against scripted raw-TCP
// servers: reuse, limits per origin, streaming, stale connections, errors.
#include "cipherline/http/client.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cipherline/http/error.hpp"
#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "server_fixture.hpp"

namespace cipherline::http {
namespace {

using namespace std::chrono_literals;
using testing::with_server;

Origin origin_of(SocketAddress a) { return Origin::parse("http://" + a.to_string()).value(); }

Router echo_router() {
  Router r;
  r.add("*", "/echo", [](Request& req, ResponseWriter& w) -> Task<void> {
    auto body = (co_await req.body.read_all()).value();
    Headers h;
    h.add("X-Method", req.head.method);
    (void)co_await w.respond(200, std::move(h), body);
  });
  r.add("GET", "/peer", [](Request& req, ResponseWriter& w) -> Task<void> {
    (void)co_await w.respond(200, {}, req.peer.to_string());
  });
  return r;
}

TEST(Origin, Parse) {
  auto a = Origin::parse("http://example.com").value();
  EXPECT_EQ(a.host, "example.com");
  EXPECT_EQ(a.port, 80);
  auto b = Origin::parse("https://[::1]:8443/path?q").value();
  EXPECT_EQ(b.scheme, "https");
  EXPECT_EQ(b.host, "[::1]");
  EXPECT_EQ(b.port, 8443);
  EXPECT_EQ(b.to_string(), "https://[::1]:8443");
  EXPECT_FALSE(Origin::parse("example.com"));
  EXPECT_FALSE(Origin::parse("ftp://x"));
  EXPECT_FALSE(Origin::parse("http://x:99999"));
  EXPECT_FALSE(Origin::parse("http://:80"));
  // Errors quote the URL and say what is wrong with it.
  EXPECT_EQ(Origin::parse("http://[::1:80").error().message(),
            "URL 'http://[::1:80': unclosed '['");
  EXPECT_EQ(Origin::parse("http://x:8o").error().message(), "URL 'http://x:8o': invalid port '8o'");
  EXPECT_EQ(Origin::parse("http://[::1]x").error().message(),
            "URL 'http://[::1]x': junk after ']'");
}

TEST(HttpClient, RequestsAndReusesTheConnection) {
  Loop loop;
  HttpServer server(echo_router());
  HttpClient client;
  sync_wait(
      loop, with_server(server, [&](SocketAddress a) -> Task<void> {
        const Origin o = origin_of(a);
        std::string first_peer;
        for (int i = 0; i < 10; ++i) {
          auto r =
              (co_await client.request(
                   o, {.method = "POST", .target = "/echo", .body = "ping " + std::to_string(i)}))
                  .value();
          EXPECT_EQ(r.status(), 200);
          EXPECT_EQ(r.head().headers.get("X-Method"), "POST");
          EXPECT_EQ((co_await r.body().read_all()).value(), "ping " + std::to_string(i));
        }
        // While one response is alive its connection is busy: a second request
        // opens another. Once released, the connection is reused.
        auto p1 = (co_await client.request(o, {.target = "/peer"})).value();
        const std::string peer1 = (co_await p1.body().read_all()).value();
        auto p2 = (co_await client.request(o, {.target = "/peer"})).value();
        const std::string peer2 = (co_await p2.body().read_all()).value();
        EXPECT_NE(peer1, peer2);
      }));
  EXPECT_EQ(client.connections_made(), 2u);
}

TEST(HttpClient, OneConnectionWhenResponsesAreReleased) {
  Loop loop;
  HttpServer server(echo_router());
  HttpClient client;
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              for (int i = 0; i < 20; ++i) {
                auto r = (co_await client.request(origin_of(a), {.target = "/echo"})).value();
                EXPECT_EQ((co_await r.body().read_all()).value(), "");
              }
            }));
  EXPECT_EQ(client.connections_made(), 1u);
  EXPECT_EQ(server.requests_served(), 20u);
}

TEST(HttpClient, UnreadBodyClosesTheConnection) {
  Loop loop;
  HttpServer server(echo_router());
  HttpClient client;
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              for (int i = 0; i < 3; ++i) {
                auto r =
                    (co_await client.request(
                         origin_of(a), {.method = "POST", .target = "/echo", .body = "unread"}))
                        .value();
                EXPECT_EQ(r.status(), 200);
              }  // dropped unread
            }));
  EXPECT_EQ(client.connections_made(), 3u);
}

TEST(HttpClient, AtMostNConnectionsPerOrigin) {
  Loop loop;
  int active = 0;
  int most = 0;
  Router r;
  r.add("GET", "/slow", [&](Request&, ResponseWriter& w) -> Task<void> {
    most = std::max(most, ++active);
    (void)co_await sleep_for(5ms);
    --active;
    (void)co_await w.respond(200, {}, "done");
  });
  HttpServer server(std::move(r));
  HttpClient client({.max_connections_per_origin = 2});
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              std::vector<Task<std::string>> calls;
              for (int i = 0; i < 8; ++i) {
                calls.push_back([](HttpClient& c, Origin o) -> Task<std::string> {
                  auto resp = (co_await c.request(o, {.target = "/slow"})).value();
                  co_return (co_await resp.body().read_all()).value();
                }(client, origin_of(a)));
              }
              for (const auto& body : co_await when_all(std::move(calls))) EXPECT_EQ(body, "done");
            }));
  EXPECT_EQ(most, 2);
  EXPECT_EQ(client.connections_made(), 2u);
}

TEST(HttpClient, StreamsTheResponseBody) {
  Loop loop;
  Channel<int> client_saw(1);
  Router r;
  r.add("GET", "/stream", [&](Request&, ResponseWriter& w) -> Task<void> {
    (co_await w.start(200, {})).value();
    for (int i = 0; i < 5; ++i) {
      (co_await w.write("part" + std::to_string(i))).value();
      (co_await client_saw.receive()).value();  // the client has it before the next is written
    }
    (co_await w.finish()).value();
  });
  HttpServer server(std::move(r));
  HttpClient client;
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              auto resp = (co_await client.request(origin_of(a), {.target = "/stream"})).value();
              EXPECT_TRUE(resp.head().chunked);
              std::string got;
              for (int i = 0; i < 5; ++i) {
                const std::string want = "part" + std::to_string(i);
                while (!got.ends_with(want))
                  got += as_string((co_await resp.body().next()).value());
                (co_await client_saw.send(i)).value();
              }
              EXPECT_TRUE((co_await resp.body().next()).value().empty());
              EXPECT_EQ(got, "part0part1part2part3part4");
            }));
}

// A scripted server for one request: a chunked answer written in the given
// writes, 300 ms apart, then the connection closes.
Task<void> answer_in_writes(TcpListener& listener, std::vector<std::string> writes) {
  auto s = (co_await listener.accept()).value();
  std::string carry;
  (void)co_await testing::read_until(s, "\r\n\r\n", carry);
  (void)co_await s.write(as_bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (std::size_t i = 0; i < writes.size(); ++i) {
    if (i > 0) (void)co_await sleep_for(300ms);
    (void)co_await s.write(as_bytes(writes[i]));
  }
  (void)co_await sleep_for(100ms);
  s.close();
}

// The bursts next_burst gives for a GET of `listener`'s answer, then the
// error that followed them (none at the end).
Task<std::pair<std::vector<std::string>, std::optional<Error>>> bursts_of(HttpClient& client,
                                                                          TcpListener& listener) {
  std::vector<std::string> bursts;
  auto r = co_await client.request(origin_of(listener.local_address()), {.target = "/"});
  if (!r) co_return std::pair{bursts, std::optional<Error>(r.error())};
  std::string scratch;
  while (true) {
    auto burst = co_await r->body().next_burst(scratch);
    if (!burst) co_return std::pair{bursts, std::optional<Error>(burst.error())};
    if (burst->empty()) co_return std::pair{bursts, std::optional<Error>()};
    bursts.emplace_back(*burst);
  }
}

// next_burst gives what arrived together at once, and what has not arrived
// is not waited for: chunks written in one write come as one piece, chunks
// written apart come apart (a burst never holds back a token for the next).
TEST(HttpClient, ABurstIsWhatArrivedTogether) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  const auto [served, got] = sync_wait(
      loop, when_all(answer_in_writes(listener, {"3\r\none\r\n3\r\ntwo\r\n5\r\nthree\r\n",
                                                 "4\r\nfour\r\n", "4\r\nfive\r\n0\r\n\r\n"}),
                     bursts_of(client, listener)));
  (void)served;
  EXPECT_EQ(got.first, (std::vector<std::string>{"onetwothree", "four", "five"}));
  EXPECT_FALSE(got.second) << got.second->message();
}

// What arrived before a malformed chunk is passed on before the error.
TEST(HttpClient, ABurstKeepsWhatCameBeforeAnError) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  const auto [served, got] = sync_wait(
      loop, when_all(answer_in_writes(listener, {"3\r\none\r\n3\r\ntwo\r\nzz\r\nbad\r\n"}),
                     bursts_of(client, listener)));
  (void)served;
  EXPECT_EQ(got.first, (std::vector<std::string>{"onetwo"}));
  EXPECT_TRUE(got.second && *got.second == errc::malformed_message);
}

// A scripted server: answers each connection's first request with a
// keep-alive response, then closes the connection without saying so.
Task<void> close_after_one(TcpListener& listener, int connections) {
  for (int i = 0; i < connections; ++i) {
    auto s = (co_await listener.accept()).value();
    std::string carry;
    (void)co_await testing::read_until(s, "\r\n\r\n", carry);
    (void)co_await s.write(as_bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    s.close();
  }
}

TEST(HttpClient, RetriesOnceWhenAPooledConnectionWasClosed) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  sync_wait(loop, [&]() -> Task<void> {
    const Origin o = origin_of(listener.local_address());
    auto client_side = [&]() -> Task<void> {
      for (int i = 0; i < 2; ++i) {
        auto r = co_await client.request(o, {.target = "/"});
        EXPECT_TRUE(r) << r.error().message();
        if (r) {
          EXPECT_EQ((co_await r->body().read_all()).value(), "ok");
        }
      }
    };
    co_await when_all(close_after_one(listener, 2), client_side());
  }());
  EXPECT_EQ(client.connections_made(), 2u);
}

// A request written on a reused connection that the server then closes is
// resent once; when that resend cannot connect, the first failure is the
// answer: the request did leave, so nothing above may take it for one that
// never did (a refused connect), and resend it again.
TEST(HttpClient, AResendThatCannotConnectReportsTheFirstFailure) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  int requests = 0;
  sync_wait(loop, [&]() -> Task<void> {
    const Origin o = origin_of(listener.local_address());
    auto server = [&]() -> Task<void> {
      auto s = (co_await listener.accept()).value();
      std::string carry;
      (void)co_await testing::read_until(s, "\r\n\r\n", carry);
      ++requests;
      (void)co_await s.write(as_bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
      carry.clear();
      (void)co_await testing::read_until(s, "\r\n\r\n", carry);
      ++requests;
      listener.close();  // no one to reconnect to
      s.close();
    };
    auto client_side = [&]() -> Task<void> {
      {  // released, so the next request reuses its connection
        auto first = co_await client.request(o, {.target = "/"});
        EXPECT_TRUE(first) << first.error().message();
        if (first) EXPECT_EQ((co_await first->body().read_all()).value(), "ok");
      }
      auto second = co_await client.request(o, {.target = "/"});
      EXPECT_FALSE(second);
      if (!second) {
        EXPECT_NE(second.error(), std::errc::connection_refused) << second.error().message();
      }
    };
    co_await when_all(server(), client_side());
  }());
  EXPECT_EQ(requests, 2);
}

// A scripted server that drops a request it read: it answers the first
// request of its first connection (keep-alive), reads the second and closes
// without an answer, then answers the first request of one more connection
// and closes. `seen` gets every request line in arrival order.
Task<void> drop_the_second(TcpListener& listener, std::vector<std::string>& seen) {
  auto request_line = [](const std::string& head) { return head.substr(0, head.find("\r\n")); };
  auto s = (co_await listener.accept()).value();
  std::string carry;
  seen.push_back(request_line(co_await testing::read_until(s, "\r\n\r\n", carry)));
  (void)co_await s.write(as_bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
  seen.push_back(request_line(co_await testing::read_until(s, "\r\n\r\n", carry)));
  s.close();
  auto next = (co_await listener.accept()).value();
  carry.clear();
  seen.push_back(request_line(co_await testing::read_until(next, "\r\n\r\n", carry)));
  (void)co_await next.write(
      as_bytes("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
  next.close();
}

// Sends GET /first (released, so the next request reuses its connection),
// then `second`; returns the outcome of `second`.
Task<Result<std::string, Error>> first_then(HttpClient& client, const Origin& o,
                                            ClientRequest second) {
  {
    auto first = co_await client.request(o, {.target = "/first"});
    EXPECT_TRUE(first) << first.error().message();
    if (first) EXPECT_EQ((co_await first->body().read_all()).value(), "ok");
  }
  auto r = co_await client.request(o, std::move(second));
  if (!r) co_return r.error();
  co_return (co_await r->body().read_all()).value();
}

// A POST written whole on a reused connection that the server then closes
// without an answer may have been acted on (an inference run, a key stored):
// it fails, naming the failure, and is not resent. The server would accept a
// resend on a new connection; the next connection it sees is the GET sent
// after the failure.
TEST(HttpClient, APostThatReachedTheServerIsNotResent) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  std::vector<std::string> seen;
  sync_wait(loop, [&]() -> Task<void> {
    const Origin o = origin_of(listener.local_address());
    auto client_side = [&]() -> Task<void> {
      auto post =
          co_await first_then(client, o, {.method = "POST", .target = "/infer", .body = "{}"});
      EXPECT_FALSE(post);
      if (!post) {
        EXPECT_TRUE(post.error() == cipherline::errc::end_of_stream ||
                    post.error() == errc::incomplete_message ||
                    post.error() == std::errc::connection_reset)
            << post.error().message();
      }
      auto after = co_await client.request(o, {.target = "/after"});
      EXPECT_TRUE(after) << after.error().message();
      if (after) EXPECT_EQ((co_await after->body().read_all()).value(), "ok");
    };
    co_await when_all(drop_the_second(listener, seen), client_side());
  }());
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /first HTTP/1.1", "POST /infer HTTP/1.1",
                                            "GET /after HTTP/1.1"}));
  EXPECT_EQ(client.connections_made(), 2u);
}

// The same POST marked idempotent (a read the caller knows is safe to
// repeat) is resent once, on a new connection, and answered there.
TEST(HttpClient, AnIdempotentPostIsResentOnce) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  std::vector<std::string> seen;
  sync_wait(loop, [&]() -> Task<void> {
    const Origin o = origin_of(listener.local_address());
    auto client_side = [&]() -> Task<void> {
      auto range = co_await first_then(
          client, o,
          {.method = "POST", .target = "/v3/kv/range", .body = "{}", .idempotent = true});
      EXPECT_TRUE(range) << range.error().message();
      if (range) {
        EXPECT_EQ(*range, "ok");
      } else {  // not resent: the server still waits for its second connection
        (void)co_await client.request(o, {.target = "/after"});
      }
    };
    co_await when_all(drop_the_second(listener, seen), client_side());
  }());
  EXPECT_EQ(seen, (std::vector<std::string>{"GET /first HTTP/1.1", "POST /v3/kv/range HTTP/1.1",
                                            "POST /v3/kv/range HTTP/1.1"}));
  EXPECT_EQ(client.connections_made(), 2u);
}

// A keep-alive connection the server closed while it sat idle is not reused:
// a POST sent after the close was seen goes out on a new connection and
// succeeds (it is never written to the dead one).
TEST(HttpClient, AConnectionClosedWhileIdleIsNotReused) {
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  HttpClient client;
  sync_wait(loop, [&]() -> Task<void> {
    const Origin o = origin_of(listener.local_address());
    auto client_side = [&]() -> Task<void> {
      {
        auto first = co_await client.request(o, {.target = "/first"});
        EXPECT_TRUE(first) << first.error().message();
        if (first) EXPECT_EQ((co_await first->body().read_all()).value(), "ok");
      }
      (void)co_await sleep_for(200ms);  // the server's FIN arrives meanwhile
      auto post = co_await client.request(o, {.method = "POST", .target = "/infer", .body = "{}"});
      EXPECT_TRUE(post) << post.error().message();
      if (post) EXPECT_EQ((co_await post->body().read_all()).value(), "ok");
    };
    co_await when_all(close_after_one(listener, 2), client_side());
  }());
  EXPECT_EQ(client.connections_made(), 2u);
}

TEST(HttpClient, ErrorsNameTheOrigin) {
  Loop loop;
  SocketAddress closed;
  {
    auto l = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    closed = l.local_address();
  }
  HttpClient client({.head_timeout = 50ms});
  auto silent = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  sync_wait(loop, [&]() -> Task<void> {
    auto refused = co_await client.request(origin_of(closed), {});
    EXPECT_FALSE(refused);
    EXPECT_EQ(refused.error(), std::errc::connection_refused);
    EXPECT_NE(refused.error().message().find("connecting to http://" + closed.to_string()),
              std::string::npos)
        << refused.error().message();

    auto accepting = [&]() -> Task<void> {
      auto s = (co_await silent.accept()).value();
      std::string carry;
      (void)co_await testing::read_until(s, "\r\n\r\n", carry);
      (void)co_await testing::read_until_closed(s);  // never answers
    };
    auto asking = [&]() -> Task<Result<ClientResponse, Error>> {
      co_return co_await client.request(origin_of(silent.local_address()), {});
    };
    auto [unused, timed_out] = co_await when_all(accepting(), asking());
    (void)unused;
    EXPECT_FALSE(timed_out);
    EXPECT_EQ(timed_out.error(), http::errc::request_timeout);
    EXPECT_NE(timed_out.error().message().find("no response head"), std::string::npos);

    auto https = co_await client.request(Origin::parse("https://127.0.0.1:1").value(), {});
    EXPECT_FALSE(https);
  }());
}

}  // namespace
}  // namespace cipherline::http
