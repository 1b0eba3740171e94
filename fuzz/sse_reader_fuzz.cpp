// Fuzz target: SseReader. The first input byte sets the event size limit
// (2 + byte); the rest is the stream. The reader, fed whole, byte by byte, in
// irregular chunks and with several feeds before each drain, must give
// exactly the events (and the error, if any) of a straightforward
// whole-stream reading of the WHATWG rules written here.
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/http/sse_reader.hpp"

namespace {

using cipherline::http::SseReader;

struct Event {
  std::string type;
  std::string data;
  std::string id;
  std::optional<std::uint64_t> retry;
  bool operator==(const Event&) const = default;
};

struct Outcome {
  std::vector<Event> events;
  bool failed = false;
  std::string last_event_id;
  std::optional<std::uint64_t> retry;
  bool operator==(const Outcome&) const = default;
};

// reference reads the whole stream at once, line by line.
Outcome reference(std::string_view s, std::size_t limit) {
  Outcome out;
  std::size_t i = s.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0;
  std::string data;
  bool has_data = false;
  std::string type;
  std::string id_buffer;
  std::size_t block = 0;
  while (true) {
    const std::size_t end = s.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      out.failed = s.size() - i > limit - block;
      break;
    }
    const std::string_view line = s.substr(i, end - i);
    i = end + 1;
    if (s[end] == '\r' && i < s.size() && s[i] == '\n') ++i;
    if (line.empty()) {
      block = 0;
      out.last_event_id = id_buffer;
      if (has_data) {
        data.pop_back();
        out.events.push_back({type.empty() ? "message" : type, data, id_buffer, out.retry});
      }
      data.clear();
      has_data = false;
      type.clear();
      continue;
    }
    if (line.size() > limit - block) {
      out.failed = true;
      break;
    }
    block += line.size();
    if (line[0] == ':') continue;
    const std::size_t colon = line.find(':');
    const std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    if (name == "data") {
      data.append(value);
      data.push_back('\n');
      has_data = true;
    } else if (name == "event") {
      type = value;
    } else if (name == "id") {
      if (value.find('\0') == std::string_view::npos) id_buffer = value;
    } else if (name == "retry") {
      constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
      bool digits = !value.empty();
      std::uint64_t n = 0;
      for (const char c : value) {
        if (c < '0' || c > '9') {
          digits = false;
          break;
        }
        const auto d = static_cast<std::uint64_t>(c - '0');
        if (n > (kMax - d) / 10) {
          digits = false;
          break;
        }
        n = n * 10 + d;
      }
      if (digits) out.retry = n;
    }
  }
  if (out.failed) {
    out.last_event_id.clear();
    out.retry.reset();
  }
  return out;
}

// drain reads events until the reader needs more input; false on error.
bool drain(SseReader& reader, std::size_t limit, Outcome& out) {
  while (true) {
    auto ev = reader.next();
    if (!ev) {
      if (ev.error() != cipherline::http::errc::sse_event_too_large) std::abort();
      out.failed = true;
      return false;
    }
    if (!*ev) return true;
    const auto& e = **ev;
    if (e.data.size() > limit || e.type.empty()) std::abort();
    out.events.push_back(
        {std::string(e.type), std::string(e.data), std::string(e.last_event_id), e.retry});
  }
}

// read feeds the stream in pieces of the sizes `next_size` returns, draining
// after every `feeds_per_drain` feeds.
template <class NextSize>
Outcome read(std::string_view s, std::size_t limit, NextSize next_size, int feeds_per_drain) {
  SseReader reader({.max_event_size = limit});
  Outcome out;
  std::string buffer;
  std::size_t pos = 0;
  int fed = 0;
  while (pos < s.size()) {
    const std::size_t n = next_size();
    reader.feed(s.substr(pos, n));
    pos += n;
    if (++fed % feeds_per_drain != 0 && pos < s.size()) continue;
    if (!drain(reader, limit, out)) break;
  }
  if (s.empty() && !drain(reader, limit, out)) std::abort();
  if (!out.failed) {
    out.last_event_id = reader.last_event_id();
    out.retry = reader.retry();
  } else {
    // The error is sticky.
    auto again = reader.next();
    if (again || again.error() != cipherline::http::errc::sse_event_too_large) std::abort();
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t limit = 2 + data[0];
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);

  for (const std::size_t l : {limit, SseReader::Options{}.max_event_size}) {
    const Outcome expected = reference(stream, l);
    if (read(
            stream, l, [&] { return stream.size(); }, 1) != expected)
      std::abort();
    if (read(
            stream, l, [] { return std::size_t{1}; }, 1) != expected)
      std::abort();
    std::uint32_t state = static_cast<std::uint32_t>(size) * 2654435761U;
    auto irregular = [&] {
      state = state * 1103515245U + 12345U;
      return std::size_t{1} + (state >> 16) % 37;
    };
    if (read(stream, l, irregular, 1) != expected) std::abort();
    if (read(stream, l, irregular, 3) != expected) std::abort();
  }
  return 0;
}
