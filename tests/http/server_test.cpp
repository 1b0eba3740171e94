// HttpServer against real clients: curl (keep-alive, chunked upload,
// streaming with --no-buffer) and byte-exact requests over raw TCP.
#include "cipherline/http/server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/loop_group.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "server_fixture.hpp"

namespace cipherline::http {
namespace {

using namespace std::chrono_literals;
using testing::read_until;
using testing::read_until_closed;
using testing::run_command;
using testing::url;
using testing::with_server;

Router basic_router() {
  Router r;
  r.add("GET", "/hello", [](Request&, ResponseWriter& w) -> Task<void> {
    Headers h;
    h.add("Content-Type", "text/plain");
    (void)co_await w.respond(200, std::move(h), "hello\n");
  });
  r.add("GET", "/peer", [](Request& req, ResponseWriter& w) -> Task<void> {
    (void)co_await w.respond(200, {}, req.peer.to_string() + "\n");
  });
  r.add("POST", "/digest",
        [](Request& req, ResponseWriter& w) -> Task<void> {
          // Streams the body through SHA-256 chunk by chunk.
          std::string all;
          std::size_t chunks = 0;
          while (true) {
            auto chunk = co_await req.body.next();
            if (!chunk) {
              (void)co_await w.respond(400, {}, chunk.error().message());
              co_return;
            }
            if (chunk->empty()) break;
            ++chunks;
            all.append(as_string(*chunk));
          }
          (void)co_await w.respond(200, {},
                                   std::to_string(all.size()) + " " +
                                       crypto::to_hex(crypto::sha256(as_bytes(all))) + "\n");
        },
        {.max_body = 1 << 20});
  r.add("GET", "/throw", [](Request&, ResponseWriter&) -> Task<void> {
    throw std::runtime_error("handler bug");
    co_return;
  });
  r.add("GET", "/silent", [](Request&, ResponseWriter&) -> Task<void> { co_return; });
  return r;
}

TEST(HttpServer, CurlGetsAResponse) {
  Loop loop;
  HttpServer server(basic_router());
  sync_wait(loop, with_server(server, [](SocketAddress a) -> Task<void> {
              auto r = co_await run_command("curl -s -i " + url(a, "/hello"));
              EXPECT_EQ(r.status, 0);
              EXPECT_NE(r.output.find("HTTP/1.1 200 OK"), std::string::npos) << r.output;
              EXPECT_NE(r.output.find("Content-Length: 6"), std::string::npos) << r.output;
              EXPECT_TRUE(r.output.ends_with("\r\n\r\nhello\n")) << r.output;
            }));
}

TEST(HttpServer, CurlReusesTheConnection) {
  Loop loop;
  HttpServer server(basic_router());
  sync_wait(loop, with_server(server, [](SocketAddress a) -> Task<void> {
              // Both requests in one curl run: same client port means one connection.
              auto r = co_await run_command("curl -s " + url(a, "/peer") + " " + url(a, "/peer"));
              EXPECT_EQ(r.status, 0);
              const auto newline = r.output.find('\n');
              EXPECT_EQ(r.output.substr(0, newline + 1), r.output.substr(newline + 1)) << r.output;
            }));
  EXPECT_EQ(server.requests_served(), 2u);
}

TEST(HttpServer, ChunkedUploadIsStreamedToTheHandler) {
  Loop loop;
  HttpServer server(basic_router());
  char path[] = "/tmp/cipherline-upload-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string data;
  for (int i = 0; i < 200'000; ++i) data += static_cast<char>('a' + i % 26);
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
  const std::string expected =
      std::to_string(data.size()) + " " + crypto::to_hex(crypto::sha256(as_bytes(data))) + "\n";
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              auto chunked =
                  co_await run_command("curl -s -H 'Transfer-Encoding: chunked' --data-binary @" +
                                       std::string(path) + " " + url(a, "/digest"));
              EXPECT_EQ(chunked.output, expected);
              // With Content-Length, and curl's "Expect: 100-continue" for big bodies.
              auto sized = co_await run_command("curl -s --data-binary @" + std::string(path) +
                                                " " + url(a, "/digest"));
              EXPECT_EQ(sized.output, expected);
            }));
  ::unlink(path);
}

