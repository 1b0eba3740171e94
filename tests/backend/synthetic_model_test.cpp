// The synthetic model over HTTP: each API's whole and streamed answers echo
// the last user message word by word with usage counts; embeddings are
// deterministic, in float or base64, of any dimension; the SDK features
// (n choices, tool calls, response_format, logprobs, reasoning, Anthropic
// tool_use) have the shapes the SDKs expect, whole and streamed; bad
// requests get 400 naming the problem.
#include "cipherline/backend/synthetic_model.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <map>

#include "../http/server_fixture.hpp"
#include "cipherline/crypto/base64.hpp"
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

// A parsed JSON document that owns its parser.
struct Doc {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  explicit Doc(std::string_view text) {
    if (parser.parse(text.data(), text.size()).get(root) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << text;
      (void)parser.parse("{}", 2).get(root);
    }
  }
  simdjson::dom::element operator[](std::string_view key) const { return root[key].value(); }
};

std::string str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

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

// The floats a base64 embedding holds (little-endian float32).
std::vector<float> floats_of_base64(std::string_view text) {
  const auto bytes = crypto::from_base64(text).value();
  EXPECT_EQ(bytes.size() % 4, 0u);
  std::vector<float> out;
  for (std::size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b) u |= std::to_integer<std::uint32_t>(bytes[i + b]) << (8 * b);
    float f = 0;
    std::memcpy(&f, &u, sizeof f);
    out.push_back(f);
  }
  return out;
}

std::vector<float> floats_of(simdjson::dom::element array) {
  std::vector<float> out;
  const simdjson::dom::array values = array;
  for (simdjson::dom::element v : values) out.push_back(static_cast<float>(double(v)));
  return out;
}

TEST(SyntheticModel, EmbeddingsInBase64AndOfAnyDimension) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const auto embed = [&](std::string options) -> Task<Reply> {
      co_return co_await call(
          client, a, "POST", "/v1/embeddings",
          R"({"model":"synthetic","input":["same text","two words"])" + options + "}");
    };
    const Reply floats = co_await embed("");
    const Reply explicit_floats = co_await embed(R"(,"encoding_format":"float")");
    const Reply base64 = co_await embed(R"(,"encoding_format":"base64")");
    EXPECT_EQ(base64.status, 200) << base64.body;
    EXPECT_EQ(floats.body, explicit_floats.body);
    const Doc f(floats.body);
    const Doc b(base64.body);
    for (std::size_t i = 0; i < 2; ++i) {
      const auto plain = floats_of(f["data"].at(i)["embedding"]);
      EXPECT_EQ(plain.size(), 16u);
      EXPECT_EQ(floats_of_base64(str(b["data"].at(i)["embedding"])), plain);
      EXPECT_EQ(std::int64_t(b["data"].at(i)["index"]), std::int64_t(i));
    }
    EXPECT_NE(floats_of(f["data"].at(0)["embedding"]), floats_of(f["data"].at(1)["embedding"]));
    EXPECT_EQ(std::int64_t(b["usage"]["prompt_tokens"]), 4);
    EXPECT_EQ(std::int64_t(b["usage"]["total_tokens"]), 4);

    // `dimensions` sets the length; the first values stay what they were.
    const Reply wide = co_await embed(R"(,"dimensions":100,"encoding_format":"base64")");
    const Reply narrow = co_await embed(R"(,"dimensions":3)");
    const Doc w(wide.body);
    const Doc n(narrow.body);
    const auto all = floats_of_base64(str(w["data"].at(0)["embedding"]));
    const auto first = floats_of(f["data"].at(0)["embedding"]);
    EXPECT_EQ(all.size(), 100u);
    EXPECT_EQ(std::vector<float>(all.begin(), all.begin() + 16), first);
    EXPECT_EQ(floats_of(n["data"].at(0)["embedding"]),
              std::vector<float>(first.begin(), first.begin() + 3));
    for (const float v : all) {
      EXPECT_GE(v, -1.0f);
      EXPECT_LE(v, 1.0f);
    }

    for (const char* bad : {R"(,"encoding_format":"int8")", R"(,"encoding_format":1)"}) {
      const Reply r = co_await embed(bad);
      EXPECT_EQ(r.status, 400) << bad;
      EXPECT_NE(r.body.find(R"(\"encoding_format\" must be \"float\" or \"base64\")"),
                std::string::npos)
          << r.body;
    }
    for (const char* bad : {R"(,"dimensions":0)", R"(,"dimensions":4097)", R"(,"dimensions":2.5)",
                            R"(,"dimensions":"8")", R"(,"dimensions":-1)"}) {
      const Reply r = co_await embed(bad);
      EXPECT_EQ(r.status, 400) << bad;
      EXPECT_NE(r.body.find(R"(\"dimensions\" must be an integer from 1 to 4096)"),
                std::string::npos)
          << r.body;
    }
  });
}

