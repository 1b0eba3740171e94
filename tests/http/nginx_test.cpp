// Interop with Debian's nginx: the client against nginx as an upstream, and
// the server behind nginx as a reverse proxy (streaming in both directions).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>

#include "cipherline/http/client.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "cipherline/http/sse_writer.hpp"
#include "nginx_fixture.hpp"

namespace cipherline::http {
namespace {

// curl_upload streams `size` bytes from a temporary file to /upload with
// chunked transfer encoding and returns the response body.
Task<std::string> curl_upload(std::uint16_t port, std::size_t size) {
  char path[] = "/tmp/cipherline-upload-XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) co_return "mkstemp failed";
  const std::string block(64 << 10, 'u');
  for (std::size_t left = size; left > 0;) {
    const std::size_t n = std::min(left, block.size());
    if (::write(fd, block.data(), n) != static_cast<ssize_t>(n)) break;
    left -= n;
  }
  ::close(fd);
  auto r = co_await testing::run_command("curl -s -H 'Transfer-Encoding: chunked' --data-binary @" +
                                         std::string(path) +
                                         " http://127.0.0.1:" + std::to_string(port) + "/upload");
  ::unlink(path);
  co_return r.output;
}

TEST(Nginx, ClientReusesConnectionsToNginx) {
  Loop loop;
  testing::Nginx nginx(R"(
    location = /fixed { return 200 "fixed response\n"; }
    location = /chunked { chunked_transfer_encoding on; return 200 "x"; })");
  HttpClient client;
  sync_wait(loop, [&]() -> Task<void> {
    auto started = co_await nginx.start();
    EXPECT_EQ(started.status, 0) << started.output;
    const Origin o = Origin::parse("http://127.0.0.1:" + std::to_string(nginx.port())).value();
    for (int i = 0; i < 5; ++i) {
      auto r = co_await client.request(o, {.target = "/fixed"});
      EXPECT_TRUE(r) << r.error().message() << "\n" << nginx.error_log();
      if (!r) break;
      EXPECT_EQ(r->status(), 200);
      EXPECT_EQ(r->head().headers.get("Server").value_or("").substr(0, 5), "nginx");
      EXPECT_EQ((co_await r->body().read_all()).value(), "fixed response\n");
    }
    auto missing = co_await client.request(o, {.target = "/nope"});
    EXPECT_EQ(missing.value().status(), 404);
    (void)co_await missing->body().read_all();
    (void)co_await nginx.stop();
  }());
  EXPECT_EQ(client.connections_made(), 1u) << "keep-alive across 6 requests";
}

TEST(Nginx, ServerBehindNginxStreamsBothWays) {
  Loop loop;
  Router r;
  r.add("POST", "/upload",
        [](Request& req, ResponseWriter& w) -> Task<void> {
          std::size_t total = 0;
          int chunks = 0;
          while (true) {
            auto chunk = co_await req.body.next();
            if (!chunk || chunk->empty()) break;
            total += chunk->size();
            ++chunks;
          }
          (void)co_await w.respond(200, {}, std::to_string(total) + " bytes");
        },
        {.max_body = 64 << 20});
  r.add("GET", "/events", [](Request&, ResponseWriter& w) -> Task<void> {
    SseWriter sse(w);
    (co_await sse.start()).value();
    for (int i = 0; i < 50; ++i) (void)co_await sse.send("event " + std::to_string(i));
    (void)co_await sse.finish();
  });
  HttpServer server(std::move(r));
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const std::uint16_t upstream = listener.local_address().port();
  testing::Nginx nginx(R"(
    client_max_body_size 64m;
    location / {
      proxy_pass http://127.0.0.1:)" +
                       std::to_string(upstream) + R"(;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering off;
    })");
  sync_wait(loop, [&]() -> Task<void> {
    std::stop_source stop;
    TaskScope scope;
    scope.spawn(with_stop_token(server.serve(listener), stop.get_token()));
    auto started = co_await nginx.start();
    EXPECT_EQ(started.status, 0) << started.output;
    HttpClient client;
    const Origin o = Origin::parse("http://127.0.0.1:" + std::to_string(nginx.port())).value();

    auto events = co_await client.request(o, {.target = "/events"});
    EXPECT_TRUE(events) << events.error().message() << "\n" << nginx.error_log();
    if (events) {
      SseReader reader;
      int seen = 0;
      while (true) {
        auto chunk = (co_await events->body().next()).value();
        if (chunk.empty()) break;
        reader.feed(chunk);
        while (auto ev = reader.next().value()) {
          EXPECT_EQ(ev->data, "event " + std::to_string(seen));
          ++seen;
        }
      }
      EXPECT_EQ(seen, 50);
    }

    constexpr std::size_t kUpload = 3 << 20;
    auto upload = co_await curl_upload(nginx.port(), kUpload);
    EXPECT_EQ(upload, std::to_string(kUpload) + " bytes");

    (void)co_await nginx.stop();
    stop.request_stop();
    co_await scope.join();
  }());
}

}  // namespace
}  // namespace cipherline::http
