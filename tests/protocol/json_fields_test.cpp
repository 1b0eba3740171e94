// The field walk of spec §4.3/§4.4/§5: which fields are encrypted, in which
// order, what the plaintext of a field is, and that sealing and opening a
// body restores it byte for byte.
#include "cipherline/protocol/json_fields.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

std::shared_ptr<const InferenceSecret> make_secret() {
  const auto key = crypto::SecretBytes::random(32);
  return std::make_shared<const InferenceSecret>("json-fields-secret", key.bytes());
}

// A transform that records the values it is given and replaces the i-th
// one with the string "#i".
struct Recorder {
  std::vector<std::string> seen;

  FieldTransform transform() {
    return [this](std::string_view value, std::string& out) -> Result<void, Error> {
      out += "\"#" + std::to_string(seen.size()) + "\"";
      seen.emplace_back(value);
      return {};
    };
  }
};

FieldTransform sealer(RequestCipher& cipher) {
  return [&cipher](std::string_view raw, std::string& out) { return cipher.seal(raw, out); };
}
FieldTransform opener(ResponseCipher& cipher) {
  return [&cipher](std::string_view field, std::string& out) { return cipher.open(field, out); };
}

const PlainFields kNothingPlain{};

TEST(JsonFieldRoutes, PathsMapToRoutes) {
  EXPECT_EQ(route_for_path("/v1/chat/completions"), Route::chat_completions);
  EXPECT_EQ(route_for_path("/v1/completions"), Route::completions);
  EXPECT_EQ(route_for_path("/v1/embeddings"), Route::embeddings);
  EXPECT_EQ(route_for_path("/v1/messages"), Route::messages);
  EXPECT_EQ(route_for_path("/v1/audio/transcriptions"), Route::audio_transcriptions);
  // The whole /unstructured/ subtree is one route (spec §5.6).
  EXPECT_EQ(route_for_path("/unstructured/general/v0/general"), Route::unstructured);
  EXPECT_EQ(route_for_path("/unstructured/other"), Route::unstructured);
  for (Route r : {Route::chat_completions, Route::completions, Route::embeddings, Route::messages,
                  Route::audio_transcriptions, Route::unstructured}) {
    EXPECT_EQ(route_for_path(path_of(r)), r);
  }
}

TEST(JsonFieldRoutes, OtherPathsHaveNoRoute) {
  EXPECT_EQ(route_for_path("/v1/models"), std::nullopt);
  EXPECT_EQ(route_for_path("/v1/chat/completions?x=1"), std::nullopt);
  EXPECT_EQ(route_for_path("/v1/chat/completions/"), std::nullopt);
  EXPECT_EQ(route_for_path("/V1/messages"), std::nullopt);
  EXPECT_EQ(route_for_path("/unstructured"), std::nullopt);
  EXPECT_EQ(route_for_path("/v1/audio/transcriptions/"), std::nullopt);
  EXPECT_EQ(route_for_path(""), std::nullopt);
}

TEST(JsonFieldRoutes, PlainFieldTablesAreTheProtocols) {
  auto names = [](PlainFields p) {
    return std::vector<std::string_view>(p.names().begin(), p.names().end());
  };
  const std::vector<std::string_view> openai = {
      "model", "stream_options", "max_tokens", "max_completion_tokens", "n", "stream"};
  EXPECT_EQ(names(plain_request_fields(Route::chat_completions)), openai);
  EXPECT_EQ(names(plain_request_fields(Route::completions)), openai);
  EXPECT_THAT(names(plain_request_fields(Route::embeddings)), ElementsAre("model"));
  EXPECT_THAT(names(plain_request_fields(Route::messages)), ElementsAre("model", "stream"));
  for (Route r : {Route::chat_completions, Route::completions, Route::embeddings}) {
    EXPECT_THAT(names(plain_response_fields(r)), ElementsAre("id", "usage"));
  }
  EXPECT_THAT(names(plain_response_fields(Route::messages)), ElementsAre("id", "type", "usage"));
  EXPECT_THAT(
      names(plain_request_fields(Route::audio_transcriptions)),
      ElementsAre("model", "stream", "stream_include_usage", "stream_continuous_usage_stats"));
  EXPECT_THAT(names(plain_response_fields(Route::audio_transcriptions)),
              ElementsAre("duration", "usage"));
  EXPECT_THAT(names(plain_request_fields(Route::unstructured)), IsEmpty());
  EXPECT_THAT(names(plain_response_fields(Route::unstructured)), IsEmpty());

  const PlainFields messages = plain_request_fields(Route::messages);
  EXPECT_TRUE(messages.contains("stream"));
  EXPECT_FALSE(messages.contains("max_tokens")) << "Anthropic encrypts max_tokens";
  EXPECT_FALSE(messages.contains("Model"));
  EXPECT_FALSE(kNothingPlain.contains("model"));
}

