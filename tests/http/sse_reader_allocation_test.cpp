// SseReader: in steady state, reading events allocates nothing — neither
// the zero-copy path nor the assembled one (several data lines, lines split
// across feeds), once the reader's buffers have grown to the event size.
#include "cipherline/http/sse_reader.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "../allocation_counter.hpp"

namespace cipherline::http {
namespace {

// read_chunks feeds `stream` in pieces of `chunk` bytes and returns the
// number of events and the allocations counted while doing so.
std::pair<int, long> read_chunks(SseReader& reader, std::string_view stream, std::size_t chunk) {
  int events = 0;
  const long before = cipherline::testing::allocations();
  for (std::size_t pos = 0; pos < stream.size(); pos += chunk) {
    reader.feed(stream.substr(pos, chunk));
    while (true) {
      auto ev = reader.next();
      if (!ev) return {-1, 0};
      if (!*ev) break;
      ++events;
    }
  }
  return {events, cipherline::testing::allocations() - before};
}

std::string token_stream(int events) {
  std::string stream;
  for (int i = 0; i < events; ++i) {
    stream += "event: delta\n";
    stream +=
        R"(data: {"choices":[{"delta":{"content":"token )" + std::to_string(i) + R"("}}]})" + "\n";
    if (i % 4 == 0) stream += "data: second line\n";
    if (i % 9 == 0) stream += "id: " + std::to_string(i) + "\n";
    stream += i % 2 == 0 ? "\n" : "\r\n\r\n";
  }
  return stream;
}

TEST(SseReaderAllocation, SteadyStateReadsDoNotAllocate) {
  const std::string stream = token_stream(2000);
  for (const std::size_t chunk :
       {std::size_t{7}, std::size_t{100}, std::size_t{1024}, std::size_t{16384}, stream.size()}) {
    SseReader reader;
    // Warm up: the buffers grow to their working size.
    const auto warm = read_chunks(reader, stream, chunk);
    ASSERT_EQ(warm.first, 2000) << chunk;
    const auto steady = read_chunks(reader, stream, chunk);
    EXPECT_EQ(steady.first, 2000) << chunk;
    EXPECT_EQ(steady.second, 0) << "allocations with " << chunk << "-byte feeds";
  }
}

TEST(SseReaderAllocation, CounterSeesAllocations) {
  // The check above is only meaningful if this counter works.
  const long before = cipherline::testing::allocations();
  auto* p = new std::string(100, 'x');
  delete p;
  EXPECT_GE(cipherline::testing::allocations() - before, 2);
}

}  // namespace
}  // namespace cipherline::http
