// What the OpenAI and Anthropic SDKs ask for, end to end: the in-process
// client, a relay standing for the gateway, the development backend and its
// synthetic model. After decryption: base64 embeddings decode to the floats
// of the float format; n = 2 streams keep their choices apart; streamed
// tool calls reassemble to JSON arguments; response_format content is JSON;
// logprobs and reasoning_content arrive; Anthropic tool_use streams. On the
// wire, in both chat formats (OAE and fields): none of the tools, schemas,
// prompts or answers in plaintext — only the routing fields.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstring>
#include <map>

#include "cipherline/crypto/base64.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using testing::Relay;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

// Words that only the plaintext of the requests (their values: the field
// format leaves keys readable) and of the answers holds.
constexpr std::string_view kCanaries[] = {"get_weather_secretly",
                                          "answer_schema_secretly",
                                          "forecast_secretly",
                                          "canary-prompt",
                                          "base64",
                                          "call_synthetic",
                                          "reasoning_content",
                                          "tool_use",
                                          "input_json_delta"};
// Keys that only the answers' encrypted fields hold.
constexpr std::string_view kAnswerKeys[] = {"top_logprobs", "tool_calls", "finish_reason",
                                            "partial_json", "\"delta\":{"};

// One answer, decrypted: a whole body, or a stream's events without [DONE].
struct Decrypted {
  int status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> events;  // (type, data)
  bool done = false;
  std::string error;
};

Task<Decrypted> exchange(client::Client& client, protocol::Route route, std::string body) {
  Decrypted d;
  auto r = co_await client.send(route, std::move(body));
  if (!r) {
    d.error = r.error().message();
    co_return d;
  }
  d.status = r->status();
  if (!r->event_stream()) {
    auto text = co_await r->read_all();
    if (text) {
      d.body = std::move(*text);
    } else {
      d.error = text.error().message();
    }
    co_return d;
  }
  while (true) {
    auto more = co_await r->read();
    if (!more) {
      d.error = more.error().message();
      break;
    }
    if (!*more) break;
    for (const auto& e : r->events()) {
      if (e.is_done()) {
        d.done = true;
      } else {
        d.events.emplace_back(std::string(e.type), std::string(e.data));
      }
    }
  }
  co_return d;
}

std::vector<float> floats_of_base64(std::string_view text) {
  const auto bytes = crypto::from_base64(text).value();
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

std::string str(simdjson::dom::element e) { return std::string(std::string_view(e)); }

const std::string kTools =
    R"("tools":[{"type":"function","function":{"name":"get_weather_secretly","parameters":)"
    R"({"type":"object","properties":{"forecast_secretly":{"type":"string"},)"
    R"("days":{"type":"integer"}},"required":["forecast_secretly","days"]}}}])";

const std::string kSchema =
    R"("response_format":{"type":"json_schema","json_schema":{"name":"answer_schema_secretly",)"
    R"("strict":true,"schema":{"type":"object","properties":{"forecast_secretly":)"
    R"({"type":"string"}},"required":["forecast_secretly"],"additionalProperties":false}}})";

std::string chat(std::string options, std::string prompt) {
  return R"({"model":"synthetic",)" + options + R"(,"messages":[{"role":"user","content":")" +
         prompt + R"("}]})";
}