// The chunks of an OpenAI stream (without [DONE]), each parsed.
struct Chunks {
  std::vector<std::unique_ptr<Doc>> docs;
  bool done = false;
  explicit Chunks(const std::string& stream) {
    for (const auto& [type, data] : events(stream)) {
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      EXPECT_FALSE(done) << "a chunk after [DONE]";
      docs.push_back(std::make_unique<Doc>(data));
    }
  }
};

std::string chat_body(std::string options, std::string prompt = "a b") {
  return R"({"model":"synthetic","messages":[{"role":"user","content":")" + prompt + R"("}])" +
         options + "}";
}

TEST(SyntheticModel, NChoicesDifferAndStreamInterleaved) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const Reply whole =
        co_await call(client, a, "POST", "/v1/chat/completions", chat_body(R"(,"n":3)"));
    EXPECT_EQ(whole.status, 200) << whole.body;
    const Doc w(whole.body);
    const simdjson::dom::array choices = w["choices"];
    EXPECT_EQ(choices.size(), 3u);
    const std::vector<std::string> expected = {"a b", "a b [1]", "a b [2]"};
    for (std::size_t k = 0; k < 3 && k < choices.size(); ++k) {
      EXPECT_EQ(std::int64_t(choices.at(k)["index"]), std::int64_t(k));
      EXPECT_EQ(str(choices.at(k)["message"]["content"]), expected[k]);
      EXPECT_EQ(str(choices.at(k)["finish_reason"]), "stop");
    }
    EXPECT_EQ(std::int64_t(w["usage"]["completion_tokens"]), 8);  // 2 + 3 + 3
    EXPECT_EQ(std::int64_t(w["usage"]["total_tokens"]), 10);

    const Reply stream =
        co_await call(client, a, "POST", "/v1/chat/completions",
                      chat_body(R"(,"n":3,"stream":true,"stream_options":{"include_usage":true})"));
    const Chunks chunks(stream.body);
    EXPECT_TRUE(chunks.done);
    EXPECT_FALSE(chunks.docs.empty());
    if (chunks.docs.empty()) co_return;
    std::map<std::int64_t, std::string> text, finish;
    std::vector<std::int64_t> order;
    for (std::size_t i = 0; i + 1 < chunks.docs.size(); ++i) {
      const Doc& c = *chunks.docs[i];
      const simdjson::dom::array one = c["choices"];
      EXPECT_EQ(one.size(), 1u) << "one choice per chunk";
      const auto k = std::int64_t(one.at(0)["index"]);
      order.push_back(k);
      EXPECT_EQ(finish.count(k), 0u) << "choice " << k << " goes on after its finish";
      std::string_view s;
      if (one.at(0)["delta"]["content"].get(s) == simdjson::SUCCESS) text[k] += s;
      if (one.at(0)["finish_reason"].get(s) == simdjson::SUCCESS) finish[k] = s;
      EXPECT_EQ(str(c["object"]), "chat.completion.chunk");
    }
    EXPECT_EQ(text,
              (std::map<std::int64_t, std::string>{{0, "a b"}, {1, "a b [1]"}, {2, "a b [2]"}}));
    EXPECT_EQ(finish, (std::map<std::int64_t, std::string>{{0, "stop"}, {1, "stop"}, {2, "stop"}}));
    // Interleaved: each choice's first token before any choice's second.
    EXPECT_EQ(std::vector<std::int64_t>(order.begin(), order.begin() + 6),
              (std::vector<std::int64_t>{0, 1, 2, 0, 1, 2}));
    const Doc& last = *chunks.docs.back();
    EXPECT_EQ(simdjson::dom::array(last["choices"]).size(), 0u);
    EXPECT_EQ(std::int64_t(last["usage"]["completion_tokens"]), 8);

    // Legacy completions: the same choices.
    const Reply completion = co_await call(client, a, "POST", "/v1/completions",
                                           R"({"model":"synthetic","prompt":"x y","n":2})");
    const Doc c(completion.body);
    EXPECT_EQ(str(c["choices"].at(1)["text"]), "x y [1]") << completion.body;
    EXPECT_EQ(std::int64_t(c["usage"]["completion_tokens"]), 5);
    const Reply streamed =
        co_await call(client, a, "POST", "/v1/completions",
                      R"({"model":"synthetic","prompt":"x y","n":2,"stream":true})");
    const Chunks cs(streamed.body);
    std::map<std::int64_t, std::string> texts;
    for (const auto& d : cs.docs) {
      const auto choice = (*d)["choices"].at(0);
      texts[std::int64_t(choice["index"])] += str(choice["text"]);
    }
    EXPECT_EQ(texts, (std::map<std::int64_t, std::string>{{0, "x y"}, {1, "x y [1]"}}));
  });
}