TEST(JsonFieldDone, DoneEventIsCaseInsensitiveAndTrimmed) {
  EXPECT_TRUE(is_done_event("[DONE]"));
  EXPECT_TRUE(is_done_event("[done]"));
  EXPECT_TRUE(is_done_event(" \t[Done]\r\n"));
  EXPECT_FALSE(is_done_event("DONE"));
  EXPECT_FALSE(is_done_event("[DONE]x"));
  EXPECT_FALSE(is_done_event("[ DONE ]"));
  EXPECT_FALSE(is_done_event(R"({"done":true})"));
  EXPECT_FALSE(is_done_event(""));
  EXPECT_FALSE(is_done_event("   "));
}

TEST(JsonFieldOrder, KeysSortByteWiseAsStrings) {
  Recorder rec;
  std::string out;
  seal_json_fields(R"({"b":1,"a.b":2,"a":3,"Z":4,"10":5,"9":6,"aZ":7})", kNothingPlain,
                   rec.transform(), out)
      .value();
  // "10" < "9" (strings, not numbers); "Z" < "a"; the escaped "a\.b" sorts
  // after "aZ" because '\' (0x5C) > 'Z' (0x5A), unlike an unescaped '.'.
  EXPECT_THAT(rec.seen, ElementsAre("5", "6", "4", "3", "7", "2", "1"));
  // Each value is replaced where it stood.
  EXPECT_EQ(out, R"({"b":"#6","a.b":"#5","a":"#3","Z":"#2","10":"#0","9":"#1","aZ":"#4"})");
}

TEST(JsonFieldOrder, DotQuestionMarkAndStarAreEscapedBeforeSorting) {
  Recorder rec;
  std::string out;
  seal_json_fields(R"({"a_":"_","a?":"?","aA":"A","a*":"*","a.":"."})", kNothingPlain,
                   rec.transform(), out)
      .value();
  // Unescaped these would be a* < a. < a? < aA < a_; escaped, all three
  // become "a\x" and land between "aA" and "a_".
  EXPECT_THAT(rec.seen, ElementsAre(R"("A")", R"("*")", R"(".")", R"("?")", R"("_")"));
}

TEST(JsonFieldOrder, KeysCompareDecoded) {
  Recorder rec;
  std::string out;
  seal_json_fields(R"({"c":3,"\u0062":2,"a":1})", kNothingPlain, rec.transform(), out).value();
  EXPECT_THAT(rec.seen, ElementsAre("1", "2", "3"));
}

TEST(JsonFieldOrder, EscapedPlainKeyIsStillPlain) {
  Recorder rec;
  std::string out;
  const std::string body = R"({"mod\u0065l":"gpt","messages":[]})";
  seal_json_fields(body, plain_request_fields(Route::chat_completions), rec.transform(), out)
      .value();
  EXPECT_THAT(rec.seen, ElementsAre("[]"));
  EXPECT_EQ(out, R"({"mod\u0065l":"gpt","messages":"#0"})");
}

TEST(JsonFieldOrder, DuplicateKeysAreEachTransformedInDocumentOrder) {
  Recorder rec;
  std::string out;
  seal_json_fields(R"({"b":"first b","a":1,"b":"second b","a":2})", kNothingPlain, rec.transform(),
                   out)
      .value();
  EXPECT_THAT(rec.seen, ElementsAre("1", "2", R"("first b")", R"("second b")"));
  EXPECT_EQ(out, R"({"b":"#2","a":"#0","b":"#3","a":"#1"})");
}

TEST(JsonFieldValues, RawValuesArePassedExactly) {
  Recorder rec;
  std::string out;
  const std::string body =
      "{\"a\": [ 1, 2 ,{\"k\" : \"v\"} ] ,\"b\":0.7,\"c\":true,\"d\":null,"
      "\"e\":\"q\\\"uo\\\\te \\u00e9 \xc3\xbc \\n\",\"f\":{ },\"g\":-1.5E+10,\"h\":false,"
      "\"i\":\"\",\"j\":[]}";
  seal_json_fields(body, kNothingPlain, rec.transform(), out).value();
  EXPECT_THAT(rec.seen, ElementsAre("[ 1, 2 ,{\"k\" : \"v\"} ]", "0.7", "true", "null",
                                    "\"q\\\"uo\\\\te \\u00e9 \xc3\xbc \\n\"", "{ }", "-1.5E+10",
                                    "false", "\"\"", "[]"));
}

TEST(JsonFieldValues, BytesBetweenValuesAreCopied) {
  Recorder rec;
  std::string out = "prefix|";
  seal_json_fields(" \n{ \"a\" :\t[ 1 ] ,\r\n \"b\":true }\t ", kNothingPlain, rec.transform(), out)
      .value();
  EXPECT_EQ(out, "prefix| \n{ \"a\" :\t\"#0\" ,\r\n \"b\":\"#1\" }\t ");
}

TEST(JsonFieldValues, PlainFieldsAreUntouched) {
  Recorder rec;
  std::string out;
  const std::string body =
      R"({"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true,)"
      R"("stream_options":{"include_usage":true},"temperature":0.2,"max_tokens":5,"n":1})";
  seal_json_fields(body, plain_request_fields(Route::chat_completions), rec.transform(), out)
      .value();
  EXPECT_THAT(rec.seen, ElementsAre(R"([{"role":"user","content":"hi"}])", "0.2"));
  EXPECT_EQ(out,
            R"({"model":"m","messages":"#0","stream":true,)"
            R"("stream_options":{"include_usage":true},"temperature":"#1","max_tokens":5,"n":1})");
}

// The keys a walk hands to the transform, in the order it does.
std::vector<std::string> sealed_keys(std::string_view body, const PlainFields& plain) {
  Recorder rec;
  std::string out;
  seal_json_fields(body, plain, rec.transform(), out).value();
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < rec.seen.size(); ++i) {
    const std::string marker = "\"#" + std::to_string(i) + "\"";
    const auto at = out.find(marker);
    EXPECT_NE(at, std::string::npos);
    const auto close = out.rfind('"', out.rfind(':', at) - 1);
    const auto open = out.rfind('"', close - 1);
    keys.push_back(out.substr(open + 1, close - open - 1));
  }
  return keys;
}

TEST(JsonFieldValues, WhatTheSdksSendAndGetIsSealedButTheRoutingFields) {
  // A chat request with every SDK feature: only model, n, stream and
  // stream_options (routing and billing) stay readable.
  const std::string chat =
      R"({"model":"m","n":2,"stream":true,"stream_options":{"include_usage":true},)"
      R"("messages":[{"role":"user","content":"hi"}],)"
      R"("tools":[{"type":"function","function":{"name":"get_weather"}}],)"
      R"("tool_choice":"required","parallel_tool_calls":false,)"
      R"("response_format":{"type":"json_object"},"logprobs":true,"top_logprobs":2,)"
      R"("reasoning_effort":"low","reasoning":{"effort":"low"},"seed":1,"user":"u"})";
  EXPECT_THAT(
      sealed_keys(chat, plain_request_fields(Route::chat_completions)),
      ElementsAre("logprobs", "messages", "parallel_tool_calls", "reasoning", "reasoning_effort",
                  "response_format", "seed", "tool_choice", "tools", "top_logprobs", "user"));
  // Its answer and its chunks: choices (message, tool calls, logprobs,
  // reasoning) sealed; id and usage readable.
  const std::string answer =
      R"({"id":"c","object":"chat.completion","created":1,"model":"m","system_fingerprint":"f",)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":null,)"
      R"("reasoning_content":"r","tool_calls":[]},"logprobs":null,"finish_reason":"tool_calls"}],)"
      R"("usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})";
  EXPECT_THAT(sealed_keys(answer, plain_response_fields(Route::chat_completions)),
              ElementsAre("choices", "created", "model", "object", "system_fingerprint"));
  // Embeddings: input, dimensions and encoding_format sealed; data too.
  EXPECT_THAT(sealed_keys(R"({"model":"m","input":"x","dimensions":8,"encoding_format":"base64"})",
                          plain_request_fields(Route::embeddings)),
              ElementsAre("dimensions", "encoding_format", "input"));
  EXPECT_THAT(sealed_keys(R"({"object":"list","data":[],"model":"m","usage":{}})",
                          plain_response_fields(Route::embeddings)),
              ElementsAre("data", "model", "object"));
  // Anthropic: tools, tool_choice and max_tokens sealed; a streamed
  // tool_use block's index and content_block too, its type readable.
  EXPECT_THAT(
      sealed_keys(R"({"model":"m","stream":true,"max_tokens":9,"system":"s","messages":[],)"
                  R"("tools":[{"name":"t","input_schema":{}}],"tool_choice":{"type":"any"},)"
                  R"("thinking":{"type":"enabled","budget_tokens":1024}})",
                  plain_request_fields(Route::messages)),
      ElementsAre("max_tokens", "messages", "system", "thinking", "tool_choice", "tools"));
  EXPECT_THAT(sealed_keys(R"({"type":"content_block_start","index":0,)"
                          R"("content_block":{"type":"tool_use","id":"x","name":"t","input":{}}})",
                          plain_response_fields(Route::messages)),
              ElementsAre("content_block", "index"));
  EXPECT_THAT(sealed_keys(R"({"type":"message_delta","delta":{"stop_reason":"tool_use"},)"
                          R"("usage":{"output_tokens":3}})",
                          plain_response_fields(Route::messages)),
              ElementsAre("delta"));
}

