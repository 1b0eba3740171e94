// The synthetic model over HTTP: each API's whole and streamed answers echo
// the last user message word by word with usage counts; embeddings are
// deterministic; bad requests get 400 naming the problem.
#include "cipherline/backend/synthetic_model.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "../http/server_fixture.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/http/sse_reader.hpp"

namespace cipherline::backend {
namespace {

struct Reply {
  int status = 0;
  std::string body;
};

Task<Reply> call(http::HttpClient& client, SocketAddress a, std::string method, std::string target,
                 std::string body = {}) {
  auto r = co_await client.request(
      http::Origin::parse("http://" + a.to_string()).value(),
      {.method = std::move(method), .target = std::move(target), .body = std::move(body)});
  if (!r) co_return Reply{0, r.error().message()};
  co_return Reply{r->status(), (co_await r->body().read_all()).value()};
}

// The (type, data) pairs of an event stream.
std::vector<std::pair<std::string, std::string>> events(const std::string& stream) {
  http::SseReader reader;
  reader.feed(stream);
  std::vector<std::pair<std::string, std::string>> out;
  while (auto ev = reader.next().value()) out.emplace_back(ev->type, ev->data);
  return out;
}

template <class Body>
void with_model(Body body) {
  Loop loop;
  SyntheticModel model;
  http::Router router;
  model.add_routes(router);
  http::HttpServer server(std::move(router));
  sync_wait(loop, http::testing::with_server(server, [&](SocketAddress a) -> Task<void> {
              http::HttpClient client({.proxy = http::ProxySettings{}});
              co_await body(client, a);
            }));
}

TEST(SyntheticModel, ChatEchoesTheLastUserMessage) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const std::string request =
        R"({"model":"synthetic","messages":[{"role":"system","content":"be brief"},)"
        R"({"role":"user","content":"first question"},{"role":"assistant","content":"x"},)"
        R"({"role":"user","content":[{"type":"text","text":"hello  there   world"}]}]})";
    const Reply whole = co_await call(client, a, "POST", "/v1/chat/completions", request);
    EXPECT_EQ(whole.status, 200) << whole.body;
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(whole.body);
    EXPECT_EQ(std::string_view(doc["choices"].at(0)["message"]["content"]), "hello  there   world");
    EXPECT_EQ(std::int64_t(doc["usage"]["completion_tokens"]), 3);
    EXPECT_EQ(std::int64_t(doc["usage"]["prompt_tokens"]), 8);  // 2 + 2 + 1 + 3

    std::string streamed_request = request;
    streamed_request.insert(1, R"("stream":true,"stream_options":{"include_usage":true},)");
    const Reply stream = co_await call(client, a, "POST", "/v1/chat/completions", streamed_request);
    EXPECT_EQ(stream.status, 200);
    const auto evs = events(stream.body);
    EXPECT_EQ(evs.size(), 6u) << stream.body;  // 3 words, the stop chunk, usage, [DONE]
    if (evs.size() != 6) co_return;
    std::string text;
    for (std::size_t i = 0; i < 3; ++i) {
      simdjson::dom::parser p;
      text += std::string(
          std::string_view(p.parse(evs[i].second)["choices"].at(0)["delta"]["content"]));
    }
    EXPECT_EQ(text, "hello  there   world");  // the tokens join to the text
    EXPECT_NE(evs[3].second.find(R"("finish_reason":"stop")"), std::string::npos);
    EXPECT_NE(evs[4].second.find(R"("completion_tokens":3)"), std::string::npos);
    EXPECT_EQ(evs[5].second, "[DONE]");
  });
}

TEST(SyntheticModel, CompletionsAnthropicAndModels) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const Reply models = co_await call(client, a, "GET", "/v1/models");
    EXPECT_NE(models.body.find(R"("id":"synthetic")"), std::string::npos) << models.body;

    const Reply completion =
        co_await call(client, a, "POST", "/v1/completions",
                      R"({"model":"synthetic","prompt":"one two","stream":true})");
    const auto cevs = events(completion.body);
    EXPECT_EQ(cevs.size(), 4u) << completion.body;
    if (cevs.size() != 4) co_return;
    EXPECT_NE(cevs[0].second.find(R"("text":"one ")"), std::string::npos);
    EXPECT_EQ(cevs[3].second, "[DONE]");

    const Reply anthropic = co_await call(
        client, a, "POST", "/v1/messages",
        R"({"model":"synthetic","max_tokens":10,"stream":true,"messages":[{"role":"user","content":"a b"}]})");
    const auto aevs = events(anthropic.body);
    std::vector<std::string> types;
    for (const auto& [type, data] : aevs) types.push_back(type);
    EXPECT_EQ(types,
              (std::vector<std::string>{"message_start", "content_block_start",
                                        "content_block_delta", "content_block_delta",
                                        "content_block_stop", "message_delta", "message_stop"}));
    if (aevs.size() != 7) co_return;
    EXPECT_NE(aevs[2].second.find(R"("text":"a ")"), std::string::npos);
    EXPECT_NE(aevs[5].second.find(R"("output_tokens":2)"), std::string::npos);

    const Reply whole =
        co_await call(client, a, "POST", "/v1/messages",
                      R"({"model":"synthetic","messages":[{"role":"user","content":"a b"}]})");
    EXPECT_NE(whole.body.find(R"("text":"a b")"), std::string::npos) << whole.body;
    EXPECT_NE(whole.body.find(R"("stop_reason":"end_turn")"), std::string::npos);
  });
}

TEST(SyntheticModel, EmbeddingsAreDeterministic) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const std::string request = R"({"model":"synthetic","input":["same text","other"]})";
    const Reply first = co_await call(client, a, "POST", "/v1/embeddings", request);
    const Reply second = co_await call(client, a, "POST", "/v1/embeddings", request);
    EXPECT_EQ(first.status, 200) << first.body;
    EXPECT_EQ(first.body, second.body);
    simdjson::dom::parser parser;
    const simdjson::dom::element doc = parser.parse(first.body);
    const simdjson::dom::array a0 = doc["data"].at(0)["embedding"];
    const simdjson::dom::array a1 = doc["data"].at(1)["embedding"];
    EXPECT_EQ(a0.size(), 16u);
    EXPECT_NE(double(a0.at(0)), double(a1.at(0)));
    for (simdjson::dom::element v : a0) {
      EXPECT_GE(double(v), -1.0);
      EXPECT_LE(double(v), 1.0);
    }
  });
}

TEST(SyntheticModel, BadRequestsAreNamed) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const auto message = [&](std::string target, std::string body) -> Task<std::string> {
      const Reply r = co_await call(client, a, "POST", std::move(target), std::move(body));
      EXPECT_EQ(r.status, 400) << r.body;
      co_return r.body;
    };
    EXPECT_NE((co_await message("/v1/chat/completions", "{")).find("not valid JSON"),
              std::string::npos);
    EXPECT_NE((co_await message("/v1/chat/completions", R"({"model":"gpt-4","messages":[]})"))
                  .find(R"(unknown model \"gpt-4\")"),
              std::string::npos);
    EXPECT_NE(
        (co_await message("/v1/chat/completions",
                          R"({"model":"synthetic","messages":[{"role":"system","content":"x"}]})"))
            .find("no message has the role"),
        std::string::npos);
    EXPECT_NE((co_await message("/v1/embeddings", R"({"model":"synthetic"})")).find("missing"),
              std::string::npos);
  });
}

}  // namespace
}  // namespace cipherline::backend