const std::string kTools =
    R"(,"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object",)"
    R"("properties":{"city":{"type":"string"},"days":{"type":"integer"},"unit":{"type":"string",)"
    R"("enum":["celsius","fahrenheit"]},"detail":{"$ref":"#/$defs/detail"}},"required":["city"],)"
    R"("$defs":{"detail":{"type":"object","properties":{"hourly":{"type":"boolean"}}}}}}},)"
    R"({"type":"function","function":{"name":"lookup"}}])";

TEST(SyntheticModel, ToolCallsWholeAndStreamed) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const auto chat = [&](std::string options, std::string prompt) -> Task<Reply> {
      co_return co_await call(client, a, "POST", "/v1/chat/completions",
                              chat_body(kTools + options, prompt));
    };
    // "required": the first tool, as nothing is named; arguments to its schema.
    const Reply required = co_await chat(R"(,"tool_choice":"required")", "rain in paris");
    EXPECT_EQ(required.status, 200) << required.body;
    const Doc r(required.body);
    const auto choice = r["choices"].at(0);
    EXPECT_EQ(str(choice["finish_reason"]), "tool_calls");
    EXPECT_TRUE(choice["message"]["content"].is_null());
    const auto call0 = choice["message"]["tool_calls"].at(0);
    EXPECT_EQ(str(call0["type"]), "function");
    EXPECT_EQ(str(call0["id"]), "call_synthetic_0_0");
    EXPECT_EQ(str(call0["function"]["name"]), "get_weather");
    const Doc args(str(call0["function"]["arguments"]));
    EXPECT_EQ(str(args["city"]), "rain in paris");
    EXPECT_EQ(std::int64_t(args["days"]), 3);
    EXPECT_EQ(str(args["unit"]), "celsius");
    EXPECT_EQ(bool(args["detail"]["hourly"]), true);
    EXPECT_EQ(simdjson::dom::array(choice["message"]["tool_calls"]).size(), 1u);

    // A named tool; a tool without parameters gets {"input": text}.
    const Reply named =
        co_await chat(R"(,"tool_choice":{"type":"function","function":{"name":"lookup"}})", "q");
    const Doc nd(named.body);
    const auto named_call = nd["choices"].at(0)["message"]["tool_calls"].at(0)["function"];
    EXPECT_EQ(str(named_call["name"]), "lookup");
    EXPECT_EQ(str(named_call["arguments"]), R"({"input":"q"})");

    // "auto" (also the default): the tools the message names, else text.
    const Reply text = co_await chat("", "just talk");
    EXPECT_NE(text.body.find(R"("content":"just talk")"), std::string::npos) << text.body;
    EXPECT_NE(text.body.find(R"("finish_reason":"stop")"), std::string::npos);
    const Reply both = co_await chat(R"(,"tool_choice":"auto")", "lookup get_weather");
    const Doc b(both.body);
    const simdjson::dom::array calls = b["choices"].at(0)["message"]["tool_calls"];
    EXPECT_EQ(calls.size(), 2u) << both.body;
    EXPECT_EQ(str(calls.at(1)["id"]), "call_synthetic_0_1");
    const Reply serial = co_await chat(R"(,"parallel_tool_calls":false)", "lookup get_weather");
    const Doc se(serial.body);
    EXPECT_EQ(simdjson::dom::array(se["choices"].at(0)["message"]["tool_calls"]).size(), 1u);
    // Once a tool has answered, "auto" answers with text: a tool runner ends.
    const Reply after = co_await call(
        client, a, "POST", "/v1/chat/completions",
        R"({"model":"synthetic","messages":[{"role":"user","content":"lookup"},)"
        R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_synthetic_0_0",)"
        R"("type":"function","function":{"name":"lookup","arguments":"{}"}}]},)"
        R"({"role":"tool","tool_call_id":"call_synthetic_0_0","content":"found"}])" +
            kTools + "}");
    EXPECT_NE(after.body.find(R"("content":"lookup")"), std::string::npos) << after.body;
    EXPECT_NE(after.body.find(R"("finish_reason":"stop")"), std::string::npos);
    const Reply none = co_await chat(R"(,"tool_choice":"none")", "lookup");
    EXPECT_NE(none.body.find(R"("content":"lookup")"), std::string::npos) << none.body;

    // Streamed: per call a first delta with id, type, name and empty
    // arguments, then the arguments in several pieces.
    const Reply stream =
        co_await chat(R"(,"stream":true,"n":2,"tool_choice":"required")", "lookup get_weather");
    const Chunks chunks(stream.body);
    EXPECT_TRUE(chunks.done);
    struct Call {
      std::string id, name, arguments;
      int pieces = 0;
    };
    std::map<std::pair<std::int64_t, std::int64_t>, Call> got;  // (choice, call index)
    std::map<std::int64_t, std::string> finish;
    for (const auto& d : chunks.docs) {
      const auto c = (*d)["choices"].at(0);
      const auto k = std::int64_t(c["index"]);
      std::string_view s;
      if (c["finish_reason"].get(s) == simdjson::SUCCESS) finish[k] = s;
      simdjson::dom::array deltas;
      if (c["delta"]["tool_calls"].get(deltas) != simdjson::SUCCESS) continue;
      EXPECT_EQ(deltas.size(), 1u);
      for (simdjson::dom::element delta : deltas) {
        Call& call = got[{k, std::int64_t(delta["index"])}];
        if (delta["id"].get(s) == simdjson::SUCCESS) {
          EXPECT_EQ(call.id, "") << "a second first delta";
          call.id = s;
          EXPECT_EQ(str(delta["type"]), "function");
          call.name = str(delta["function"]["name"]);
          EXPECT_EQ(str(delta["function"]["arguments"]), "");
        } else {
          EXPECT_NE(call.id, "") << "arguments before the call's first delta";
          call.arguments += str(delta["function"]["arguments"]);
          ++call.pieces;
        }
      }
    }
    EXPECT_EQ(got.size(), 4u);  // two calls in each of two choices
    for (const auto& [at, call] : got) {
      EXPECT_EQ(call.id,
                "call_synthetic_" + std::to_string(at.first) + "_" + std::to_string(at.second));
      EXPECT_EQ(call.name, at.second == 0 ? "get_weather" : "lookup");
      EXPECT_GE(call.pieces, 2) << call.arguments;
      const Doc parsed(call.arguments);
      EXPECT_TRUE(parsed.root.is_object());
    }
    EXPECT_EQ(finish, (std::map<std::int64_t, std::string>{{0, "tool_calls"}, {1, "tool_calls"}}));
  });
}