TEST(JsonFieldValues, EmptyObjectIsCopied) {
  Recorder rec;
  std::string out;
  seal_json_fields(" { \n} ", kNothingPlain, rec.transform(), out).value();
  EXPECT_EQ(out, " { \n} ");
  out.clear();
  open_json_fields("{}", kNothingPlain, rec.transform(), out).value();
  EXPECT_EQ(out, "{}");
  EXPECT_THAT(rec.seen, IsEmpty());
}

TEST(JsonFieldValues, OnlyPlainFieldsMeansNoTransform) {
  Recorder rec;
  std::string out;
  const std::string body = R"({"model":"m","stream":false})";
  seal_json_fields(body, plain_request_fields(Route::messages), rec.transform(), out).value();
  EXPECT_EQ(out, body);
  EXPECT_THAT(rec.seen, IsEmpty());
}

TEST(JsonFieldCipher, SealThenOpenRestoresTheBody) {
  auto secret = make_secret();
  const std::string body =
      "{\n  \"model\": \"llama\",\n  \"messages\": [ {\"role\": \"user\", \"content\": "
      "\"h\\u00e9llo \\\"there\\\" \xe2\x9c\x93\"} ],\n  \"temperature\": 0.7,\n  \"seed\": "
      "null,\n  \"logprobs\": true,\n  \"stream\": true,\n  \"a.b\": {\"x\" : [ ]},\n  \"10\": "
      "1,\n  \"9\": 2\n}\n";
  const PlainFields plain = plain_request_fields(Route::chat_completions);

  RequestCipher client(secret);
  std::string sealed;
  seal_json_fields(body, plain, sealer(client), sealed).value();
  EXPECT_THAT(sealed, HasSubstr("\"model\": \"llama\""));
  EXPECT_THAT(sealed, HasSubstr("\"stream\": true"));
  EXPECT_THAT(sealed, ::testing::Not(HasSubstr("0.7")));
  EXPECT_THAT(sealed, ::testing::Not(HasSubstr("user")));
  EXPECT_THAT(sealed, HasSubstr("\"temperature\": \"" + secret->id() + ":"));

  ResponseCipher server(secret);
  std::string opened;
  open_json_fields(sealed, plain, opener(server), opened).value();
  EXPECT_EQ(opened, body);

  // The response direction, with the same walk.
  const std::string response =
      R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,)"
      R"("choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],)"
      R"("usage":{"prompt_tokens":3,"completion_tokens":1}})";
  const PlainFields response_plain = plain_response_fields(Route::chat_completions);
  std::string sealed_response;
  seal_json_fields(
      response, response_plain,
      [&](std::string_view raw, std::string& out) { return server.seal(raw, out); },
      sealed_response)
      .value();
  EXPECT_THAT(sealed_response, HasSubstr(R"("id":"chatcmpl-1")"));
  std::string opened_response;
  open_json_fields(
      sealed_response, response_plain,
      [&](std::string_view f, std::string& out) { return client.open(f, out); }, opened_response)
      .value();
  EXPECT_EQ(opened_response, response);
}