TEST(HttpServer, StreamedChunksReachTheClientAsTheyAreWritten) {
  Loop loop;
  Channel<int> client_saw(1);
  Router r;
  r.add("GET", "/stream", [&](Request&, ResponseWriter& w) -> Task<void> {
    (co_await w.start(200, {})).value();
    for (int i = 0; i < 5; ++i) {
      (co_await w.write("token-" + std::to_string(i) + "\n")).value();
      // Wait until the client has this token before producing the next one:
      // only unbuffered delivery lets this finish.
      (co_await client_saw.receive()).value();
    }
    (co_await w.finish()).value();
  });
  HttpServer server(std::move(r));
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              auto s = (co_await TcpStream::connect(a)).value();
              (co_await s.write(as_bytes("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"))).value();
              std::string carry;
              const std::string head = co_await read_until(s, "\r\n\r\n", carry);
              EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos) << head;
              for (int i = 0; i < 5; ++i) {
                const std::string token = "token-" + std::to_string(i) + "\n";
                const std::string got = co_await read_until(s, token, carry);
                EXPECT_TRUE(got.ends_with(token)) << got;
                (co_await client_saw.send(i)).value();
              }
              EXPECT_EQ(co_await read_until(s, "0\r\n\r\n", carry), "\r\n0\r\n\r\n");
            }));
}