TEST(SyntheticModel, ResponseFormatIsJsonWholeAndStreamed) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const Reply object =
        co_await call(client, a, "POST", "/v1/chat/completions",
                      chat_body(R"(,"response_format":{"type":"json_object"})", "give me json"));
    const Doc o(object.body);
    const Doc content(str(o["choices"].at(0)["message"]["content"]));
    EXPECT_EQ(str(content["reply"]), "give me json");

    const std::string schema =
        R"(,"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,)"
        R"("schema":{"type":"object","properties":{"title":{"type":"string"},)"
        R"("score":{"type":"number"},"tags":{"type":"array","items":{"type":"string"}},)"
        R"("note":{"anyOf":[{"type":"null"},{"type":"string"}]}},)"
        R"("required":["title","score","tags","note"],"additionalProperties":false}}})";
    const Reply whole = co_await call(client, a, "POST", "/v1/chat/completions",
                                      chat_body(schema, "three small words"));
    const Doc w(whole.body);
    const std::string text = str(w["choices"].at(0)["message"]["content"]);
    EXPECT_EQ(text, R"({"title":"three small words","score":3,"tags":["three small words"],)"
                    R"("note":"three small words"})");

    const Reply stream =
        co_await call(client, a, "POST", "/v1/chat/completions",
                      chat_body(schema + R"(,"stream":true)", "three small words"));
    const Chunks chunks(stream.body);
    std::string joined;
    int pieces = 0;
    for (const auto& d : chunks.docs) {
      std::string_view s;
      if ((*d)["choices"].at(0)["delta"]["content"].get(s) == simdjson::SUCCESS) {
        joined += s;
        ++pieces;
      }
    }
    EXPECT_EQ(joined, text);
    EXPECT_GE(pieces, 5);
  });
}

