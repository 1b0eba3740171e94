// SseReader: the WHATWG event stream interpretation rules, stream fed whole.
#include "cipherline/http/sse_reader.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace cipherline::http {
namespace {

using namespace std::string_view_literals;

struct Event {
  std::string type;
  std::string data;
  std::string id;
  std::optional<std::uint64_t> retry;
  bool operator==(const Event&) const = default;
};

void PrintTo(const Event& e, std::ostream* os) {
  *os << "{type=\"" << e.type << "\" data=\"" << e.data << "\" id=\"" << e.id << "\" retry=";
  if (e.retry) {
    *os << *e.retry;
  } else {
    *os << "none";
  }
  *os << "}";
}

Event message(std::string data, std::string id = "") {
  return {"message", std::move(data), std::move(id), std::nullopt};
}

std::vector<Event> read_all(SseReader& reader, std::string_view stream) {
  reader.feed(stream);
  std::vector<Event> events;
  while (true) {
    auto ev = reader.next();
    EXPECT_TRUE(ev) << ev.error().message();
    if (!ev || !*ev) break;
    const SseEvent& e = **ev;
    events.push_back(
        {std::string(e.type), std::string(e.data), std::string(e.last_event_id), e.retry});
  }
  return events;
}

std::vector<Event> read_all(std::string_view stream) {
  SseReader reader;
  return read_all(reader, stream);
}

// Examples of the WHATWG HTML standard, section "Interpreting an event stream".

TEST(SseReader, SpecStockExample) {
  const auto events = read_all(
      ": test stream\n"
      "\n"
      "data: first event\n"
      "id: 1\n"
      "\n"
      "data:second event\n"
      "id\n"
      "\n"
      "data:  third event\n"
      "\n");
  EXPECT_EQ(events, (std::vector<Event>{message("first event", "1"), message("second event", ""),
                                        message(" third event", "")}));
}

TEST(SseReader, SpecDataLinesAreJoinedByLineFeeds) {
  const auto events = read_all(
      "data: This is the first message.\n"
      "\n"
      "data: This is the second message, it\n"
      "data: has two lines.\n"
      "\n"
      "data: This is the third message.\n"
      "\n");
  EXPECT_EQ(events, (std::vector<Event>{message("This is the first message."),
                                        message("This is the second message, it\nhas two lines."),
                                        message("This is the third message.")}));
}

TEST(SseReader, SpecEmptyDataFieldsAndUnterminatedLastBlock) {
  // The first block fires an event with empty data, the second one with a
  // single LF; the last block has no blank line after it and is discarded.
  EXPECT_EQ(read_all("data\n\ndata\ndata\n\ndata:"),
            (std::vector<Event>{message(""), message("\n")}));
  // Followed by a blank line, the last block fires too.
  EXPECT_EQ(read_all("data\n\ndata\ndata\n\ndata:\n\n"),
            (std::vector<Event>{message(""), message("\n"), message("")}));
}

TEST(SseReader, SpecOneSpaceAfterTheColonIsIgnored) {
  EXPECT_EQ(read_all("data:test\n\ndata: test\n\n"),
            (std::vector<Event>{message("test"), message("test")}));
}

TEST(SseReader, SpecEventTypes) {
  const auto events = read_all(
      "event: add\n"
      "data: 73857293\n"
      "\n"
      "event: remove\n"
      "data: 2153\n"
      "\n"
      "event: add\n"
      "data: 113411\n"
      "\n");
  EXPECT_EQ(events, (std::vector<Event>{{"add", "73857293", "", std::nullopt},
                                        {"remove", "2153", "", std::nullopt},
                                        {"add", "113411", "", std::nullopt}}));
}

TEST(SseReader, IdPersistsUntilTheStreamSetsAnother) {
  const auto events = read_all(
      "id: 1\ndata: a\n\n"
      "data: b\n\n"
      "data: c\nid: 3\n\n"
      "id\ndata: d\n\n"
      "data: e\n\n");
  EXPECT_EQ(events, (std::vector<Event>{message("a", "1"), message("b", "1"), message("c", "3"),
                                        message("d", ""), message("e", "")}));
}

TEST(SseReader, IdContainingNulIsIgnored) {
  SseReader reader;
  const auto events = read_all(reader, "id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"sv);
  EXPECT_EQ(events, (std::vector<Event>{message("a", "1"), message("b", "1")}));
  EXPECT_EQ(reader.last_event_id(), "1");
}

TEST(SseReader, IdIsCommittedByABlankLineEvenWithoutData) {
  SseReader reader;
  EXPECT_TRUE(read_all(reader, "id: 7\n\n").empty());
  EXPECT_EQ(reader.last_event_id(), "7");
  EXPECT_EQ(read_all(reader, "data: x\n\n"), (std::vector<Event>{message("x", "7")}));
}

TEST(SseReader, IdOfAnUnfinishedEventIsNotYetTheLastEventId) {
  SseReader reader;
  EXPECT_TRUE(read_all(reader, "id: 1\n\nid: 2\ndata: x\n").empty());
  EXPECT_EQ(reader.last_event_id(), "1");
  EXPECT_EQ(read_all(reader, "\n"), (std::vector<Event>{message("x", "2")}));
  EXPECT_EQ(reader.last_event_id(), "2");
}

TEST(SseReader, OnlyOneSpaceIsRemovedAndOnlyASpace) {
  EXPECT_EQ(read_all("data:   x\n\ndata:\tx\n\ndata: a:b: c\n\n"),
            (std::vector<Event>{message("  x"), message("\tx"), message("a:b: c")}));
}

TEST(SseReader, LineWithoutColonIsAFieldWithEmptyValue) {
  EXPECT_EQ(read_all("event\ndata\n\n"), (std::vector<Event>{message("")}));
  EXPECT_EQ(read_all("event: x\nevent\ndata: 1\n\n"), (std::vector<Event>{message("1")}));
}

TEST(SseReader, CommentsAreIgnored) {
  EXPECT_EQ(read_all(": keep-alive\n\n:\ndata: x\n: inside\ndata: y\n:data: z\n\n"),
            (std::vector<Event>{message("x\ny")}));
}

TEST(SseReader, UnknownAndMiscasedFieldsAreIgnored) {
  EXPECT_EQ(read_all("Data: no\nDATA: no\nfoo: bar\nbaz\ndata : no\n data: no\ndata: yes\n\n"),
            (std::vector<Event>{message("yes")}));
  EXPECT_TRUE(read_all("Event: x\nfoo: bar\n\n").empty());
}

TEST(SseReader, BlankLineWithoutDataDispatchesNothingButResetsTheType) {
  const auto events = read_all("event: ping\n\ndata: x\n\nevent: a\ndata: 1\n\ndata: 2\n\n");
  EXPECT_EQ(events, (std::vector<Event>{message("x"), {"a", "1", "", std::nullopt}, message("2")}));
}

TEST(SseReader, EmptyEventTypeMeansMessage) {
  EXPECT_EQ(read_all("event:\ndata: x\n\nevent: \ndata: y\n\n"),
            (std::vector<Event>{message("x"), message("y")}));
}

TEST(SseReader, LastEventTypeFieldWins) {
  EXPECT_EQ(read_all("event: a\nevent: b\ndata: x\n\n"),
            (std::vector<Event>{{"b", "x", "", std::nullopt}}));
}

TEST(SseReader, RetryAcceptsOnlyAsciiDigits) {
  struct Case {
    std::string_view value;
    std::optional<std::uint64_t> retry;
  };
  const Case cases[] = {
      {"1500", 1500},
      {"0", 0},
      {"007", 7},
      {"18446744073709551615", 18446744073709551615ULL},
      {"18446744073709551616", std::nullopt},  // does not fit in 64 bits
      {"", std::nullopt},
      {" 15", std::nullopt},  // "retry:  15": the second space stays
      {"15 ", std::nullopt},
      {"-1", std::nullopt},
      {"+1", std::nullopt},
      {"1.5", std::nullopt},
      {"1e3", std::nullopt},
      {"15a0", std::nullopt},
      {"\xD9\xA1", std::nullopt},  // ARABIC-INDIC DIGIT ONE is not an ASCII digit
  };
  for (const Case& c : cases) {
    const std::string stream = "retry: " + std::string(c.value) + "\ndata: x\n\n";
    const auto events = read_all(stream);
    ASSERT_EQ(events.size(), 1u) << stream;
    EXPECT_EQ(events[0].retry, c.retry) << stream;
  }
  EXPECT_EQ(read_all("retry\ndata: x\n\n")[0].retry, std::nullopt);
}

TEST(SseReader, RetryPersistsAndAnInvalidOneKeepsThePrevious) {
  SseReader reader;
  const auto events =
      read_all(reader, "retry: 10\ndata: a\n\ndata: b\n\nretry: x\ndata: c\n\nretry: 20\n\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].retry, 10u);
  EXPECT_EQ(events[1].retry, 10u);
  EXPECT_EQ(events[2].retry, 10u);
  // A retry-only block dispatches nothing but takes effect at once.
  EXPECT_EQ(reader.retry(), 20u);
  EXPECT_EQ(read_all(reader, "data: d\n\n")[0].retry, 20u);
}

TEST(SseReader, LineEndsCrLfLfAndCrAreEquivalent) {
  const std::vector<Event> expected = {{"add", "1\n2", "9", std::nullopt}, message("3", "9")};
  EXPECT_EQ(read_all("event: add\ndata: 1\ndata: 2\nid: 9\n\ndata: 3\n\n"), expected);
  EXPECT_EQ(read_all("event: add\r\ndata: 1\r\ndata: 2\r\nid: 9\r\n\r\ndata: 3\r\n\r\n"), expected);
  EXPECT_EQ(read_all("event: add\rdata: 1\rdata: 2\rid: 9\r\rdata: 3\r\r"), expected);
  EXPECT_EQ(read_all("event: add\r\ndata: 1\rdata: 2\nid: 9\r\n\rdata: 3\n\r\n"), expected);
}

TEST(SseReader, CrLfIsOneLineEndButLfCrIsTwo) {
  EXPECT_EQ(read_all("data: a\r\ndata: b\r\n\r\n"), (std::vector<Event>{message("a\nb")}));
  EXPECT_EQ(read_all("data: a\n\rdata: b\n\n"), (std::vector<Event>{message("a"), message("b")}));
  EXPECT_EQ(read_all("data: a\r\rdata: b\r\n\n"), (std::vector<Event>{message("a"), message("b")}));
}

TEST(SseReader, LeadingByteOrderMarkIsSkippedOnce) {
  const std::string bom = "\xEF\xBB\xBF";
  EXPECT_EQ(read_all(bom + "data: x\n\n"), (std::vector<Event>{message("x")}));
  // A second BOM is part of the first field name, which is then unknown.
  EXPECT_EQ(read_all(bom + bom + "data: x\n\ndata: y\n\n"), (std::vector<Event>{message("y")}));
  // Not at the start, a BOM is ordinary bytes.
  EXPECT_EQ(read_all("data: a\n\n" + bom + "data: b\n\n"), (std::vector<Event>{message("a")}));
  EXPECT_EQ(read_all("data: " + bom + "\n\n"), (std::vector<Event>{message(bom)}));
}

TEST(SseReader, PartialByteOrderMarkStaysPartOfTheFirstLine) {
  // "\xEF\xBB" is not a BOM: it starts the first line, whose field name
  // is then "\xEF\xBB" + "data".
  const std::string data = "data: x\n\n";
  EXPECT_TRUE(read_all("\xEF\xBB" + data).empty());
  EXPECT_EQ(read_all("\xEF\xBB\n" + data), (std::vector<Event>{message("x")}));
  EXPECT_TRUE(read_all("\xEF" + data).empty());
  EXPECT_TRUE(read_all("\xEF\xBB\xBE" + data).empty());
}

TEST(SseReader, IncompleteEventAtTheEndIsNotDispatched) {
  EXPECT_EQ(read_all("data: a\n\ndata: b\n"), (std::vector<Event>{message("a")}));
  EXPECT_EQ(read_all("data: a\n\ndata: b"), (std::vector<Event>{message("a")}));
  EXPECT_EQ(read_all("data: a\n\ndata: b\r"), (std::vector<Event>{message("a")}));
}

TEST(SseReader, BytesPassThroughUndecoded) {
  EXPECT_EQ(read_all("data: \xFF\xFE\x80\n\n"), (std::vector<Event>{message("\xFF\xFE\x80")}));
  EXPECT_EQ(read_all("data: a\0b\n\n"sv), (std::vector<Event>{message(std::string("a\0b", 3))}));
  EXPECT_EQ(read_all("data: caf\xC3\xA9 \xF0\x9F\x98\x80\n\n"),
            (std::vector<Event>{message("caf\xC3\xA9 \xF0\x9F\x98\x80")}));
}

TEST(SseReader, NothingFedMeansNothingYet) {
  SseReader reader;
  auto ev = reader.next();
  ASSERT_TRUE(ev);
  EXPECT_FALSE(*ev);
  reader.feed(""sv);
  ev = reader.next();
  ASSERT_TRUE(ev);
  EXPECT_FALSE(*ev);
}

TEST(SseReader, TokenStreamLikeAnLlmServer) {
  const auto events = read_all(
      "data: {\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}\n\n"
      ": OPENROUTER PROCESSING\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"lo\"}}]}\n\n"
      "data: [DONE]\n\n");
  EXPECT_EQ(events, (std::vector<Event>{message(R"({"choices":[{"delta":{"content":"Hel"}}]})"),
                                        message(R"({"choices":[{"delta":{"content":"lo"}}]})"),
                                        message("[DONE]")}));
}

}  // namespace
}  // namespace cipherline::http