// The features, through `client`; each check after decryption.
Task<void> exercise(client::Client& client) {
  using protocol::Route;
  simdjson::dom::parser parser;

  // Embeddings: base64 decodes to the float format's values.
  const Decrypted floats =
      co_await exchange(client, Route::embeddings,
                        R"({"model":"synthetic","input":"canary-prompt text","dimensions":40})");
  const Decrypted base64 =
      co_await exchange(client, Route::embeddings,
                        R"({"model":"synthetic","input":"canary-prompt text","dimensions":40,)"
                        R"("encoding_format":"base64"})");
  EXPECT_EQ(floats.status, 200) << floats.error << floats.body;
  EXPECT_EQ(base64.status, 200) << base64.error << base64.body;
  {
    std::vector<float> plain;
    const simdjson::dom::array values = parser.parse(floats.body)["data"].at(0)["embedding"];
    for (simdjson::dom::element v : values) plain.push_back(static_cast<float>(double(v)));
    EXPECT_EQ(plain.size(), 40u);
    const std::string encoded = str(parser.parse(base64.body)["data"].at(0)["embedding"]);
    EXPECT_EQ(floats_of_base64(encoded), plain);
  }

  // n = 2, streamed: the choices kept apart, each with its own finish.
  const Decrypted two = co_await exchange(
      client, Route::chat_completions,
      chat(R"("n":2,"stream":true,"stream_options":{"include_usage":true})", "canary-prompt two"));
  EXPECT_TRUE(two.done) << two.error;
  std::map<std::int64_t, std::string> text, finish;
  std::int64_t completion_tokens = 0;
  for (const auto& [type, data] : two.events) {
    const simdjson::dom::element chunk = parser.parse(data);
    const simdjson::dom::array choices = chunk["choices"];
    if (choices.size() == 0) completion_tokens = std::int64_t(chunk["usage"]["completion_tokens"]);
    for (simdjson::dom::element c : choices) {
      const auto k = std::int64_t(c["index"]);
      std::string_view s;
      if (c["delta"]["content"].get(s) == simdjson::SUCCESS) text[k] += s;
      if (c["finish_reason"].get(s) == simdjson::SUCCESS) finish[k] += s;
    }
  }
  EXPECT_EQ(text, (std::map<std::int64_t, std::string>{{0, "canary-prompt two"},
                                                       {1, "canary-prompt two [1]"}}));
  EXPECT_EQ(finish, (std::map<std::int64_t, std::string>{{0, "stop"}, {1, "stop"}}));
  EXPECT_EQ(completion_tokens, 5);

  // Streamed tool calls reassemble to JSON arguments.
  const Decrypted tools = co_await exchange(
      client, Route::chat_completions,
      chat(kTools + R"(,"tool_choice":"required","stream":true)", "canary-prompt rain"));
  EXPECT_TRUE(tools.done) << tools.error;
  std::string id, name, arguments, tool_finish;
  int pieces = 0;
  for (const auto& [type, data] : tools.events) {
    const simdjson::dom::element c = parser.parse(data)["choices"].at(0);
    std::string_view s;
    if (c["finish_reason"].get(s) == simdjson::SUCCESS) tool_finish = s;
    simdjson::dom::array calls;
    if (c["delta"]["tool_calls"].get(calls) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element call : calls) {
      EXPECT_EQ(std::int64_t(call["index"]), 0);
      if (call["id"].get(s) == simdjson::SUCCESS) id = s;
      if (call["function"]["name"].get(s) == simdjson::SUCCESS) name += s;
      if (call["function"]["arguments"].get(s) == simdjson::SUCCESS && !s.empty()) {
        arguments += s;
        ++pieces;
      }
    }
  }
  EXPECT_EQ(id, "call_synthetic_0_0");
  EXPECT_EQ(name, "get_weather_secretly");
  EXPECT_EQ(tool_finish, "tool_calls");
  EXPECT_GE(pieces, 2);
  {
    simdjson::dom::parser p;
    simdjson::dom::element args;
    EXPECT_EQ(p.parse(arguments).get(args), simdjson::SUCCESS) << arguments;
    if (args.is_object()) {
      EXPECT_EQ(str(args["forecast_secretly"]), "canary-prompt rain");
      EXPECT_EQ(std::int64_t(args["days"]), 2);
    }
  }

  // response_format: the content parses as JSON, whole and streamed.
  const Decrypted json =
      co_await exchange(client, Route::chat_completions, chat(kSchema, "canary-prompt as json"));
  EXPECT_EQ(json.status, 200) << json.error;
  const std::string content = str(parser.parse(json.body)["choices"].at(0)["message"]["content"]);
  {
    simdjson::dom::parser p;
    simdjson::dom::element object;
    EXPECT_EQ(p.parse(content).get(object), simdjson::SUCCESS) << content;
    if (object.is_object()) EXPECT_EQ(str(object["forecast_secretly"]), "canary-prompt as json");
  }
  const Decrypted json_stream =
      co_await exchange(client, Route::chat_completions,
                        chat(kSchema + R"(,"stream":true)", "canary-prompt as json"));
  std::string streamed_content;
  for (const auto& [type, data] : json_stream.events) {
    std::string_view s;
    if (parser.parse(data)["choices"].at(0)["delta"]["content"].get(s) == simdjson::SUCCESS) {
      streamed_content += s;
    }
  }
  EXPECT_EQ(streamed_content, content);

  // logprobs and reasoning, whole.
  const Decrypted rich =
      co_await exchange(client, Route::chat_completions,
                        chat(R"("logprobs":true,"top_logprobs":2,"reasoning_effort":"medium")",
                             "canary-prompt think"));
  EXPECT_EQ(rich.status, 200) << rich.error;
  {
    const simdjson::dom::element choice = parser.parse(rich.body)["choices"].at(0);
    const simdjson::dom::array entries = choice["logprobs"]["content"];
    EXPECT_EQ(entries.size(), 2u);
    EXPECT_EQ(simdjson::dom::array(entries.at(0)["top_logprobs"]).size(), 2u);
    EXPECT_NE(str(choice["message"]["reasoning_content"]), "");
    EXPECT_EQ(str(choice["message"]["reasoning"]), str(choice["message"]["reasoning_content"]));
  }
  // Reasoning, streamed: its deltas come before the content.
  const Decrypted thinking =
      co_await exchange(client, Route::chat_completions,
                        chat(R"("reasoning_effort":"low","stream":true)", "canary-prompt think"));
  std::string reasoning, after;
  for (const auto& [type, data] : thinking.events) {
    const simdjson::dom::element delta = parser.parse(data)["choices"].at(0)["delta"];
    std::string_view s;
    if (delta["reasoning_content"].get(s) == simdjson::SUCCESS) {
      EXPECT_EQ(after, "");
      reasoning += s;
    }
    if (delta["content"].get(s) == simdjson::SUCCESS) after += s;
  }
  EXPECT_NE(reasoning, "");
  EXPECT_EQ(after, "canary-prompt think");

  // Anthropic: tool_use, streamed.
  const Decrypted anthropic = co_await exchange(
      client, Route::messages,
      R"({"model":"synthetic","max_tokens":64,"stream":true,"tool_choice":{"type":"any"},)"
      R"("tools":[{"name":"get_weather_secretly","input_schema":{"type":"object","properties":)"
      R"({"forecast_secretly":{"type":"string"}}}}],)"
      R"("messages":[{"role":"user","content":"canary-prompt claude"}]})");
  EXPECT_EQ(anthropic.status, 200) << anthropic.error;
  std::string partial, block_type, stop_reason;
  for (const auto& [type, data] : anthropic.events) {
    const simdjson::dom::element e = parser.parse(data);
    if (type == "content_block_start") block_type = str(e["content_block"]["type"]);
    if (type == "content_block_delta") partial += str(e["delta"]["partial_json"]);
    if (type == "message_delta") stop_reason = str(e["delta"]["stop_reason"]);
  }
  EXPECT_EQ(block_type, "tool_use");
  EXPECT_EQ(stop_reason, "tool_use");
  EXPECT_EQ(partial, R"({"forecast_secretly":"canary-prompt claude"})");
}