TEST(SyntheticModel, LogprobsPerTokenWholeAndStreamed) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const std::string options = R"(,"logprobs":true,"top_logprobs":3)";
    const Reply whole =
        co_await call(client, a, "POST", "/v1/chat/completions", chat_body(options, "the cat sat"));
    const Reply again =
        co_await call(client, a, "POST", "/v1/chat/completions", chat_body(options, "the cat sat"));
    const Doc w(whole.body);
    const Doc w2(again.body);
    EXPECT_EQ(simdjson::minify(w["choices"]), simdjson::minify(w2["choices"]))
        << "logprobs are deterministic";
    const simdjson::dom::array entries = w["choices"].at(0)["logprobs"]["content"];
    EXPECT_EQ(entries.size(), 3u) << whole.body;
    std::string tokens;
    for (simdjson::dom::element e : entries) {
      const std::string token = str(e["token"]);
      tokens += token;
      const double lp = e["logprob"];
      EXPECT_LE(lp, 0.0);
      EXPECT_GT(lp, -4.0);
      std::string bytes;
      const simdjson::dom::array b = e["bytes"];
      for (simdjson::dom::element x : b) bytes += static_cast<char>(std::int64_t(x));
      EXPECT_EQ(bytes, token);
      const simdjson::dom::array top = e["top_logprobs"];
      EXPECT_EQ(top.size(), 3u);
      EXPECT_EQ(str(top.at(0)["token"]), token);
      EXPECT_EQ(double(top.at(0)["logprob"]), lp);
      EXPECT_LT(double(top.at(1)["logprob"]), lp);
      EXPECT_NE(str(top.at(1)["token"]), token);
    }
    EXPECT_EQ(tokens, "the cat sat");
    // Without logprobs: null.
    const Reply plain = co_await call(client, a, "POST", "/v1/chat/completions", chat_body(""));
    EXPECT_TRUE(Doc(plain.body)["choices"].at(0)["logprobs"].is_null());

    // Legacy completions: tokens, token_logprobs, top_logprobs, text_offset.
    const Reply legacy =
        co_await call(client, a, "POST", "/v1/completions",
                      R"({"model":"synthetic","prompt":"the cat sat","logprobs":2})");
    const Doc l(legacy.body);
    const auto lp = l["choices"].at(0)["logprobs"];
    EXPECT_EQ(simdjson::minify(lp["tokens"]), R"(["the ","cat ","sat"])") << legacy.body;
    EXPECT_EQ(simdjson::minify(lp["text_offset"]), "[0,4,8]");
    const simdjson::dom::array token_lps = lp["token_logprobs"];
    EXPECT_EQ(token_lps.size(), 3u);
    const simdjson::dom::object top0 = lp["top_logprobs"].at(0);
    EXPECT_EQ(top0.size(), 2u);
    EXPECT_EQ(double(top0["the "]), double(token_lps.at(0)));
    const Reply legacy_stream =
        co_await call(client, a, "POST", "/v1/completions",
                      R"({"model":"synthetic","prompt":"the cat sat","logprobs":0,"stream":true})");
    const Chunks ls(legacy_stream.body);
    EXPECT_EQ(ls.docs.size(), 4u);  // three tokens, then the finish
    if (ls.docs.size() == 4) {
      EXPECT_EQ(simdjson::minify((*ls.docs[1])["choices"].at(0)["logprobs"]["text_offset"]), "[4]");
      EXPECT_EQ(simdjson::minify((*ls.docs[1])["choices"].at(0)["logprobs"]["top_logprobs"]),
                "[{}]");
    }
    const Reply bad = co_await call(client, a, "POST", "/v1/completions",
                                    R"({"model":"synthetic","prompt":"x","logprobs":6})");
    EXPECT_EQ(bad.status, 400);
    EXPECT_NE(bad.body.find(R"(\"logprobs\" must be an integer from 0 to 5)"), std::string::npos)
        << bad.body;

    const Reply stream = co_await call(client, a, "POST", "/v1/chat/completions",
                                       chat_body(options + R"(,"stream":true)", "the cat sat"));
    const Chunks chunks(stream.body);
    // The first chunk carries the role alone, with no logprobs yet (as
    // OpenAI's do; the Node SDK's helper counts a first chunk's twice).
    EXPECT_FALSE(chunks.docs.empty());
    if (chunks.docs.empty()) co_return;
    const auto opening = (*chunks.docs.front())["choices"].at(0);
    EXPECT_EQ(str(opening["delta"]["role"]), "assistant");
    EXPECT_EQ(str(opening["delta"]["content"]), "");
    EXPECT_EQ(simdjson::minify(opening["logprobs"]["content"]), "[]");
    std::size_t with_entries = 0;
    for (const auto& d : chunks.docs) {
      const auto c = (*d)["choices"].at(0);
      std::string_view content;
      simdjson::dom::array streamed;
      if (c["delta"]["content"].get(content) != simdjson::SUCCESS || content.empty()) continue;
      EXPECT_EQ(c["logprobs"]["content"].get(streamed), simdjson::SUCCESS);
      EXPECT_EQ(streamed.size(), 1u);
      EXPECT_EQ(simdjson::minify(streamed.at(0)), simdjson::minify(entries.at(with_entries)));
      ++with_entries;
    }
    EXPECT_EQ(with_entries, 3u);
  });
}

