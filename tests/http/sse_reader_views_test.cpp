// SseReader: where the views of an event point (zero copy when the data is
// one line inside the current feed, the reader's buffer otherwise), how long
// they and the fed bytes must live, and feeding before draining.
#include "cipherline/http/sse_reader.hpp"

#include <gtest/gtest.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cipherline::http {
namespace {

using namespace std::string_view_literals;

bool inside(std::string_view view, std::string_view buffer) {
  std::less_equal<const char*> le;
  return le(buffer.data(), view.data()) &&
         le(view.data() + view.size(), buffer.data() + buffer.size());
}

SseEvent next_event(SseReader& reader) {
  auto ev = reader.next();
  EXPECT_TRUE(ev) << ev.error().message();
  if (!ev || !*ev) {
    ADD_FAILURE() << "no event";
    return {};
  }
  return **ev;
}

void expect_needs_more(SseReader& reader) {
  auto ev = reader.next();
  ASSERT_TRUE(ev) << ev.error().message();
  EXPECT_FALSE(*ev);
}

TEST(SseReaderViews, SingleDataLineInsideTheFeedPointsIntoIt) {
  const std::string buffer = "event: delta\ndata: {\"content\":\"hi\"}\nid: 5\n\ndata: two\n\n";
  SseReader reader;
  reader.feed(buffer);
  const SseEvent first = next_event(reader);
  EXPECT_EQ(first.data, R"({"content":"hi"})");
  EXPECT_TRUE(inside(first.data, buffer));
  EXPECT_EQ(first.type, "delta");
  EXPECT_EQ(first.last_event_id, "5");
  const SseEvent second = next_event(reader);
  EXPECT_EQ(second.data, "two");
  EXPECT_TRUE(inside(second.data, buffer));
  expect_needs_more(reader);
}

TEST(SseReaderViews, ByteSpanFeedIsTheSameAsStringFeed) {
  const std::string text = "data: bytes\n\n";
  const auto bytes = std::as_bytes(std::span(text.data(), text.size()));
  SseReader reader;
  reader.feed(bytes);
  const SseEvent e = next_event(reader);
  EXPECT_EQ(e.data, "bytes");
  EXPECT_TRUE(inside(e.data, text));
}

TEST(SseReaderViews, SeveralDataLinesAreAssembledInTheReader) {
  const std::string buffer = "data: a\ndata: b\n\n";
  SseReader reader;
  reader.feed(buffer);
  const SseEvent e = next_event(reader);
  EXPECT_EQ(e.data, "a\nb");
  EXPECT_FALSE(inside(e.data, buffer));
}

TEST(SseReaderViews, DataLineFromAnEarlierFeedIsCopiedBeforeTheCallerMayReuseIt) {
  std::string buffer = "data: from the first read\n";
  SseReader reader;
  reader.feed(buffer);
  expect_needs_more(reader);
  buffer.assign(buffer.size(), '#');  // the caller reuses its read buffer
  buffer = "\n";
  reader.feed(buffer);
  const SseEvent e = next_event(reader);
  EXPECT_EQ(e.data, "from the first read");
  EXPECT_FALSE(inside(e.data, buffer));
}

TEST(SseReaderViews, LineSplitAcrossFeedsIsAssembled) {
  std::string first = "data: hel";
  std::string second = "lo\n\n";
  SseReader reader;
  reader.feed(first);
  expect_needs_more(reader);
  first.assign(first.size(), '#');
  reader.feed(second);
  const SseEvent e = next_event(reader);
  EXPECT_EQ(e.data, "hello");
  EXPECT_FALSE(inside(e.data, second));
}

TEST(SseReaderViews, ViewsStayValidUntilTheNextCall) {
  std::string buffer = "event: a\ndata: 1\ndata: 2\nid: x\n\nevent: b\ndata: 3\nid: y\n\n";
  SseReader reader;
  reader.feed(buffer);
  const SseEvent first = next_event(reader);
  // Nothing has been called since: all views are intact.
  EXPECT_EQ(first.type, "a");
  EXPECT_EQ(first.data, "1\n2");
  EXPECT_EQ(first.last_event_id, "x");
  const SseEvent second = next_event(reader);
  EXPECT_EQ(second.type, "b");
  EXPECT_EQ(second.data, "3");
  EXPECT_EQ(second.last_event_id, "y");
}

TEST(SseReaderViews, FeedingBeforeDrainingKeepsTheUnreadBytes) {
  std::string first = "data: a\n\ndata: b\n\ndata: c";
  std::string second = "\n\ndata: d\n\n";
  SseReader reader;
  reader.feed(first);
  EXPECT_EQ(next_event(reader).data, "a");
  // Fed again while "data: b..." is unread: the rest of `first` is copied
  // by feed(), after which the caller may reuse it.
  reader.feed(second);
  first.assign(first.size(), '#');
  std::vector<std::string> data;
  while (true) {
    auto ev = reader.next();
    ASSERT_TRUE(ev);
    if (!*ev) break;
    data.emplace_back((*ev)->data);
  }
  EXPECT_EQ(data, (std::vector<std::string>{"b", "c", "d"}));
}

TEST(SseReaderViews, FeedingManyTimesWithoutDrainingKeepsStreamOrder) {
  SseReader reader;
  const std::string_view pieces[] = {"data: 1\n\nda", "ta: 2\r", "\n\r\n", ": x\ndata: 3\n\n"};
  for (const auto piece : pieces) reader.feed(piece);
  std::vector<std::string> data;
  while (true) {
    auto ev = reader.next();
    ASSERT_TRUE(ev);
    if (!*ev) break;
    data.emplace_back((*ev)->data);
  }
  EXPECT_EQ(data, (std::vector<std::string>{"1", "2", "3"}));
}

TEST(SseReaderViews, LastEventIdAccessorOutlivesEvents) {
  SseReader reader;
  reader.feed("id: abc\ndata: x\n\n"sv);
  (void)next_event(reader);
  expect_needs_more(reader);
  EXPECT_EQ(reader.last_event_id(), "abc");
  EXPECT_EQ(reader.retry(), std::nullopt);
}

}  // namespace
}  // namespace cipherline::http