TEST(JsonFieldCipher, DuplicateKeysRoundTrip) {
  auto secret = make_secret();
  const std::string body = R"({"x":[1],"x":"two","y":{"x":3}})";
  RequestCipher client(secret);
  std::string sealed;
  seal_json_fields(body, kNothingPlain, sealer(client), sealed).value();
  ResponseCipher server(secret);
  std::string opened;
  open_json_fields(sealed, kNothingPlain, opener(server), opened).value();
  EXPECT_EQ(opened, body);
}

TEST(JsonFieldCipher, SequenceNumbersFollowTheSortOrder) {
  auto secret = make_secret();
  // Sealed in sort order: "a" is seq 0, "b" is seq 1, whatever their places.
  const std::string body = R"({"b":"second","a":"first"})";
  RequestCipher client(secret);
  std::string sealed;
  seal_json_fields(body, kNothingPlain, sealer(client), sealed).value();

  // Each field opens on its own with the sequence number of its sort rank.
  Recorder rec;
  std::string ignored;
  seal_json_fields(sealed, kNothingPlain, rec.transform(), ignored).value();
  ASSERT_EQ(rec.seen.size(), 2u);
  const std::string& sealed_a = rec.seen[0];
  const std::string& sealed_b = rec.seen[1];
  ResponseCipher in_order(secret);
  std::string plain;
  in_order.open(sealed_a, plain).value();
  in_order.open(sealed_b, plain).value();
  EXPECT_EQ(plain, R"("first""second")");

  // Swapping the two ciphertexts breaks authentication.
  const std::string swapped = R"({"b":)" + sealed_a + R"(,"a":)" + sealed_b + "}";
  ResponseCipher server(secret);
  std::string opened = "untouched";
  auto r = open_json_fields(swapped, kNothingPlain, opener(server), opened);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::authentication_failed);
  EXPECT_THAT(r.error().message(), HasSubstr("field \"a\": "));
  EXPECT_THAT(r.error().message(), HasSubstr("authentication failed"));
  EXPECT_EQ(opened, "untouched");
}

