// Fuzz target: the HTTP server reading requests. The input (first byte: the
// read size) is one connection's bytes; the server must answer or close
// without crashing, and whatever it writes must be HTTP/1.1 responses.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "cipherline/http/server.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "memory_stream.hpp"

using namespace cipherline;

namespace {

http::Router& router() {
  static http::Router r = [] {
    http::Router router;
    router.add("GET", "/", [](http::Request&, http::ResponseWriter& w) -> Task<void> {
      (void)co_await w.respond(200, {}, "ok");
    });
    router.add("POST", "/echo",
               [](http::Request& req, http::ResponseWriter& w) -> Task<void> {
                 auto body = co_await req.body.read_all(4096);
                 (void)co_await w.respond(body ? 200 : 400, {},
                                          body ? *body : body.error().message());
               },
               {.max_body = 4096});
    router.add_prefix("*", "/stream/",
                      [](http::Request& req, http::ResponseWriter& w) -> Task<void> {
                        (void)co_await w.start(200, {});
                        while (true) {
                          auto chunk = co_await req.body.next();
                          if (!chunk || chunk->empty()) break;
                          (void)co_await w.write(*chunk);
                        }
                        (void)co_await w.finish();
                      });
    return router;
  }();
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Loop loop;
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 97;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string output;
  http::ServerOptions options;
  options.max_head = 2048;
  options.max_target = 512;
  http::HttpServer server(router(), options);
  sync_wait(loop, server.serve_connection(
                      std::make_unique<fuzzing::MemoryByteStream>(input, piece, output),
                      SocketAddress::parse("127.0.0.1:1")));
  if (!output.empty() && !output.starts_with("HTTP/1.1 ")) std::abort();
  return 0;
}
