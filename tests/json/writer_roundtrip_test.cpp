// JsonWriter: what it writes parses (simdjson) back to the values written —
// every byte value in strings, invalid UTF-8, integers at the limits,
// doubles of many bit patterns, nested documents.
#include "cipherline/json/writer.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace cipherline::json {
namespace {

using namespace std::string_view_literals;

simdjson::dom::element parse(simdjson::dom::parser& parser, const std::string& json) {
  simdjson::dom::element doc;
  const auto error = parser.parse(json).get(doc);
  EXPECT_EQ(error, simdjson::SUCCESS) << simdjson::error_message(error) << " in " << json;
  return doc;
}

std::string parsed_string(simdjson::dom::parser& parser, const std::string& json) {
  std::string_view s;
  const auto error = parse(parser, json).get_string().get(s);
  EXPECT_EQ(error, simdjson::SUCCESS) << json;
  return std::string(s);
}

std::string written(std::string_view s) {
  JsonWriter w;
  w.string(s);
  return w.take();
}

TEST(JsonWriterRoundTrip, EveryAsciiByteInAString) {
  simdjson::dom::parser parser;
  std::string all;
  for (int c = 0; c < 0x80; ++c) all.push_back(static_cast<char>(c));
  EXPECT_EQ(parsed_string(parser, written(all)), all);
  for (int c = 0; c < 0x80; ++c) {
    const std::string one(1, static_cast<char>(c));
    EXPECT_EQ(parsed_string(parser, written(one)), one) << c;
  }
}

TEST(JsonWriterRoundTrip, EveryCodePointThroughItsUtf8Form) {
  simdjson::dom::parser parser;
  std::string text;
  for (std::uint32_t cp = 0; cp <= 0x10FFFF; cp += (cp < 0x800 ? 1 : 0x3F)) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    if (cp < 0x80) {
      text.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      text.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      text.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      text.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      text.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      text.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      text.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  ASSERT_TRUE(simdjson::validate_utf8(text));
  EXPECT_EQ(parsed_string(parser, written(text)), text);
}

TEST(JsonWriterRoundTrip, RandomBytesAlwaysGiveValidJson) {
  // Whatever the bytes, the output parses; where they were valid UTF-8 the
  // string comes back unchanged, otherwise it differs only by U+FFFD.
  simdjson::dom::parser parser;
  std::mt19937 rng(42);
  int invalid = 0;
  for (int round = 0; round < 2000; ++round) {
    std::string bytes(rng() % 40, '\0');
    for (char& c : bytes) {
      const auto r = rng() % 4;
      // Mostly bytes that start or continue multi-byte sequences.
      c = static_cast<char>(r == 0 ? rng() % 0x80 : 0x80 + rng() % 0x80);
    }
    const std::string json = written(bytes);
    ASSERT_TRUE(simdjson::validate_utf8(json)) << testing::PrintToString(bytes);
    const std::string back = parsed_string(parser, json);
    if (simdjson::validate_utf8(bytes)) {
      EXPECT_EQ(back, bytes);
    } else {
      ++invalid;
      EXPECT_NE(back.find("\xEF\xBF\xBD"), std::string::npos) << testing::PrintToString(bytes);
    }
  }
  EXPECT_GT(invalid, 1000);  // the generator does produce invalid input
}

TEST(JsonWriterRoundTrip, IntegersAtTheLimits) {
  simdjson::dom::parser parser;
  const std::int64_t signed_values[] = {0,
                                        1,
                                        -1,
                                        42,
                                        -9007199254740993LL,
                                        std::numeric_limits<std::int64_t>::min(),
                                        std::numeric_limits<std::int64_t>::max()};
  for (const std::int64_t v : signed_values) {
    JsonWriter w;
    w.number(v);
    std::int64_t back = 0;
    ASSERT_EQ(parse(parser, w.take()).get_int64().get(back), simdjson::SUCCESS) << v;
    EXPECT_EQ(back, v);
  }
  const std::uint64_t unsigned_values[] = {0, 9223372036854775808ULL,
                                           std::numeric_limits<std::uint64_t>::max()};
  for (const std::uint64_t v : unsigned_values) {
    JsonWriter w;
    w.number(v);
    std::uint64_t back = 0;
    ASSERT_EQ(parse(parser, w.take()).get_uint64().get(back), simdjson::SUCCESS) << v;
    EXPECT_EQ(back, v);
  }
}

TEST(JsonWriterRoundTrip, DoublesReadBackBitForBit) {
  simdjson::dom::parser parser;
  std::vector<double> values = {0.0,
                                0.1,
                                -1.5,
                                1e21,
                                1e-7,
                                123456789012345678.0,
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::lowest(),
                                std::numeric_limits<double>::min(),
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::epsilon()};
  std::mt19937_64 rng(7);
  while (values.size() < 5000) {
    const double d = std::bit_cast<double>(rng());
    if (std::isfinite(d)) values.push_back(d);
  }
  for (const double v : values) {
    JsonWriter w;
    w.number(v);
    const std::string json = w.take();
    double back = 0;
    ASSERT_EQ(parse(parser, json).get_double().get(back), simdjson::SUCCESS) << json;
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(v))
        << json << " read back as " << back;
  }
}

TEST(JsonWriterRoundTrip, ChatCompletionChunk) {
  const std::string token = "Hello, \"world\"\n\t\xE2\x9C\x93 \\o/";
  JsonWriter w;
  w.begin_object()
      .key("id")
      .string("chatcmpl-42")
      .key("object")
      .string("chat.completion.chunk")
      .key("created")
      .number(std::int64_t{1717171717})
      .key("choices")
      .begin_array()
      .begin_object()
      .key("index")
      .number(0)
      .key("delta")
      .begin_object()
      .key("content")
      .string(token)
      .end_object()
      .key("logprobs")
      .null()
      .key("finish_reason")
      .null()
      .end_object()
      .end_array()
      .key("usage")
      .raw(R"({"prompt_tokens":12,"completion_tokens":1})")
      .key("temperature")
      .number(0.7)
      .key("stream")
      .boolean(true)
      .end_object();
  const std::string json = w.take();

  simdjson::dom::parser parser;
  const auto doc = parse(parser, json);
  std::string_view s;
  ASSERT_EQ(doc["id"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "chatcmpl-42");
  ASSERT_EQ(doc["object"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, "chat.completion.chunk");
  std::int64_t created = 0;
  ASSERT_EQ(doc["created"].get_int64().get(created), simdjson::SUCCESS);
  EXPECT_EQ(created, 1717171717);
  simdjson::dom::array choices;
  ASSERT_EQ(doc["choices"].get_array().get(choices), simdjson::SUCCESS);
  ASSERT_EQ(choices.size(), 1u);
  const auto choice = choices.at(0).value();
  ASSERT_EQ(choice["delta"]["content"].get_string().get(s), simdjson::SUCCESS);
  EXPECT_EQ(s, token);
  EXPECT_TRUE(choice["logprobs"].is_null());
  EXPECT_TRUE(choice["finish_reason"].is_null());
  std::int64_t tokens = 0;
  ASSERT_EQ(doc["usage"]["completion_tokens"].get_int64().get(tokens), simdjson::SUCCESS);
  EXPECT_EQ(tokens, 1);
  double temperature = 0;
  ASSERT_EQ(doc["temperature"].get_double().get(temperature), simdjson::SUCCESS);
  EXPECT_EQ(temperature, 0.7);
  bool stream = false;
  ASSERT_EQ(doc["stream"].get_bool().get(stream), simdjson::SUCCESS);
  EXPECT_TRUE(stream);
}

TEST(JsonWriterRoundTrip, KeysComeBackAsWritten) {
  const std::string keys[] = {"", "plain", "quote\"", "back\\slash", "nl\n", "\x01", "caf\xC3\xA9"};
  JsonWriter w;
  w.begin_object();
  int i = 0;
  for (const auto& k : keys) w.key(k).number(i++);
  w.end_object();
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  ASSERT_EQ(parse(parser, w.take()).get_object().get(object), simdjson::SUCCESS);
  i = 0;
  for (const auto field : object) {
    ASSERT_LT(i, 7);
    EXPECT_EQ(field.key, keys[i]);
    std::int64_t v = -1;
    ASSERT_EQ(field.value.get_int64().get(v), simdjson::SUCCESS);
    EXPECT_EQ(v, i);
    ++i;
  }
  EXPECT_EQ(i, 7);
}

}  // namespace
}  // namespace cipherline::json