TEST(JsonFieldCipher, ReorderingFieldsInTheTextKeepsTheOrder) {
  auto secret = make_secret();
  RequestCipher client(secret);
  std::string sealed;
  seal_json_fields(R"({"b":2,"a":1})", kNothingPlain, sealer(client), sealed).value();
  // Moving whole members (key and value) changes nothing: the order is the keys'.
  Recorder rec;
  std::string ignored;
  seal_json_fields(sealed, kNothingPlain, rec.transform(), ignored).value();
  const std::string moved = R"({"a":)" + rec.seen[0] + R"(,"b":)" + rec.seen[1] + "}";
  ResponseCipher server(secret);
  std::string opened;
  open_json_fields(moved, kNothingPlain, opener(server), opened).value();
  EXPECT_EQ(opened, R"({"a":1,"b":2})");
}

TEST(JsonFieldErrors, InvalidJsonIsRejectedBeforeAnyTransform) {
  struct Case {
    std::string body;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {R"({"a":1,})", "at byte 7: expected a key string"},
      {R"({"a":[1,2)", "at byte 9: unexpected end of input"},
      {R"({"a":"unterminated)", "unterminated string"},
      {R"({"a" 1})", "at byte 5: expected ':' after the key"},
      {R"({"a":1 "b":2})", "at byte 7: expected ',' or '}'"},
      {R"({"a":1} {"b":2})", "at byte 8: unexpected data after the object"},
      {R"({"a":tru})", "invalid JSON"},
      {R"({"a":"\x"})", "invalid JSON"},
      {"{\"a\":\"\xff\"}", "invalid JSON"},
      {"", "invalid JSON"},
      {" \n", "unexpected end of input"},
  };
  for (const auto& c : cases) {
    Recorder rec;
    std::string out = "untouched";
    auto r = seal_json_fields(c.body, kNothingPlain, rec.transform(), out);
    ASSERT_FALSE(r) << c.body;
    EXPECT_EQ(r.error(), errc::invalid_json) << c.body;
    EXPECT_THAT(r.error().message(), HasSubstr(c.mentions)) << c.body;
    EXPECT_THAT(r.error().message(), HasSubstr("invalid JSON")) << c.body;
    EXPECT_THAT(rec.seen, IsEmpty()) << c.body;
    EXPECT_EQ(out, "untouched") << c.body;
    auto o = open_json_fields(c.body, kNothingPlain, rec.transform(), out);
    EXPECT_EQ(o.error(), errc::invalid_json) << c.body;
  }
}

