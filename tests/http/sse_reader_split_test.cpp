// SseReader: the events do not depend on how the stream is split into
// feeds — at every byte boundary, byte by byte, and over a long stream fed
// in irregular chunks.
#include "cipherline/http/sse_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
  *os << "{type=\"" << e.type << "\" data=\"" << e.data << "\" id=\"" << e.id << "\"}";
}

// drain reads events until the reader needs more input.
void drain(SseReader& reader, std::vector<Event>& events) {
  while (true) {
    auto ev = reader.next();
    ASSERT_TRUE(ev) << ev.error().message();
    if (!*ev) return;
    const SseEvent& e = **ev;
    events.push_back(
        {std::string(e.type), std::string(e.data), std::string(e.last_event_id), e.retry});
  }
}

// read_pieces feeds each piece from a buffer of its own, which is
// overwritten once the reader has asked for more: nothing may still point
// into it.
std::vector<Event> read_pieces(const std::vector<std::string_view>& pieces) {
  SseReader reader;
  std::vector<Event> events;
  std::string buffer;
  for (const std::string_view piece : pieces) {
    buffer.assign(piece);
    reader.feed(buffer);
    drain(reader, events);
    buffer.assign(buffer.size(), '#');
  }
  return events;
}

std::vector<Event> read_whole(std::string_view stream) { return read_pieces({stream}); }

// read_undrained feeds `pieces` one after the other and reads events only
// after the pieces listed in `drain_after`, so that the reader must keep the
// unread rest of the others.
std::vector<Event> read_undrained(const std::vector<std::string_view>& pieces,
                                  const std::vector<std::size_t>& drain_after) {
  SseReader reader;
  std::vector<Event> events;
  std::vector<std::string> buffers;
  buffers.reserve(pieces.size());  // no reallocation: each stays where it was fed from
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    buffers.emplace_back(pieces[i]);
    reader.feed(buffers.back());
    // Everything fed before this feed was copied by it or already read.
    for (std::size_t j = 0; j < i; ++j) buffers[j].assign(buffers[j].size(), '#');
    if (std::find(drain_after.begin(), drain_after.end(), i) != drain_after.end()) {
      drain(reader, events);
    }
  }
  return events;
}

const std::vector<std::string_view> kExamples = {
    ": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n",
    "data: This is the first message.\n\ndata: This is the second message, it\n"
    "data: has two lines.\n\ndata: This is the third message.\n\n",
    "data\n\ndata\ndata\n\ndata:",
    "data:test\n\ndata: test\n\n",
    "event: add\ndata: 73857293\n\nevent: remove\ndata: 2153\n\nevent: add\ndata: 113411\n\n",
    "id: 1\ndata: a\n\ndata: b\n\nid: 2\0x\ndata: c\n\nid\ndata: d\n\n"sv,
    "retry: 10\ndata: a\n\nretry: x\ndata: b\n\nretry: 20\n\ndata: c\n\n",
    "event: add\r\ndata: 1\r\ndata: 2\r\nid: 9\r\n\r\ndata: 3\r\n\r\n",
    "event: add\rdata: 1\rdata: 2\rid: 9\r\rdata: 3\r\r",
    "event: add\r\ndata: 1\rdata: 2\nid: 9\r\n\rdata: 3\n\r\n",
    "data: a\r\ndata: b\r\n\r\ndata: c\n\rdata: d\r\r",
    "\xEF\xBB\xBF"
    "data: bom\n\n",
    "\xEF\xBB\xBF\xEF\xBB\xBF"
    "data: x\n\ndata: y\n\n",
    "\xEF\xBB\n"
    "data: x\n\n",
    ": ping\n\nfoo: bar\nData: no\ndata: yes\nbaz\n\ndata: unterminated",
    "event: x\r\ndata: a\r\n\r\ndata: b\r\ndata: unterminated",
};

TEST(SseReaderSplit, ExamplesGiveEventsWhenFedWhole) {
  // The reference results below are only meaningful if the whole-stream
  // parse finds events at all.
  std::size_t total = 0;
  for (const auto example : kExamples) total += read_whole(example).size();
  EXPECT_EQ(total, 3u + 3 + 2 + 2 + 3 + 4 + 3 + 2 + 2 + 2 + 3 + 1 + 1 + 1 + 1 + 1);
}

TEST(SseReaderSplit, EveryTwoWaySplitGivesTheSameEvents) {
  for (const auto example : kExamples) {
    const auto expected = read_whole(example);
    for (std::size_t i = 0; i <= example.size(); ++i) {
      EXPECT_EQ(read_pieces({example.substr(0, i), example.substr(i)}), expected)
          << "split at " << i << " of " << testing::PrintToString(std::string(example));
    }
  }
}