TEST(SyntheticModel, ReasoningComesFirstAsReasoningContentAndReasoning) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const Reply whole = co_await call(client, a, "POST", "/v1/chat/completions",
                                      chat_body(R"(,"reasoning_effort":"low")"));
    const Doc w(whole.body);
    const auto message = w["choices"].at(0)["message"];
    const std::string reasoning = str(message["reasoning_content"]);
    EXPECT_NE(reasoning.find("(low effort)"), std::string::npos) << whole.body;
    EXPECT_EQ(str(message["reasoning"]), reasoning);
    EXPECT_EQ(str(message["content"]), "a b");
    const auto reasoning_tokens =
        std::int64_t(w["usage"]["completion_tokens_details"]["reasoning_tokens"]);
    EXPECT_GT(reasoning_tokens, 0);
    EXPECT_EQ(std::int64_t(w["usage"]["completion_tokens"]), reasoning_tokens + 2);
    const Reply none = co_await call(client, a, "POST", "/v1/chat/completions",
                                     chat_body(R"(,"reasoning_effort":"none")"));
    EXPECT_EQ(none.body.find("reasoning"), std::string::npos) << none.body;

    const Reply stream = co_await call(client, a, "POST", "/v1/chat/completions",
                                       chat_body(R"(,"reasoning_effort":"high","stream":true)"));
    const Chunks chunks(stream.body);
    std::string streamed_reasoning, duplicate, content;
    for (const auto& d : chunks.docs) {
      const auto delta = (*d)["choices"].at(0)["delta"];
      std::string_view s;
      if (delta["reasoning_content"].get(s) == simdjson::SUCCESS) {
        EXPECT_EQ(content, "") << "reasoning after content";
        streamed_reasoning += s;
        duplicate += str(delta["reasoning"]);
      }
      if (delta["content"].get(s) == simdjson::SUCCESS) content += s;
    }
    EXPECT_NE(streamed_reasoning.find("(high effort)"), std::string::npos);
    EXPECT_EQ(duplicate, streamed_reasoning);
    EXPECT_EQ(content, "a b");
  });
}

