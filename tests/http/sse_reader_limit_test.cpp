// SseReader: the per-event size limit — exact boundary, early detection of
// an oversized unfinished line, sticky error, independence from the split.
#include "cipherline/http/sse_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cipherline::http {
namespace {

using namespace std::string_view_literals;

struct Outcome {
  std::vector<std::string> data;  // of the events before the error, if any
  std::optional<Error> error;
};

Outcome read_pieces(SseReader::Options options, const std::vector<std::string_view>& pieces) {
  SseReader reader(options);
  Outcome outcome;
  for (const auto piece : pieces) {
    reader.feed(piece);
    while (true) {
      auto ev = reader.next();
      if (!ev) {
        outcome.error = ev.error();
        return outcome;
      }
      if (!*ev) break;
      outcome.data.emplace_back((*ev)->data);
    }
  }
  return outcome;
}

Outcome read_whole(std::size_t limit, std::string_view stream) {
  return read_pieces({.max_event_size = limit}, {stream});
}

TEST(SseReaderLimit, EventExactlyAtTheLimitPasses) {
  // "data: 0123456789" is 16 bytes; line ends are not counted.
  const auto ok = read_whole(16, "data: 0123456789\r\n\r\n");
  EXPECT_FALSE(ok.error);
  EXPECT_EQ(ok.data, std::vector<std::string>{"0123456789"});
  const auto over = read_whole(16, "data: 0123456789A\r\n\r\n");
  ASSERT_TRUE(over.error);
  EXPECT_EQ(*over.error, errc::sse_event_too_large);
  EXPECT_TRUE(over.data.empty());
}

TEST(SseReaderLimit, AllLinesOfTheEventCountIncludingComments) {
  // 8 + 8 = 16 bytes: fits; one more comment byte does not.
  EXPECT_FALSE(read_whole(16, "event: x\ndata: ab\n\n").error);
  EXPECT_FALSE(read_whole(16, ": 345678\ndata: ab\n\n").error);
  EXPECT_TRUE(read_whole(16, ": 3456789\ndata: ab\n\n").error);
  EXPECT_FALSE(read_whole(16, "data: ab\ndata: cd\n\n").error);
  EXPECT_TRUE(read_whole(16, "data: ab\ndata: cde\n\n").error);
}

TEST(SseReaderLimit, TheLimitIsPerEvent) {
  std::string stream;
  for (int i = 0; i < 1000; ++i) stream += "data: 0123456789\n\n: 0123456789abcd\n\n";
  const auto outcome = read_whole(16, stream);
  EXPECT_FALSE(outcome.error);
  EXPECT_EQ(outcome.data.size(), 1000u);
}

TEST(SseReaderLimit, EventsBeforeTheOversizedOneAreDelivered) {
  const auto outcome =
      read_whole(16, "data: first\n\ndata: second\n\ndata: this one is too long\n\n");
  EXPECT_EQ(outcome.data, (std::vector<std::string>{"first", "second"}));
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(*outcome.error, errc::sse_event_too_large);
}

TEST(SseReaderLimit, AnUnfinishedLineFailsAsSoonAsItIsTooLong) {
  // No line end has arrived yet: the reader refuses to buffer beyond the
  // limit rather than waiting for one.
  SseReader reader({.max_event_size = 16});
  reader.feed("data: 0123456789"sv);
  auto ev = reader.next();
  ASSERT_TRUE(ev);
  EXPECT_FALSE(*ev);
  reader.feed("A"sv);
  ev = reader.next();
  ASSERT_FALSE(ev);
  EXPECT_EQ(ev.error(), errc::sse_event_too_large);
}

TEST(SseReaderLimit, ErrorIsStickyAndLaterInputIsIgnored) {
  SseReader reader({.max_event_size = 8});
  reader.feed("data: too long\n\n"sv);
  const auto first = reader.next();
  ASSERT_FALSE(first);
  reader.feed("data: ok\n\n"sv);
  for (int i = 0; i < 3; ++i) {
    const auto again = reader.next();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error(), errc::sse_event_too_large);
    EXPECT_EQ(again.error().message(), first.error().message());
  }
}

