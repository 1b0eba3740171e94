// ResponseStream::feed, the client's per-read hot path, in both wire
// formats: one 16 KiB upstream read of ~80 chat-chunk events opened and
// appended in wire form, beside the raw AEAD work on the same events
// (libsodium AES-256-GCM open of each event's bytes). Items are events;
// `allocs/event` counts operator new calls per event in steady state.
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <optional>
#include <string>
#include <vector>

#include "../tests/allocation_counter.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/protocol/event_fields.hpp"
#include "cipherline/protocol/response_stream.hpp"
#include "ratio_reporter.hpp"

namespace cipherline {
namespace {

using protocol::ResponseStream;
using protocol::Route;

constexpr std::size_t kReadSize = 16 * 1024;
constexpr std::size_t kReads = 64;  // sealed ahead; a new exchange after them (untimed)

std::string chunk_json(int i) {
  return R"({"id":"chatcmpl-7","object":"chat.completion.chunk","created":1700000000,)"
         R"("model":"synthetic","choices":[{"index":0,"delta":{"content":"tok)" +
         std::to_string(i % 100) + R"( "},"finish_reason":null}]})";
}

// One exchange's worth of reads, each about 16 KiB of whole events, and the
// stream that opens them.
struct Exchange {
  std::vector<std::string> reads;
  std::size_t events_per_read = 0;
  std::optional<ResponseStream> stream;
};

std::shared_ptr<const protocol::InferenceSecret> secret() {
  static const auto key = crypto::SecretBytes::random(32);
  static const auto s =
      std::make_shared<const protocol::InferenceSecret>(std::string(44, 'S'), key.bytes());
  return s;
}

template <class SealEvent>
void fill_reads(Exchange& x, SealEvent seal_event_bytes) {
  x.reads.assign(kReads, {});
  for (auto& read : x.reads) {
    std::size_t events = 0;
    while (read.size() + 400 < kReadSize) seal_event_bytes(chunk_json(int(events++)), read);
    x.events_per_read = events;
  }
}

Exchange oae_exchange() {
  Exchange x;
  const auto s = secret();
  crypto::OaeRequester requester(protocol::oae_secret(*s));
  auto responder =
      crypto::OaeResponder::create(protocol::oae_secret(*s), requester.request_header()).value();
  fill_reads(x, [&](const std::string& data, std::string& out) {
    (void)protocol::seal_frame(responder.response(), "data: " + data + "\n\n", false, out);
  });
  x.stream.emplace(Route::chat_completions, true,
                   requester.accept_response(responder.response_header()).value());
  return x;
}

Exchange fields_exchange() {
  Exchange x;
  const auto s = secret();
  auto request = std::make_unique<protocol::RequestCipher>(s);
  protocol::ResponseCipher response(s);
  std::string field, ignored;
  (void)request->seal(R"("x")", field);
  (void)response.open(field, ignored);
  const auto plain = protocol::plain_response_fields(Route::chat_completions);
  const auto seal = [&](std::string_view raw, std::string& o) { return response.seal(raw, o); };
  fill_reads(x, [&](const std::string& data, std::string& out) {
    (void)protocol::seal_event("message", data, plain, seal, out);
  });
  x.stream.emplace(Route::chat_completions, true, std::move(request));
  return x;
}

void run_stream(benchmark::State& state, Exchange (*make)()) {
  Exchange x = make();
  std::size_t next = 0;
  std::int64_t events = 0;
  long allocs = 0;
  for (auto _ : state) {
    if (next == kReads) {
      state.PauseTiming();
      x = make();
      next = 0;
      state.ResumeTiming();
    }
    const long before = cipherline::testing::allocations();
    if (!x.stream->feed(x.reads[next++])) state.SkipWithError("feed failed");
    benchmark::DoNotOptimize(x.stream->output().data());
    events += static_cast<std::int64_t>(x.stream->events().size());
    x.stream->consume();
    if (next > 2) allocs += cipherline::testing::allocations() - before;
  }
  state.SetItemsProcessed(events);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * kReadSize));
  state.counters["allocs/event"] = benchmark::Counter(
      static_cast<double>(allocs) / static_cast<double>(std::max<std::int64_t>(events, 1)));
  state.counters["events/read"] = static_cast<double>(x.events_per_read);
}

void BM_ResponseStreamOae(benchmark::State& state) { run_stream(state, &oae_exchange); }
void BM_ResponseStreamFields(benchmark::State& state) { run_stream(state, &fields_exchange); }

// The AEAD work alone: libsodium opens the same events' bytes (as
// ciphertext ‖ tag under one key), no framing, parsing or splicing.
void BM_RawOpenEvents(benchmark::State& state) {
  if (sodium_init() < 0 || crypto_aead_aes256gcm_is_available() == 0) {
    state.SkipWithError("libsodium AES-GCM unavailable");
    return;
  }
  std::vector<unsigned char> key(32), iv(12);
  crypto::random_bytes(std::as_writable_bytes(std::span(key)));
  crypto::random_bytes(std::as_writable_bytes(std::span(iv)));
  alignas(16) crypto_aead_aes256gcm_state st;
  crypto_aead_aes256gcm_beforenm(&st, key.data());
  std::vector<std::vector<unsigned char>> sealed;
  std::size_t bytes = 0;
  for (int i = 0; bytes + 400 < kReadSize; ++i) {
    const std::string event = "data: " + chunk_json(i) + "\n\n";
    std::vector<unsigned char> c(event.size() + 16);
    crypto_aead_aes256gcm_encrypt_afternm(c.data(), nullptr,
                                          reinterpret_cast<const unsigned char*>(event.data()),
                                          event.size(), nullptr, 0, nullptr, iv.data(), &st);
    bytes += c.size() + 33;
    sealed.push_back(std::move(c));
  }
  std::vector<unsigned char> out(kReadSize);
  std::int64_t events = 0;
  for (auto _ : state) {
    for (const auto& c : sealed) {
      if (crypto_aead_aes256gcm_decrypt_afternm(out.data(), nullptr, nullptr, c.data(), c.size(),
                                                nullptr, 0, iv.data(), &st) != 0) {
        state.SkipWithError("open failed");
      }
    }
    benchmark::DoNotOptimize(out.data());
    events += static_cast<std::int64_t>(sealed.size());
  }
  state.SetItemsProcessed(events);
}

BENCHMARK(BM_RawOpenEvents);
BENCHMARK(BM_ResponseStreamOae);
BENCHMARK(BM_ResponseStreamFields);

}  // namespace
}  // namespace cipherline

int main(int argc, char** argv) {
  return cipherline::bench::run_with_ratios(argc, argv,
                                            {{"16 KiB read: ResponseStream OAE / raw AEAD open",
                                              "BM_ResponseStreamOae", "BM_RawOpenEvents"},
                                             {"16 KiB read: ResponseStream fields / raw AEAD open",
                                              "BM_ResponseStreamFields", "BM_RawOpenEvents"},
                                             {"16 KiB read: ResponseStream OAE / fields",
                                              "BM_ResponseStreamOae", "BM_ResponseStreamFields"}});
}