TEST(SyntheticModel, AnthropicToolUseWholeAndStreamed) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const auto body = [](std::string options) {
      return R"({"model":"synthetic","max_tokens":100,"messages":[{"role":"user","content":"weather in rome"}],)"
             R"("tools":[{"name":"get_weather","input_schema":{"type":"object","properties":)"
             R"({"city":{"type":"string"}}}},{"name":"other","input_schema":{"type":"object"}}])" +
             options + "}";
    };
    const Reply whole =
        co_await call(client, a, "POST", "/v1/messages", body(R"(,"tool_choice":{"type":"any"})"));
    EXPECT_EQ(whole.status, 200) << whole.body;
    const Doc w(whole.body);
    const auto block = w["content"].at(0);
    EXPECT_EQ(str(block["type"]), "tool_use");
    EXPECT_EQ(str(block["id"]), "toolu_synthetic_0_0");
    EXPECT_EQ(str(block["name"]), "get_weather");
    EXPECT_EQ(str(block["input"]["city"]), "weather in rome");
    EXPECT_EQ(str(w["stop_reason"]), "tool_use");
    EXPECT_EQ(std::int64_t(w["usage"]["input_tokens"]), 3);
    EXPECT_GT(std::int64_t(w["usage"]["output_tokens"]), 0);

    const Reply named = co_await call(client, a, "POST", "/v1/messages",
                                      body(R"(,"tool_choice":{"type":"tool","name":"other"})"));
    const Doc n(named.body);
    EXPECT_EQ(str(n["content"].at(0)["name"]), "other");
    EXPECT_EQ(simdjson::minify(n["content"].at(0)["input"]), R"({"input":"weather in rome"})");
    const Reply text = co_await call(client, a, "POST", "/v1/messages", body(""));
    EXPECT_EQ(str(Doc(text.body)["stop_reason"]), "end_turn") << text.body;
    // After the tool's result (a user message of tool_result blocks), "auto"
    // answers the last user message that has text.
    const Reply after = co_await call(
        client, a, "POST", "/v1/messages",
        R"({"model":"synthetic","max_tokens":9,"tools":[{"name":"get_weather"}],"messages":[)"
        R"({"role":"user","content":"get_weather for rome"},{"role":"assistant","content":[)"
        R"({"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}]},)"
        R"({"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1",)"
        R"("content":"sunny"}]}]})");
    const Doc ad(after.body);
    EXPECT_EQ(str(ad["stop_reason"]), "end_turn") << after.body;
    EXPECT_EQ(str(ad["content"].at(0)["text"]), "get_weather for rome");

    const Reply stream = co_await call(client, a, "POST", "/v1/messages",
                                       body(R"(,"stream":true,"tool_choice":{"type":"any"})"));
    const auto evs = events(stream.body);
    EXPECT_GE(evs.size(), 6u) << stream.body;
    if (evs.size() < 6) co_return;
    EXPECT_EQ(evs.front().first, "message_start");
    const Doc start(evs.front().second);
    EXPECT_EQ(std::int64_t(start["message"]["usage"]["input_tokens"]), 3);
    EXPECT_EQ(std::int64_t(start["message"]["usage"]["output_tokens"]), 0);
    EXPECT_EQ(evs[1].first, "content_block_start");
    const Doc block_start(evs[1].second);
    EXPECT_EQ(str(block_start["content_block"]["type"]), "tool_use");
    EXPECT_EQ(str(block_start["content_block"]["name"]), "get_weather");
    EXPECT_EQ(simdjson::minify(block_start["content_block"]["input"]), "{}");
    std::string partial;
    std::size_t i = 2;
    for (; i < evs.size() && evs[i].first == "content_block_delta"; ++i) {
      const Doc d(evs[i].second);
      EXPECT_EQ(str(d["delta"]["type"]), "input_json_delta");
      partial += str(d["delta"]["partial_json"]);
    }
    EXPECT_GE(i, 4u) << "several input_json_delta events";
    EXPECT_EQ(partial, simdjson::minify(block["input"]));
    EXPECT_EQ(evs.size(), i + 3);
    if (evs.size() != i + 3) co_return;
    EXPECT_EQ(evs[i].first, "content_block_stop");
    EXPECT_EQ(evs[i + 1].first, "message_delta");
    const Doc delta(evs[i + 1].second);
    EXPECT_EQ(str(delta["delta"]["stop_reason"]), "tool_use");
    EXPECT_EQ(std::int64_t(delta["usage"]["output_tokens"]),
              std::int64_t(w["usage"]["output_tokens"]));
    EXPECT_EQ(std::int64_t(delta["usage"]["input_tokens"]), 3);
    EXPECT_EQ(evs[i + 2].first, "message_stop");
  });
}