TEST(SseReaderSplit, EveryThreeWaySplitGivesTheSameEvents) {
  for (const auto example : kExamples) {
    const auto expected = read_whole(example);
    for (std::size_t i = 0; i <= example.size(); ++i) {
      for (std::size_t j = i; j <= example.size(); ++j) {
        ASSERT_EQ(read_pieces({example.substr(0, i), example.substr(i, j - i), example.substr(j)}),
                  expected)
            << "split at " << i << " and " << j << " of "
            << testing::PrintToString(std::string(example));
      }
    }
  }
}

TEST(SseReaderSplit, FeedingBeforeReadingGivesTheSameEvents) {
  for (const auto example : kExamples) {
    const auto expected = read_whole(example);
    for (std::size_t i = 0; i <= example.size(); ++i) {
      for (std::size_t j = i; j <= example.size(); ++j) {
        const std::vector<std::string_view> pieces = {example.substr(0, i),
                                                      example.substr(i, j - i), example.substr(j)};
        // All three pieces before reading; two, then the third.
        ASSERT_EQ(read_undrained(pieces, {2}), expected)
            << "split at " << i << " and " << j << " of "
            << testing::PrintToString(std::string(example));
        ASSERT_EQ(read_undrained(pieces, {1, 2}), expected)
            << "split at " << i << " and " << j << " of "
            << testing::PrintToString(std::string(example)) << ", read after the second";
      }
    }
  }
}

TEST(SseReaderSplit, ByteByByteGivesTheSameEvents) {
  for (const auto example : kExamples) {
    std::vector<std::string_view> bytes;
    for (std::size_t i = 0; i < example.size(); ++i) bytes.push_back(example.substr(i, 1));
    EXPECT_EQ(read_pieces(bytes), read_whole(example))
        << testing::PrintToString(std::string(example));
  }
}

TEST(SseReaderSplit, CrAtTheEndOfAFeedAndLfAtTheStartOfTheNextAreOneLineEnd) {
  SseReader reader;
  std::vector<Event> events;
  reader.feed("data: a\r"sv);
  drain(reader, events);
  reader.feed("\ndata: b\r"sv);
  drain(reader, events);
  reader.feed("\n\r"sv);
  drain(reader, events);
  // The blank line (a lone CR) dispatched at once, before any LF could follow.
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "a\nb");
  reader.feed("\ndata: c\n\n"sv);
  drain(reader, events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].data, "c");
}

TEST(SseReaderSplit, EmptyFeedsChangeNothing) {
  SseReader reader;
  std::vector<Event> events;
  for (const auto piece : {"da"sv, ""sv, "ta: x\r"sv, ""sv, "\n"sv, ""sv, "\n"sv}) {
    reader.feed(piece);
    drain(reader, events);
  }
  EXPECT_EQ(events, (std::vector<Event>{{"message", "x", "", std::nullopt}}));
}

// A long token stream: 100,000 events of varied shapes, fed in chunks whose
// sizes follow a fixed pseudo-random sequence, each checked exactly.
TEST(SseReaderSplit, LongStreamInIrregularChunks) {
  constexpr int kEvents = 100'000;
  std::string stream;
  std::vector<Event> expected;
  expected.reserve(kEvents);
  for (int i = 0; i < kEvents; ++i) {
    const std::string n = std::to_string(i);
    const char* eol = i % 3 == 0 ? "\r\n" : (i % 3 == 1 ? "\n" : "\r");
    const std::string json = R"({"choices":[{"delta":{"content":"tok)" + n + R"("}}]})";
    Event e{"message", json, "", std::nullopt};
    if (i % 5 == 0) stream += ": keep-alive" + std::string(eol);
    if (i % 7 == 0) {
      e.type = "chunk" + n;
      stream += "event: " + e.type + eol;
    }
    if (i % 11 == 0) {
      stream += "data: line one " + n + eol;
      e.data = "line one " + n + "\n" + json;
    }
    stream += "data: " + json + eol;
    if (i % 13 == 0) stream += "id: " + n + eol;
    stream += eol;
    expected.push_back(std::move(e));
  }
  // Fill in the persisting last event IDs.
  std::string id;
  for (int i = 0; i < kEvents; ++i) {
    if (i % 13 == 0) id = std::to_string(i);
    expected[static_cast<std::size_t>(i)].id = id;
  }

  SseReader reader;
  std::vector<Event> events;
  events.reserve(kEvents);
  std::uint32_t state = 12345;
  std::size_t pos = 0;
  std::string buffer;
  while (pos < stream.size()) {
    state = state * 1103515245 + 12345;
    const std::size_t size = 1 + (state >> 8) % 700;
    buffer.assign(stream, pos, size);
    reader.feed(buffer);
    drain(reader, events);
    buffer.assign(buffer.size(), '#');
    pos += size;
  }
  ASSERT_EQ(events.size(), expected.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i], expected[i]) << "event " << i;
  }
}

}  // namespace
}  // namespace cipherline::http