TEST(JsonFieldErrors, InvalidJsonLaterInTheBodyStopsEarlierFields) {
  Recorder rec;
  std::string out;
  auto r = seal_json_fields(R"({"a":1,"b":[1,2,}])", kNothingPlain, rec.transform(), out);
  EXPECT_EQ(r.error(), errc::invalid_json);
  EXPECT_THAT(rec.seen, IsEmpty());
}

TEST(JsonFieldErrors, TopLevelMustBeAnObject) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[1,2]", "an array"},   {R"("text")", "a string"}, {"42", "a number"},
      {" true ", "a boolean"}, {"null", "null"},
  };
  for (const auto& [body, kind] : cases) {
    Recorder rec;
    std::string out;
    auto r = seal_json_fields(body, kNothingPlain, rec.transform(), out);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error(), errc::invalid_json) << body;
    EXPECT_THAT(r.error().message(), HasSubstr("not a JSON object")) << body;
    EXPECT_THAT(r.error().message(), HasSubstr(kind)) << body;
  }
}

TEST(JsonFieldErrors, EncryptedValueMustBeAString) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model":"m","messages":[{"role":"user"}]})", "not an array"},
      {R"({"messages":"x","temperature":0.7})", "not a number"},
      {R"({"tools":{}})", "not an object"},
      {R"({"logprobs":true})", "not a boolean"},
      {R"({"seed":null})", "not null"},
  };
  for (const auto& [body, kind] : cases) {
    Recorder rec;
    std::string out;
    auto r =
        open_json_fields(body, plain_request_fields(Route::chat_completions), rec.transform(), out);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error(), errc::malformed_field) << body;
    EXPECT_THAT(r.error().message(), HasSubstr("must be a JSON string")) << body;
    EXPECT_THAT(r.error().message(), HasSubstr(kind)) << body;
    EXPECT_THAT(rec.seen, IsEmpty()) << "checked before any field is opened: " << body;
  }
  // A plain field may be anything.
  Recorder rec;
  std::string out;
  open_json_fields(R"({"model":"m","stream":true,"n":2,"messages":"x"})",
                   plain_request_fields(Route::chat_completions), rec.transform(), out)
      .value();
  EXPECT_THAT(rec.seen, ElementsAre(R"("x")"));
}