TEST(SdkFeatures, ArriveDecryptedAndNeverInPlaintextOnTheWire) {
  for (const auto format : {protocol::WireFormat::oae, protocol::WireFormat::fields}) {
    SCOPED_TRACE(format == protocol::WireFormat::oae ? "oae" : "fields");
    std::vector<std::pair<std::string, std::string>> requests, answers;
    Relay relay;
    relay.observe_request = [&](std::string_view path, std::string_view body) {
      requests.emplace_back(path, body);
    };
    relay.tamper = [&](std::string_view path, std::string& body) {
      answers.emplace_back(path, body);
    };
    Loop loop;
    sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
                co_await relay.run(b, [&](client::ClientOptions options) -> Task<void> {
                  options.chat_format = format;
                  client::Client client(options);
                  auto connected = co_await client.connect();
                  EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
                  if (connected) co_await exercise(client);
                  co_await client.close();
                });
              }));

    std::size_t inference = 0;
    for (const auto& [path, body] : requests) {
      if (!protocol::route_for_path(path)) continue;
      ++inference;
      for (const auto canary : kCanaries) {
        EXPECT_EQ(body.find(canary), std::string::npos)
            << path << " sends " << canary << ": " << body;
      }
      // What the field format leaves readable are the routing fields; the
      // features travel as encrypted strings.
      const bool fields = path != "/v1/chat/completions" || format == protocol::WireFormat::fields;
      for (const char* key :
           {"\"tools\":", "\"tool_choice\":", "\"response_format\":", "\"logprobs\":",
            "\"reasoning_effort\":", "\"encoding_format\":", "\"dimensions\":"}) {
        const auto at = body.find(key);
        if (at == std::string::npos) continue;
        EXPECT_TRUE(fields) << "an OAE body is sealed whole: " << body;
        EXPECT_EQ(body[at + std::strlen(key)], '"') << key << " is not a sealed field: " << body;
      }
    }
    EXPECT_EQ(inference, 9u);
    std::size_t answered = 0;
    for (const auto& [path, body] : answers) {
      if (!protocol::route_for_path(path)) continue;
      ++answered;
      for (const auto canary : kCanaries) {
        EXPECT_EQ(body.find(canary), std::string::npos)
            << path << " answers " << canary << ": " << body;
      }
      for (const auto key : kAnswerKeys) {
        EXPECT_EQ(body.find(key), std::string::npos) << path << " answers " << key << ": " << body;
      }
      EXPECT_EQ(body.find("\"choices\":["), std::string::npos) << body;
      EXPECT_EQ(body.find("\"data\":["), std::string::npos) << body;
    }
    EXPECT_EQ(answered, 9u);
  }
}

}  // namespace
}  // namespace cipherline