TEST(HttpServer, CurlNoBufferStreaming) {
  Loop loop;
  Router r;
  r.add("GET", "/sse", [](Request&, ResponseWriter& w) -> Task<void> {
    Headers h;
    h.add("Content-Type", "text/event-stream");
    (co_await w.start(200, std::move(h))).value();
    for (int i = 0; i < 20; ++i) (co_await w.write("data: " + std::to_string(i) + "\n\n")).value();
    (co_await w.finish()).value();
  });
  HttpServer server(std::move(r));
  sync_wait(loop, with_server(server, [](SocketAddress a) -> Task<void> {
              auto out = co_await run_command("curl -s --no-buffer " + url(a, "/sse"));
              std::string expected;
              for (int i = 0; i < 20; ++i) expected += "data: " + std::to_string(i) + "\n\n";
              EXPECT_EQ(out.output, expected);
            }));
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Loop loop;
  HttpServer server(basic_router());
  sync_wait(loop, with_server(server, [](SocketAddress a) -> Task<void> {
              auto s = (co_await TcpStream::connect(a)).value();
              (co_await s.write(
                   as_bytes("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
                            "POST /digest HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                            "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")))
                  .value();
              const std::string all = co_await read_until_closed(s);
              const auto first = all.find("hello\n");
              const auto second =
                  all.find("3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n");
              const auto third = all.rfind("hello\n");
              EXPECT_NE(first, std::string::npos) << all;
              EXPECT_NE(second, std::string::npos) << all;
              EXPECT_LT(first, second);
              EXPECT_LT(second, third);
              EXPECT_NE(all.find("Connection: close"), std::string::npos) << all;
            }));
  EXPECT_EQ(server.requests_served(), 3u);
}

// Sends `request` on a fresh connection and returns everything until close.
Task<std::string> exchange(SocketAddress a, std::string request) {
  auto s = (co_await TcpStream::connect(a)).value();
  (void)co_await s.write(as_bytes(request));
  co_return co_await read_until_closed(s);
}

// The server's own answers carry error_headers (a backend marks them
// unencrypted); a handler's answers do not.
TEST(HttpServer, ItsOwnAnswersCarryTheErrorHeaders) {
  Loop loop;
  ServerOptions options;
  options.error_headers.add("Privatemode-Encrypted", "false");
  HttpServer server(basic_router(), options);
  sync_wait(loop, with_server(server, [](SocketAddress a) -> Task<void> {
              for (const std::string& request :
                   {std::string("GET /nowhere HTTP/1.1\r\nConnection: close\r\n\r\n"),
                    std::string("POST /digest HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n"),
                    std::string("HELLO THERE\r\n\r\n")}) {
                auto answer = co_await exchange(a, request);
                EXPECT_NE(answer.find("\r\nPrivatemode-Encrypted: false\r\n"), std::string::npos)
                    << answer;
              }
              auto handled =
                  co_await exchange(a, "GET /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
              EXPECT_TRUE(handled.starts_with("HTTP/1.1 200")) << handled;
              EXPECT_EQ(handled.find("Privatemode-Encrypted"), std::string::npos) << handled;
            }));
}

TEST(HttpServer, LimitsAndMalformedRequests) {
  Loop loop;
  ServerOptions options;
  options.max_head = 4096;
  options.max_target = 1024;
  HttpServer server(basic_router(), options);
  sync_wait(
      loop, with_server(server, [](SocketAddress a) -> Task<void> {
        auto big_header = co_await exchange(
            a, "GET /hello HTTP/1.1\r\nX-Big: " + std::string(5000, 'x') + "\r\n\r\n");
        EXPECT_TRUE(big_header.starts_with("HTTP/1.1 431 Request Header Fields Too Large"))
            << big_header;
        EXPECT_NE(big_header.find("4096-byte limit"), std::string::npos) << big_header;

        auto long_url =
            co_await exchange(a, "GET /" + std::string(2000, 'u') + " HTTP/1.1\r\n\r\n");
        EXPECT_TRUE(long_url.starts_with("HTTP/1.1 414 URI Too Long")) << long_url;

        auto too_big =
            co_await exchange(a, "POST /digest HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n");
        EXPECT_TRUE(too_big.starts_with("HTTP/1.1 413 Content Too Large")) << too_big;
        EXPECT_NE(too_big.find("exceeds the 1048576-byte limit of /digest"), std::string::npos)
            << too_big;

        auto garbage = co_await exchange(a, "HELLO THERE\r\n\r\n");
        EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400 Bad Request")) << garbage;
        EXPECT_NE(garbage.find("malformed HTTP message"), std::string::npos) << garbage;

        auto nul = co_await exchange(a, std::string("GET /hello HTTP/1.1\r\nX: a\0b\r\n\r\n", 31));
        EXPECT_TRUE(nul.starts_with("HTTP/1.1 400")) << nul;

        // Chunked body over the route limit: found while reading, 400 from the handler.
        std::string chunked = "POST /digest HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (int i = 0; i < 40; ++i) chunked += "8000\r\n" + std::string(0x8000, 'c') + "\r\n";
        chunked += "0\r\n\r\n";
        auto over = co_await exchange(a, chunked);
        EXPECT_NE(over.find("body larger than the 1048576-byte limit"), std::string::npos)
            << over.substr(0, 200);
      }));
}

TEST(HttpServer, RoutingErrorsAndHandlerFailures) {
  Loop loop;
  HttpServer server(basic_router());
  sync_wait(
      loop, with_server(server, [](SocketAddress a) -> Task<void> {
        auto missing = co_await exchange(a, "GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n");
        EXPECT_TRUE(missing.starts_with("HTTP/1.1 404 Not Found")) << missing;
        auto wrong_method =
            co_await exchange(a, "DELETE /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
        EXPECT_TRUE(wrong_method.starts_with("HTTP/1.1 405 Method Not Allowed")) << wrong_method;
        EXPECT_NE(wrong_method.find("Allow: GET"), std::string::npos) << wrong_method;
        auto thrown = co_await exchange(a, "GET /throw HTTP/1.1\r\n\r\n");
        EXPECT_TRUE(thrown.starts_with("HTTP/1.1 500 Internal Server Error")) << thrown;
        auto silent = co_await exchange(a, "GET /silent HTTP/1.1\r\n\r\n");
        EXPECT_NE(silent.find("the handler did not respond"), std::string::npos) << silent;
        auto head = co_await exchange(a, "HEAD /hello HTTP/1.1\r\nConnection: close\r\n\r\n");
        EXPECT_NE(head.find("Content-Length: 6"), std::string::npos) << head;
        EXPECT_TRUE(head.ends_with("\r\n\r\n")) << "no body for HEAD: " << head;
        auto old = co_await exchange(a, "GET /hello HTTP/1.0\r\n\r\n");
        EXPECT_NE(old.find("Connection: close"), std::string::npos) << old;
      }));
}

TEST(HttpServer, ExpectContinueIsAnsweredWhenTheBodyIsRead) {
  Loop loop;
  HttpServer server(basic_router());
  sync_wait(loop, with_server(server, [](SocketAddress a) -> Task<void> {
              auto s = (co_await TcpStream::connect(a)).value();
              (co_await s.write(as_bytes(
                   "POST /digest HTTP/1.1\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")))
                  .value();
              std::string carry;
              EXPECT_EQ(co_await read_until(s, "\r\n\r\n", carry), "HTTP/1.1 100 Continue\r\n\r\n");
              (co_await s.write(as_bytes("abc"))).value();
              const std::string response = co_await read_until(s, "\n3 ", carry);
              EXPECT_TRUE(response.starts_with("HTTP/1.1 200 OK")) << response;
            }));
}

TEST(HttpServer, SlowClientsGet408) {
  Loop loop;
  ServerOptions options;
  options.head_timeout = 100ms;
  HttpServer server(basic_router(), options);
  sync_wait(
      loop, with_server(server, [](SocketAddress a) -> Task<void> {
        auto s = (co_await TcpStream::connect(a)).value();
        (co_await s.write(as_bytes("GET /hello HTTP/1.1\r\nHost: sl"))).value();  // and never more
        const std::string got = co_await read_until_closed(s);
        EXPECT_TRUE(got.starts_with("HTTP/1.1 408 Request Timeout")) << got;
      }));
}

TEST(HttpServer, GracefulShutdownFinishesRequestsInFlight) {
  Loop loop;
  Channel<int> started(1);
  Channel<int> release(1);
  Router r;
  r.add("GET", "/slow", [&](Request&, ResponseWriter& w) -> Task<void> {
    (co_await started.send(1)).value();
    (co_await release.receive()).value();
    (void)co_await w.respond(200, {}, "finished\n");
  });
  HttpServer server(std::move(r));
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const SocketAddress a = listener.local_address();
  sync_wait(loop, [&]() -> Task<void> {
    std::stop_source stop;
    TaskScope scope;
    scope.spawn(with_stop_token(server.serve(listener), stop.get_token()));
    // An idle keep-alive connection and one with a request in flight.
    auto idle = (co_await TcpStream::connect(a)).value();
    auto busy = (co_await TcpStream::connect(a)).value();
    (co_await busy.write(as_bytes("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))).value();
    (co_await started.receive()).value();
    stop.request_stop();  // shutdown begins while /slow is in flight
    (co_await release.send(1)).value();
    const std::string busy_got = co_await read_until_closed(busy);
    EXPECT_NE(busy_got.find("finished"), std::string::npos) << busy_got;
    EXPECT_NE(busy_got.find("Connection: close"), std::string::npos) << busy_got;
    EXPECT_EQ(co_await read_until_closed(idle), "") << "idle connections are closed";
    co_await scope.join();
    EXPECT_EQ(server.active_connections(), 0u);
  }());
}

TEST(HttpServerLimits, ConnectionsBeyondTheMaximumGet503) {
  Loop loop;
  HttpServer server(basic_router(), {.max_connections = 2});
  sync_wait(loop, with_server(server, [&](SocketAddress a) -> Task<void> {
              const std::string_view get = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
              std::string carry;
              auto first = (co_await TcpStream::connect(a)).value();
              auto second = (co_await TcpStream::connect(a)).value();
              for (TcpStream* s : {&first, &second}) {  // both are being served
                (co_await s->write(as_bytes(get))).value();
                EXPECT_NE((co_await read_until(*s, "hello\n", carry)).find("200 OK"),
                          std::string::npos);
              }
              EXPECT_EQ(server.active_connections(), 2u);

              auto third = (co_await TcpStream::connect(a)).value();
              const std::string refused = co_await read_until_closed(third);
              EXPECT_TRUE(refused.starts_with("HTTP/1.1 503 Service Unavailable")) << refused;
              EXPECT_NE(refused.find("too many connections"), std::string::npos) << refused;

              // A slot freed is a slot available again.
              first.close();
              for (int i = 0; i < 500 && server.active_connections() > 1; ++i) {
                (void)co_await sleep_for(2ms);
              }
              auto fourth = (co_await TcpStream::connect(a)).value();
              (co_await fourth.write(as_bytes(get))).value();
              EXPECT_NE((co_await read_until(fourth, "hello\n", carry)).find("200 OK"),
                        std::string::npos);
              (co_await second.write(as_bytes(get))).value();  // the survivor still works
              EXPECT_NE((co_await read_until(second, "hello\n", carry)).find("200 OK"),
                        std::string::npos);
            }));
}

TEST(HttpServerLoopGroup, OneServerPerLoopSharesThePort) {
  constexpr std::size_t kLoops = 2;
  constexpr int kClients = 32;
  LoopGroup group(kLoops);
  std::atomic<std::uint16_t> port{0};
  std::atomic<int> listening{0};
  std::atomic<std::uint64_t> served[kLoops] = {0, 0};
  std::atomic<int> failures{0};
  std::string served_by;
  group.run([&](std::size_t i) -> Task<void> {
    Router r;
    r.add("GET", "/loop", [i](Request&, ResponseWriter& w) -> Task<void> {
      (void)co_await w.respond(200, {}, std::to_string(i));
    });
    HttpServer server(std::move(r));
    // Loop 0 picks the port; the others bind the same one.
    if (i != 0) {
      while (port.load() == 0) std::this_thread::yield();
    }
    auto listener = TcpListener::bind(
        SocketAddress::parse("127.0.0.1:" + std::to_string(port.load())), {.reuse_port = true});
    if (i == 0) port = listener.local_address().port();
    ++listening;
    TaskScope scope;  // joining it when the group stops stops the server
    scope.spawn(server.serve(listener));
    if (i == 0) {
      while (listening.load() < static_cast<int>(kLoops)) (void)co_await sleep_for(1ms);
      // One connection per transfer, which the kernel spreads over the
      // listeners.
      std::string command = "curl -s -H 'Connection: close' --parallel --parallel-immediate";
      for (int c = 0; c < kClients; ++c) {
        command += " http://127.0.0.1:" + std::to_string(port.load()) + "/loop";
      }
      auto r = co_await run_command(command + " 2>/dev/null");  // no parallel progress meter
      if (r.status != 0) ++failures;
      served_by = r.output;
      group.request_stop();
    }
    co_await scope.join();
    served[i] = server.requests_served();
  });
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(served_by.size(), static_cast<std::size_t>(kClients)) << served_by;
  EXPECT_EQ(served[0] + served[1], static_cast<std::uint64_t>(kClients));
  // 32 connections all hashed to one listener would be a 1 in 2^31 event.
  EXPECT_GT(served[0].load(), 0u);
  EXPECT_GT(served[1].load(), 0u);
  EXPECT_NE(served_by.find('0'), std::string::npos);
  EXPECT_NE(served_by.find('1'), std::string::npos);
}

}  // namespace
}  // namespace cipherline::http