TEST(JsonFieldErrors, MalformedFieldNamesTheKey) {
  Recorder rec;
  std::string out;
  auto r = open_json_fields(R"({"a":"ok","wei\"rd":[]})", kNothingPlain, rec.transform(), out);
  EXPECT_EQ(r.error(), errc::malformed_field);
  EXPECT_THAT(r.error().message(), HasSubstr(R"(field "wei\"rd": )"));
}

TEST(JsonFieldErrors, TransformErrorsNameTheFieldAndKeepTheCode) {
  int calls = 0;
  const FieldTransform failing = [&](std::string_view, std::string& out) -> Result<void, Error> {
    if (++calls == 2) return Error(errc::cipher_state, "no more");
    out += "\"ok\"";
    return {};
  };
  std::string out = "before";
  auto r = seal_json_fields(R"({"c":3,"b":2,"a":1})", kNothingPlain, failing, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::cipher_state);
  EXPECT_EQ(r.error().message(), R"(field "b": no more)");
  EXPECT_EQ(calls, 2) << "the walk stops at the first error";
  EXPECT_EQ(out, "before");

  const FieldTransform bare = [](std::string_view, std::string&) -> Result<void, Error> {
    return Error(errc::authentication_failed);
  };
  auto b = open_json_fields(R"({"x":"y"})", kNothingPlain, bare, out);
  EXPECT_EQ(b.error(), errc::authentication_failed);
  EXPECT_EQ(b.error().message(), R"(field "x": authentication failed)");
}

TEST(JsonFieldErrors, OpeningGarbageFieldsFails) {
  auto secret = make_secret();
  ResponseCipher server(secret);
  std::string out;
  auto r = open_json_fields(R"({"messages":"not a field"})", kNothingPlain, opener(server), out);
  EXPECT_EQ(r.error(), errc::malformed_field);
  EXPECT_THAT(r.error().message(), HasSubstr("field \"messages\": "));
}

TEST(JsonFieldNesting, TransformMayWalkJsonItself) {
  // A transform that walks the nested object: the calls do not share state.
  Recorder inner;
  const FieldTransform nested = [&](std::string_view value, std::string& out) {
    return seal_json_fields(value, kNothingPlain, inner.transform(), out);
  };
  std::string out;
  seal_json_fields(R"({"o":{"y":2,"x":1},"p":{"z":3}})", kNothingPlain, nested, out).value();
  EXPECT_EQ(out, R"({"o":{"y":"#1","x":"#0"},"p":{"z":"#2"}})");
  EXPECT_THAT(inner.seen, ElementsAre("1", "2", "3"));
}

TEST(JsonFieldNesting, DeepNestingInsideAValueIsOneField) {
  std::string deep(500, '[');
  deep += std::string(500, ']');
  Recorder rec;
  std::string out;
  seal_json_fields(R"({"d":)" + deep + "}", kNothingPlain, rec.transform(), out).value();
  EXPECT_THAT(rec.seen, ElementsAre(deep));
}

TEST(JsonFieldNesting, BracketsInsideStringsAreText) {
  Recorder rec;
  std::string out;
  seal_json_fields(R"({"a":["]}\"{[",{"k}":"]"}],"b":"}"})", kNothingPlain, rec.transform(), out)
      .value();
  EXPECT_THAT(rec.seen, ElementsAre(R"(["]}\"{[",{"k}":"]"}])", R"("}")"));
}

}  // namespace
}  // namespace cipherline::protocol

TEST(PlainPathTail, OnlyPlainSegmentsPass) {
  for (const char* tail : {"synthetic", "meta-llama/Llama-3.3-70B-Instruct", "general/v0/general",
                           "model:v1.2+build_3"}) {
    EXPECT_TRUE(cipherline::protocol::is_plain_path_tail(tail)) << tail;
  }
  for (const char* tail : {"", "../admin", "a/../b", "a/./b", "a//b", "a/", "/a", "x?y=1",
                           "%2e%2e/x", "a b", "a\\b", "a#b"}) {
    EXPECT_FALSE(cipherline::protocol::is_plain_path_tail(tail)) << tail;
  }
}