TEST(SseReaderLimit, ErrorNamesTheLimitAndWhereTheEventStarted) {
  const auto outcome = read_whole(16, "data: ok\n\n: c\ndata: 0123456789ABCDEF\n\n");
  ASSERT_TRUE(outcome.error);
  const Error& e = *outcome.error;
  EXPECT_EQ(e.code(), errc::sse_event_too_large);
  EXPECT_EQ(e.code(), std::errc::message_size);
  EXPECT_EQ(e.message(),
            "SSE event larger than the 16-byte limit (the event starts at stream byte 10)");
}

TEST(SseReaderLimit, ErrorOffsetCountsTheByteOrderMarkAndCrLf) {
  const auto outcome = read_whole(4,
                                  "\xEF\xBB\xBF"
                                  "data\r\n\r\ndata: long\r\n\r\n");
  ASSERT_TRUE(outcome.error);
  EXPECT_EQ(outcome.data, std::vector<std::string>{""});
  EXPECT_NE(outcome.error->message().find("at stream byte 11)"), std::string::npos)
      << outcome.error->message();
}

TEST(SseReaderLimit, ZeroLimitAllowsOnlyBlankLines) {
  EXPECT_FALSE(read_whole(0, "\n\n\r\n\r").error);
  EXPECT_TRUE(read_whole(0, "\n\nd").error);
}

TEST(SseReaderLimit, OutcomeDoesNotDependOnTheSplit) {
  const std::string_view stream =
      "data: fits\r\n\r\n: 0123\r\nevent: e\r\ndata: 0123456789\r\n\r\ndata: x\n\n";
  for (const std::size_t limit : {8u, 10u, 17u, 18u, 40u}) {
    const auto expected = read_whole(limit, stream);
    for (std::size_t i = 0; i <= stream.size(); ++i) {
      for (std::size_t j = i; j <= stream.size(); j += 3) {
        const auto split =
            read_pieces({.max_event_size = limit},
                        {stream.substr(0, i), stream.substr(i, j - i), stream.substr(j)});
        ASSERT_EQ(split.data, expected.data) << limit << " split at " << i << ", " << j;
        ASSERT_EQ(split.error.has_value(), expected.error.has_value())
            << limit << " split at " << i << ", " << j;
        if (expected.error) {
          EXPECT_EQ(split.error->message(), expected.error->message());
        }
      }
    }
  }
}

TEST(SseReaderLimit, DefaultLimitIsOneMebibyte) {
  EXPECT_EQ(SseReader::Options{}.max_event_size, 1048576u);
  const std::string fits = "data: " + std::string((1 << 20) - 6, 'x') + "\n\n";
  const auto ok = read_pieces({}, {fits});
  EXPECT_FALSE(ok.error);
  ASSERT_EQ(ok.data.size(), 1u);
  EXPECT_EQ(ok.data[0].size(), (1u << 20) - 6);
  const std::string over = "data: " + std::string((1 << 20) - 5, 'x') + "\n\n";
  const auto too_large = read_pieces({}, {over});
  ASSERT_TRUE(too_large.error);
  EXPECT_EQ(too_large.error->message(),
            "SSE event larger than the 1048576-byte limit (the event starts at stream byte 0)");
}

TEST(SseReaderLimit, DataSplitAcrossManyFeedsIsLimitedToo) {
  // A 2 MiB data line arriving in 1 KiB reads fails once past 1 MiB.
  SseReader reader;
  const std::string chunk(1024, 'y');
  reader.feed("data: "sv);
  ASSERT_TRUE(reader.next());
  int feeds = 0;
  while (true) {
    reader.feed(chunk);
    ++feeds;
    const auto ev = reader.next();
    if (!ev) {
      EXPECT_EQ(ev.error(), errc::sse_event_too_large);
      break;
    }
    ASSERT_FALSE(*ev);
    ASSERT_LT(feeds, 2048);
  }
  EXPECT_EQ(feeds, 1024);  // 6 + 1024 * 1024 bytes is the first size over the limit
}

}  // namespace
}  // namespace cipherline::http