TEST(SyntheticModel, BadOptionsAreNamed) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const std::pair<std::string, std::string> cases[] = {
        {R"(,"n":0)", R"(\"n\" must be an integer from 1 to 128)"},
        {R"(,"n":129)", R"(\"n\" must be an integer from 1 to 128)"},
        {R"(,"n":"2")", R"(\"n\" must be an integer from 1 to 128)"},
        {R"(,"tools":{})", R"(\"tools\" must be an array)"},
        {R"(,"tools":[{"type":"retrieval"}])", R"(\"tools[0].type\" must be \"function\")"},
        {R"(,"tools":[{"type":"function","function":{}}])",
         R"(\"tools[0].function.name\" must be a non-empty string)"},
        {kTools + R"(,"tool_choice":"maybe")", R"(\"tool_choice\" must be \"none\", \"auto\")"},
        {kTools + R"(,"tool_choice":{"type":"function","function":{"name":"nope"}})",
         R"(\"tool_choice.function.name\" names no tool in \"tools\": \"nope\")"},
        {R"(,"tool_choice":"required")", R"(\"tool_choice\" needs \"tools\")"},
        {kTools + R"(,"parallel_tool_calls":1)", R"(\"parallel_tool_calls\" must be a boolean)"},
        {R"(,"response_format":{"type":"xml"})",
         R"(\"response_format.type\" must be \"text\", \"json_object\" or \"json_schema\")"},
        {R"(,"response_format":{"type":"json_schema","json_schema":{}})",
         R"(\"response_format.json_schema\" must be an object with a \"name\")"},
        {R"(,"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":3}})",
         R"(\"response_format.json_schema.schema\" must be an object)"},
        {R"(,"logprobs":"yes")", R"(\"logprobs\" must be a boolean)"},
        {R"(,"logprobs":true,"top_logprobs":21)",
         R"(\"top_logprobs\" must be an integer from 0 to 20)"},
        {R"(,"top_logprobs":2)", R"(\"top_logprobs\" needs \"logprobs\": true)"},
        {R"(,"reasoning_effort":"max")", R"(\"reasoning_effort\" must be \"none\", \"minimal\")"},
    };
    for (const auto& [options, message] : cases) {
      const Reply r = co_await call(client, a, "POST", "/v1/chat/completions", chat_body(options));
      EXPECT_EQ(r.status, 400) << options;
      EXPECT_NE(r.body.find(message), std::string::npos) << options << " -> " << r.body;
    }
    // What would make the answer huge is refused or cut short.
    const Reply many = co_await call(client, a, "POST", "/v1/chat/completions",
                                     chat_body(R"(,"n":128)", std::string(1 << 20, 'x')));
    EXPECT_EQ(many.status, 400);
    EXPECT_NE(many.body.find(R"(\"n\": 128 choices of a 1048576-byte message exceed 64 MiB)"),
              std::string::npos)
        << many.body.substr(0, 300);
    // One choice, but logprobs of every short token with 20 alternatives.
    std::string words;
    for (int i = 0; i < 200'000; ++i) words += "a ";
    const Reply logprobs = co_await call(client, a, "POST", "/v1/chat/completions",
                                         chat_body(R"(,"logprobs":true,"top_logprobs":20)", words));
    EXPECT_EQ(logprobs.status, 400);
    EXPECT_NE(logprobs.body.find("with logprobs exceed 64 MiB"), std::string::npos)
        << logprobs.body.substr(0, 300);
    std::string many_tools = R"(,"tools":[)";
    for (int i = 0; i < 129; ++i) {
      many_tools += std::string(i ? "," : "") + R"({"type":"function","function":{"name":"f)" +
                    std::to_string(i) + R"("}})";
    }
    const Reply too_many =
        co_await call(client, a, "POST", "/v1/chat/completions", chat_body(many_tools + "]"));
    EXPECT_EQ(too_many.status, 400);
    EXPECT_NE(too_many.body.find(R"(\"tools\" must be an array of at most 128 tools)"),
              std::string::npos)
        << too_many.body.substr(0, 300);
    // A schema that nests itself ten times over at every level: the JSON
    // built stays bounded (values beyond the bound are null).
    std::string nested = R"({"type":"object","properties":{)";
    for (int i = 0; i < 10; ++i)
      nested += std::string(i ? "," : "") + R"("p)" + std::to_string(i) + R"(":{"$ref":"#"})";
    nested += "}}";
    const Reply bounded = co_await call(
        client, a, "POST", "/v1/chat/completions",
        chat_body(
            R"(,"response_format":{"type":"json_schema","json_schema":{"name":"n","schema":)" +
                nested + "}}",
            std::string(1000, 'y')));
    EXPECT_EQ(bounded.status, 200);
    EXPECT_LT(bounded.body.size(), std::size_t{6} << 20);
    const Doc bd(bounded.body);
    const Doc built(str(bd["choices"].at(0)["message"]["content"]));
    EXPECT_TRUE(built.root.is_object());

    // null is "not set", as SDKs send it.
    const Reply nulls = co_await call(
        client, a, "POST", "/v1/chat/completions",
        chat_body(R"(,"n":null,"tools":null,"tool_choice":null,"response_format":null,)"
                  R"("logprobs":null,"top_logprobs":null,"reasoning_effort":null)"));
    EXPECT_EQ(nulls.status, 200) << nulls.body;

    const std::string tools = R"(,"tools":[{"name":"t","input_schema":{"type":"object"}}])";
    const std::pair<std::string, std::string> anthropic[] = {
        {R"(,"tools":[{"input_schema":{}}])", R"(\"tools[0].name\" must be a non-empty string)"},
        {tools + R"(,"tool_choice":{"type":"sometimes"})",
         R"(\"tool_choice.type\" must be \"auto\", \"any\", \"tool\" or \"none\")"},
        {tools + R"(,"tool_choice":{"type":"tool","name":"u"})",
         R"(\"tool_choice.name\" names no tool in \"tools\": \"u\")"},
        {tools + R"(,"tool_choice":{"type":"any","disable_parallel_tool_use":"no"})",
         R"(\"tool_choice.disable_parallel_tool_use\" must be a boolean)"},
    };
    for (const auto& [options, message] : anthropic) {
      const Reply r = co_await call(client, a, "POST", "/v1/messages", chat_body(options));
      EXPECT_EQ(r.status, 400) << options;
      EXPECT_NE(r.body.find(message), std::string::npos) << options << " -> " << r.body;
    }
  });
}

}  // namespace
}  // namespace cipherline::backend
