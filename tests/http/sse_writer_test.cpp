// SseWriter: the wire form round-trips through SseReader, and events reach
// a client over a real server as they are sent.
#include "cipherline/http/sse_writer.hpp"

#include <gtest/gtest.h>

#include "cipherline/http/client.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "server_fixture.hpp"

namespace cipherline::http {
namespace {

std::vector<std::string> read_all_events(std::string_view wire) {
  SseReader reader;
  reader.feed(wire);
  std::vector<std::string> out;
  while (true) {
    auto ev = reader.next();
    if (!ev || !*ev) break;
    out.push_back(std::string((*ev)->type) + "|" + std::string((*ev)->last_event_id) + "|" +
                  std::string((*ev)->data));
  }
  return out;
}

TEST(SseWriter, FormatRoundTripsThroughTheReader) {
  std::string wire;
  SseWriter::format_event(wire, "plain");
  SseWriter::format_event(wire, "two\nlines", "update", "7");
  SseWriter::format_event(wire, "crlf\r\nand\rcr");
  SseWriter::format_event(wire, "");
  SseWriter::format_event(wire, "trailing\n");
  EXPECT_EQ(
      read_all_events(wire),
      (std::vector<std::string>{"message||plain", "update|7|two\nlines", "message|7|crlf\nand\ncr",
                                "message|7|", "message|7|trailing\n"}));
}

TEST(SseWriter, RejectsLineBreaksInFields) {
  std::string wire;
  EXPECT_THROW(SseWriter::format_event(wire, "x", "bad\nevent"), std::invalid_argument);
  EXPECT_THROW(SseWriter::format_event(wire, "x", {}, std::string("a\0b", 3)),
               std::invalid_argument);
}

TEST(SseWriter, EventsOverHttp) {
  Loop loop;
  Router r;
  r.add("GET", "/events", [](Request&, ResponseWriter& w) -> Task<void> {
    SseWriter sse(w);
    (co_await sse.start()).value();
    (co_await sse.comment("keep-alive")).value();
    for (int i = 0; i < 100; ++i) (co_await sse.send("token " + std::to_string(i))).value();
    (co_await sse.send("[DONE]")).value();
    (co_await sse.finish()).value();
  });
  HttpServer server(std::move(r));
  HttpClient client;
  sync_wait(loop, testing::with_server(server, [&](SocketAddress a) -> Task<void> {
              auto resp = (co_await client.request(Origin::parse("http://" + a.to_string()).value(),
                                                   {.target = "/events"}))
                              .value();
              EXPECT_EQ(resp.head().headers.get("Content-Type"), "text/event-stream");
              SseReader reader;
              std::vector<std::string> got;
              while (true) {
                auto chunk = (co_await resp.body().next()).value();
                if (chunk.empty()) break;
                reader.feed(chunk);
                while (true) {
                  auto ev = reader.next().value();
                  if (!ev) break;
                  got.emplace_back(ev->data);
                }
              }
              EXPECT_EQ(got.size(), 101u);
              if (got.size() != 101u) co_return;
              EXPECT_EQ(got[0], "token 0");
              EXPECT_EQ(got[99], "token 99");
              EXPECT_EQ(got[100], "[DONE]");
            }));
}

}  // namespace
}  // namespace cipherline::http
