// HTTP layer benchmarks: SseReader over a token stream of ~200-byte `data:`
// events, fed in 1 KiB and 16 KiB reads and one event per feed, against a
// baseline that only finds the event boundaries with memchr; and JsonWriter
// building a chat-completion chunk, against snprintf of the same text
// without escaping. Items are events (or documents); bytes are stream bytes.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/http/sse_reader.hpp"
#include "cipherline/json/writer.hpp"
#include "ratio_reporter.hpp"

namespace cipherline::http {
namespace {

constexpr int kEventsPerStream = 1000;

// event_text is one `data:` event of exactly 200 bytes with an OpenAI-style
// chunk as its payload, padded through the token text.
std::string event_text(int i) {
  const std::string head =
      R"(data: {"id":"chatcmpl-7","object":"chat.completion.chunk","choices":[{"index":0,)"
      R"("delta":{"content":"tok)" +
      std::to_string(i) + " ";
  const std::string tail = R"("},"finish_reason":null}]})"
                           "\n\n";
  return head + std::string(200 - head.size() - tail.size(), 'x') + tail;
}

const std::vector<std::string>& events() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> v;
    for (int i = 0; i < kEventsPerStream; ++i) v.push_back(event_text(i));
    return v;
  }();
  return all;
}

const std::string& stream() {
  static const std::string all = [] {
    std::string s;
    for (const auto& e : events()) s += e;
    return s;
  }();
  return all;
}

void report(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * kEventsPerStream);
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream().size()));
}

// SseReader on the stream in reads of state.range(0) bytes; one iteration is
// the whole stream (1000 events, 200 kB) on a reader that lives across
// iterations, as on a long-lived connection.
void BM_SseReaderChunked(benchmark::State& state) {
  const std::string& s = stream();
  const auto chunk = static_cast<std::size_t>(state.range(0));
  SseReader reader;
  std::size_t payload = 0;
  for (auto _ : state) {
    int n = 0;
    for (std::size_t pos = 0; pos < s.size(); pos += chunk) {
      reader.feed(std::string_view(s).substr(pos, chunk));
      while (true) {
        auto ev = reader.next();
        if (!ev || !*ev) break;
        payload += (*ev)->data.size();
        ++n;
      }
    }
    if (n != kEventsPerStream) state.SkipWithError("wrong event count");
  }
  benchmark::DoNotOptimize(payload);
  report(state);
}
BENCHMARK(BM_SseReaderChunked)->Arg(1024)->Arg(16 * 1024);

// SseReader fed one event at a time, as when every read returns one token.
void BM_SseReaderEventPerFeed(benchmark::State& state) {
  const auto& all = events();
  SseReader reader;
  std::size_t payload = 0;
  for (auto _ : state) {
    for (const auto& e : all) {
      reader.feed(e);
      auto ev = reader.next();
      if (!ev || !*ev) {
        state.SkipWithError("no event");
        break;
      }
      payload += (*ev)->data.size();
      if (auto rest = reader.next(); !rest || *rest) state.SkipWithError("unexpected event");
    }
  }
  benchmark::DoNotOptimize(payload);
  report(state);
}
BENCHMARK(BM_SseReaderEventPerFeed);

// Baseline: find each "\n\n" with memchr in 16 KiB reads, carrying nothing
// across reads — the least a framer must do.
void BM_MemchrFraming16K(benchmark::State& state) {
  const std::string& s = stream();
  constexpr std::size_t kChunk = 16 * 1024;
  std::size_t payload = 0;
  for (auto _ : state) {
    int n = 0;
    bool pending_lf = false;
    for (std::size_t pos = 0; pos < s.size(); pos += kChunk) {
      const char* p = s.data() + pos;
      const char* end = p + std::min(kChunk, s.size() - pos);
      if (pending_lf && p < end && *p == '\n') {
        ++n;
        ++p;
      }
      pending_lf = false;
      while (p < end) {
        const auto* lf =
            static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
        if (lf == nullptr) break;
        if (lf + 1 == end) {
          pending_lf = true;
          break;
        }
        if (lf[1] == '\n') {
          ++n;
          payload += static_cast<std::size_t>(lf - p);
          p = lf + 2;
        } else {
          p = lf + 1;
        }
      }
    }
    if (n != kEventsPerStream) state.SkipWithError("wrong event count");
  }
  benchmark::DoNotOptimize(payload);
  report(state);
}
BENCHMARK(BM_MemchrFraming16K);

// JsonWriter: one streamed chat-completion chunk, into a reused string.
void BM_JsonWriterChatChunk(benchmark::State& state) {
  std::string out;
  const std::string_view token = " the quick \"brown\" fox\n";
  for (auto _ : state) {
    out.clear();
    json::JsonWriter w(out);
    w.begin_object()
        .key("id")
        .string("chatcmpl-9f8e7d6c5b4a")
        .key("object")
        .string("chat.completion.chunk")
        .key("created")
        .number(std::int64_t{1717171717})
        .key("model")
        .string("ibnzterrell/Meta-Llama-3.3-70B-Instruct-AWQ-INT4")
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
        .end_object();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(out.size()));
}
BENCHMARK(BM_JsonWriterChatChunk);

// Baseline: the same text from one snprintf, with the token pre-escaped.
void BM_SnprintfChatChunk(benchmark::State& state) {
  char buffer[512];
  int n = 0;
  for (auto _ : state) {
    n = std::snprintf(
        buffer, sizeof buffer,
        R"({"id":"%s","object":"%s","created":%lld,"model":"%s","choices":[{"index":%d,)"
        R"("delta":{"content":"%s"},"logprobs":null,"finish_reason":null}]})",
        "chatcmpl-9f8e7d6c5b4a", "chat.completion.chunk", 1717171717LL,
        "ibnzterrell/Meta-Llama-3.3-70B-Instruct-AWQ-INT4", 0, R"( the quick \"brown\" fox\n)");
    benchmark::DoNotOptimize(buffer);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * n);
}
BENCHMARK(BM_SnprintfChatChunk);

}  // namespace
}  // namespace cipherline::http

int main(int argc, char** argv) {
  return cipherline::bench::run_with_ratios(
      argc, argv,
      {
          {"sse 16 KiB reads: SseReader / memchr framing", "BM_SseReaderChunked/16384",
           "BM_MemchrFraming16K"},
          {"sse 1 KiB reads: SseReader / memchr framing", "BM_SseReaderChunked/1024",
           "BM_MemchrFraming16K"},
          {"chat chunk: JsonWriter / snprintf", "BM_JsonWriterChatChunk", "BM_SnprintfChatChunk"},
      });
}
