// JsonWriter: the exact text it writes — structure, string escaping,
// invalid UTF-8 replacement, numbers, raw splices and output ownership.
#include "cipherline/json/writer.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

namespace cipherline::json {
namespace {

using namespace std::string_view_literals;

std::string encoded(std::string_view s) {
  JsonWriter w;
  w.string(s);
  return w.take();
}

TEST(JsonWriter, EscapesQuoteBackslashAndControlCharacters) {
  const std::pair<char, std::string_view> table[] = {
      {'\x00', R"("\u0000")"}, {'\x01', R"("\u0001")"}, {'\x02', R"("\u0002")"},
      {'\x03', R"("\u0003")"}, {'\x04', R"("\u0004")"}, {'\x05', R"("\u0005")"},
      {'\x06', R"("\u0006")"}, {'\x07', R"("\u0007")"}, {'\x08', R"("\b")"},
      {'\x09', R"("\t")"},     {'\x0A', R"("\n")"},     {'\x0B', R"("\u000b")"},
      {'\x0C', R"("\f")"},     {'\x0D', R"("\r")"},     {'\x0E', R"("\u000e")"},
      {'\x0F', R"("\u000f")"}, {'\x10', R"("\u0010")"}, {'\x11', R"("\u0011")"},
      {'\x12', R"("\u0012")"}, {'\x13', R"("\u0013")"}, {'\x14', R"("\u0014")"},
      {'\x15', R"("\u0015")"}, {'\x16', R"("\u0016")"}, {'\x17', R"("\u0017")"},
      {'\x18', R"("\u0018")"}, {'\x19', R"("\u0019")"}, {'\x1A', R"("\u001a")"},
      {'\x1B', R"("\u001b")"}, {'\x1C', R"("\u001c")"}, {'\x1D', R"("\u001d")"},
      {'\x1E', R"("\u001e")"}, {'\x1F', R"("\u001f")"}, {'"', R"("\"")"},
      {'\\', R"("\\")"},
  };
  for (const auto& [c, expected] : table) {
    EXPECT_EQ(encoded(std::string_view(&c, 1)), expected) << static_cast<int>(c);
  }
}

TEST(JsonWriter, CopiesOtherPrintableAsciiUnchanged) {
  for (int c = 0x20; c < 0x80; ++c) {
    if (c == '"' || c == '\\') continue;
    const char ch = static_cast<char>(c);
    EXPECT_EQ(encoded(std::string_view(&ch, 1)), "\"" + std::string(1, ch) + "\"") << c;
  }
  EXPECT_EQ(encoded("a/b</script>\x7F"), "\"a/b</script>\x7F\"");
}

TEST(JsonWriter, EscapesInsideLongerStrings) {
  EXPECT_EQ(encoded("He said \"hi\"\n\tC:\\path\r\n"), R"("He said \"hi\"\n\tC:\\path\r\n")");
  EXPECT_EQ(encoded(""), R"("")");
  EXPECT_EQ(encoded("nul\0inside"sv), R"("nul\u0000inside")");
}

TEST(JsonWriter, FindsEscapesAtEveryPositionOfALongString) {
  // Plain runs are scanned several bytes at a time; a special byte must be
  // found wherever it falls.
  const std::pair<std::string_view, std::string_view> specials[] = {
      {"\"", "\\\""},
      {"\\", "\\\\"},
      {"\n", "\\n"},
      {"\x1F", "\\u001f"},
      {"\x00"sv, "\\u0000"},
      {"\xC3\xA9", "\xC3\xA9"},
      {"\xFF", "\xEF\xBF\xBD"},
      {"\x7F", "\x7F"},
      {" ", " "},
      {"!", "!"},
      {"#", "#"},
      {"[", "["},
      {"]", "]"},
  };
  for (const auto& [special, escaped] : specials) {
    for (std::size_t at = 0; at < 40; ++at) {
      const std::string plain(40, 'a');
      const std::string input = plain.substr(0, at) + std::string(special) + plain.substr(at);
      const std::string expected =
          "\"" + plain.substr(0, at) + std::string(escaped) + plain.substr(at) + "\"";
      EXPECT_EQ(encoded(input), expected) << testing::PrintToString(input);
    }
  }
}

TEST(JsonWriter, CopiesValidUtf8Unchanged) {
  for (const std::string_view s :
       {"caf\xC3\xA9"sv,                       // U+00E9, 2 bytes
        "\xC2\x80\xDF\xBF"sv,                  // U+0080, U+07FF
        "\xE0\xA0\x80\xE2\x82\xAC"sv,          // U+0800, U+20AC
        "\xED\x9F\xBF\xEE\x80\x80"sv,          // U+D7FF, U+E000 (around the surrogates)
        "\xEF\xBF\xBD\xEF\xBF\xBF"sv,          // U+FFFD, U+FFFF
        "\xF0\x90\x80\x80\xF0\x9F\x98\x80"sv,  // U+10000, U+1F600
        "\xF4\x8F\xBF\xBF"sv,                  // U+10FFFF
        "\xE2\x80\xA8\xE2\x80\xA9"sv}) {       // U+2028, U+2029 are valid JSON as they are
    EXPECT_EQ(encoded(s), "\"" + std::string(s) + "\"") << testing::PrintToString(std::string(s));
  }
}

TEST(JsonWriter, ReplacesEachMaximalIllFormedSubsequenceWithOneReplacementCharacter) {
  constexpr std::string_view R = "\xEF\xBF\xBD";
  const auto r = [&](int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += R;
    return s;
  };
  const std::pair<std::string_view, std::string> table[] = {
      {"\x80"sv, r(1)},      // lone continuation byte
      {"\xBF\x80"sv, r(2)},  // two of them
      {"\xC0\xAF"sv, r(2)},  // overlong '/': C0 is never valid
      {"\xC1\xBF"sv, r(2)},
      {"\xE0\x80\xAF"sv, r(3)},      // overlong 3-byte form
      {"\xED\xA0\x80"sv, r(3)},      // surrogate U+D800
      {"\xED\xBF\xBF"sv, r(3)},      // surrogate U+DFFF
      {"\xF0\x80\x80\xAF"sv, r(4)},  // overlong 4-byte form
      {"\xF4\x90\x80\x80"sv, r(4)},  // above U+10FFFF
      {"\xF5\x80\x80\x80"sv, r(4)},
      {"\xFE\xFF"sv, r(2)},
      {"\xC3"sv, r(1)},      // truncated at the end
      {"\xE2\x82"sv, r(1)},  // truncated: one unit
      {"\xF0\x9F\x98"sv, r(1)},
      {"\xE2\x82\x41"sv, r(1) + "A"},  // truncated before ASCII
      {"\xF0\x9F\x98\xF0\x9F\x98\x80"sv, r(1) + "\xF0\x9F\x98\x80"},
      {"a\xFF\x62\xC3\xA9\xC3\x63"sv, "a" + r(1) + "b\xC3\xA9" + r(1) + "c"},
      {"\xC3\"\n"sv, r(1) + "\\\"\\n"},  // escapes still apply after it
  };
  for (const auto& [input, content] : table) {
    EXPECT_EQ(encoded(input), "\"" + content + "\"") << testing::PrintToString(std::string(input));
  }
}

TEST(JsonWriter, KeysAreEscapedToo) {
  JsonWriter w;
  w.begin_object().key("a\"b\n\xFF").number(1).end_object();
  EXPECT_EQ(w.take(), "{\"a\\\"b\\n\xEF\xBF\xBD\":1}");
}

TEST(JsonWriter, ObjectsAndArraysGetCommasAndColons) {
  JsonWriter w;
  w.begin_object()
      .key("id")
      .string("chatcmpl-1")
      .key("choices")
      .begin_array()
      .begin_object()
      .key("index")
      .number(0)
      .key("delta")
      .begin_object()
      .key("content")
      .string("Hi")
      .end_object()
      .key("finish_reason")
      .null()
      .end_object()
      .end_array()
      .key("flags")
      .begin_array()
      .boolean(true)
      .boolean(false)
      .null()
      .number(-1)
      .end_array()
      .end_object();
  EXPECT_EQ(w.take(), R"({"id":"chatcmpl-1","choices":[{"index":0,"delta":{"content":"Hi"},)"
                      R"("finish_reason":null}],"flags":[true,false,null,-1]})");
}

TEST(JsonWriter, EmptyAndNestedContainers) {
  JsonWriter w;
  w.begin_array()
      .begin_array()
      .end_array()
      .begin_object()
      .end_object()
      .begin_array()
      .begin_array()
      .end_array()
      .end_array()
      .begin_object()
      .key("")
      .begin_object()
      .end_object()
      .end_object()
      .end_array();
  EXPECT_EQ(w.take(), R"([[],{},[[]],{"":{}}])");
}

TEST(JsonWriter, DeepNestingBeyondTheInlineLevels) {
  JsonWriter w;
  constexpr int kDepth = 300;
  for (int i = 0; i < kDepth; ++i) {
    if (i % 2 == 0) {
      w.begin_array();
    } else {
      w.begin_object().key("k");
    }
  }
  w.number(1);
  for (int i = kDepth - 1; i >= 0; --i) {
    if (i % 2 == 0) {
      w.end_array();
    } else {
      w.end_object();
    }
  }
  std::string expected;
  for (int i = 0; i < kDepth; ++i) expected += i % 2 == 0 ? "[" : "{\"k\":";
  expected += "1";
  for (int i = kDepth - 1; i >= 0; --i) expected += i % 2 == 0 ? "]" : "}";
  EXPECT_TRUE(w.complete());
  EXPECT_EQ(w.take(), expected);
}

TEST(JsonWriter, TopLevelScalars) {
  for (const auto& [text, write] :
       std::initializer_list<std::pair<std::string_view, void (*)(JsonWriter&)>>{
           {"null", [](JsonWriter& w) { w.null(); }},
           {"true", [](JsonWriter& w) { w.boolean(true); }},
           {"\"s\"", [](JsonWriter& w) { w.string("s"); }},
           {"42", [](JsonWriter& w) { w.number(42); }},
           {"{\"a\":1}", [](JsonWriter& w) { w.raw(R"({"a":1})"); }},
       }) {
    JsonWriter w;
    EXPECT_FALSE(w.complete());
    write(w);
    EXPECT_TRUE(w.complete());
    EXPECT_EQ(w.take(), text);
  }
}

TEST(JsonWriter, IntegersAreExact) {
  JsonWriter w;
  w.begin_array()
      .number(0)
      .number(-1)
      .number(std::numeric_limits<std::int64_t>::min())
      .number(std::numeric_limits<std::int64_t>::max())
      .number(std::numeric_limits<std::uint64_t>::max())
      .number(std::int8_t{-128})
      .number(std::uint16_t{65535})
      .number(std::size_t{12345678901234567890ULL})
      .end_array();
  EXPECT_EQ(w.take(),
            "[0,-1,-9223372036854775808,9223372036854775807,18446744073709551615,-128,65535,"
            "12345678901234567890]");
}

TEST(JsonWriter, DoublesUseTheShortestRoundTripForm) {
  const std::pair<double, std::string_view> table[] = {
      {0.0, "0"},
      {-0.0, "-0"},
      {0.1, "0.1"},
      {0.7, "0.7"},
      {1.0, "1"},
      {-2.5, "-2.5"},
      {1e21, "1e+21"},
      {1e300, "1e+300"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {5e-324, "5e-324"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {123456.789, "123456.789"},
      {0.30000000000000004, "0.30000000000000004"},
      {static_cast<double>(1.5f), "1.5"},
      // Below 2^63 an integral double may be written as an integer; from
      // 2^63 on it always gets an exponent.
      {9223372036854774784.0, "9223372036854774784"},
      {9223372036854775808.0, "9.223372036854776e+18"},
      {-4334270042473571549184.0, "-4.3342700424735715e+21"},
      {1e22, "1e+22"},
  };
  for (const auto& [value, text] : table) {
    JsonWriter w;
    w.number(value);
    EXPECT_EQ(w.take(), text) << value;
  }
}

TEST(JsonWriter, NonFiniteDoublesAreWrittenAsNull) {
  JsonWriter w;
  w.begin_array()
      .number(std::numeric_limits<double>::quiet_NaN())
      .number(std::numeric_limits<double>::infinity())
      .number(-std::numeric_limits<double>::infinity())
      .end_array();
  EXPECT_EQ(w.take(), "[null,null,null]");
}

TEST(JsonWriter, RawSplicesEncodedJsonAsOneValue) {
  JsonWriter w;
  w.begin_object()
      .key("content")
      .raw(R"("already \"escaped\"")")
      .key("usage")
      .raw(R"({"prompt_tokens":3,"completion_tokens":[1,2]})")
      .key("list")
      .begin_array()
      .raw("1")
      .raw("[true]")
      .end_array()
      .end_object();
  EXPECT_EQ(w.take(), R"({"content":"already \"escaped\"","usage":{"prompt_tokens":3,)"
                      R"("completion_tokens":[1,2]},"list":[1,[true]]})");
}

TEST(JsonWriter, AppendsToTheCallersString) {
  std::string out = "data: ";
  {
    JsonWriter w(out);
    w.begin_object().key("a").number(1).end_object();
    EXPECT_EQ(&w.out(), &out);
    EXPECT_TRUE(w.complete());
  }
  out += "\n\n";
  EXPECT_EQ(out, "data: {\"a\":1}\n\n");
}

TEST(JsonWriter, ResetStartsAnotherDocumentAfterTheFirst) {
  std::string out;
  JsonWriter w(out);
  for (int i = 0; i < 3; ++i) {
    out.clear();
    w.reset();
    w.begin_array().number(i).end_array();
    EXPECT_EQ(out, "[" + std::to_string(i) + "]");
  }
  // Without clearing, documents follow each other in the output.
  w.reset();
  w.null();
  EXPECT_EQ(out, "[2]null");
}

TEST(JsonWriter, TakeMovesTheTextOutAndResets) {
  std::string out = "prefix:";
  JsonWriter w(out);
  w.string("x");
  EXPECT_EQ(w.take(), "prefix:\"x\"");
  EXPECT_TRUE(out.empty());
  EXPECT_FALSE(w.complete());
  w.string("y");
  EXPECT_EQ(w.take(), "\"y\"");
}

TEST(JsonWriter, MovedWriterKeepsItsOwnOutput) {
  JsonWriter a;
  a.begin_array().number(1);
  JsonWriter b(std::move(a));
  b.number(2).end_array();
  EXPECT_EQ(b.take(), "[1,2]");

  JsonWriter c;
  c.begin_object().key("k");
  JsonWriter d;
  d = std::move(c);
  d.string("v").end_object();
  EXPECT_EQ(d.out(), R"({"k":"v"})");
  EXPECT_TRUE(d.complete());

  // A moved-from writer is empty and usable.
  c.null();
  EXPECT_EQ(c.take(), "null");
}

}  // namespace
}  // namespace cipherline::json
