// ProxyMetrics: what the proxy counts, for GET /metrics (Prometheus text)
// and GET /verification (JSON) — one set of numbers behind both.
//
//   metrics.request("/v1/chat/completions", 200);
//   metrics.failure("stream error", "/v1/chat/completions");
//   metrics.stream_read(events, since_previous_read);   // once per upstream read
//   respond(metrics.to_prometheus());
//
// Contract:
// - Counters: requests by route and status, failures by reason (the label
//   before the first ':' of the error), streams, OAE responses, stream
//   events, bytes, retries, the verified gauge, and latency histograms of
//   attestation and key exchange (`observe`).
// - The last kLastErrors failures are kept with their time, reason and
//   route (none for a background verification): labels only, never content.
// - Time series over the last kSeriesSeconds seconds, one bucket per second
//   of wall-clock time in a fixed ring: requests (every request(), refusals
//   included) and the token interval — for each upstream read of a stream
//   that carried events, the time since the stream's previous such read
//   (for the first, since the response head arrived), spread over the
//   events it carried: a second's value is the summed spacing over the
//   events, the mean time between tokens. Recording takes one short lock
//   and allocates nothing; stream_read is called once per read, not per
//   event.
// - write_counters, write_last_errors and write_series each write one JSON
//   value (an object, an array, an object); their shapes are in
//   docs/architecture.md under GET /verification.
// - Thread-safe: all proxy loops share one ProxyMetrics.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "cipherline/json/writer.hpp"

namespace cipherline::client {

class ProxyMetrics {
 public:
  static constexpr std::size_t kSeriesSeconds = 600;
  static constexpr std::size_t kLastErrors = 20;

  void request(std::string_view route, int status);
  // failure: counted by reason, and remembered among the last errors with
  // the route it happened on (empty: none).
  void failure(std::string_view reason, std::string_view route = {});
  void observe(std::string_view step, std::chrono::microseconds duration);
  // observer: observe() as a SessionOptions::observe (this must outlive it).
  std::function<void(std::string_view, std::chrono::microseconds)> observer() {
    return [this](std::string_view step, std::chrono::microseconds d) { observe(step, d); };
  }
  // stream_read: an upstream read of a stream carried `events` events,
  // `gap` after the stream's previous read that carried events (see the
  // contract); a read without events records nothing.
  void stream_read(std::size_t events, std::chrono::microseconds gap);

  std::atomic<std::uint64_t> streams{0}, oae_responses{0}, events{0}, bytes_encrypted{0},
      bytes_decrypted{0}, retries{0};
  std::atomic<int> verified{0};

  std::string to_prometheus() const;
  void write_counters(json::JsonWriter& w) const;
  void write_last_errors(json::JsonWriter& w) const;
  // write_series: the buckets of the kSeriesSeconds seconds up to `now`,
  // oldest first.
  void write_series(json::JsonWriter& w, std::chrono::system_clock::time_point now) const;

 private:
  static constexpr std::array<double, 10> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                      0.05,  0.1,    0.25,  0.5,  1.0};
  struct Histogram {
    std::array<std::uint64_t, kBuckets.size()> counts{};
    std::uint64_t count = 0;
    double sum = 0;
  };
  struct LastError {
    std::chrono::system_clock::time_point at;
    std::string reason;
    std::string route;
  };
  struct Second {
    std::int64_t at = -1;  // unix seconds; -1: never written
    std::uint64_t requests = 0;
    std::uint64_t events = 0;
    std::uint64_t gap_us = 0;  // summed over the second's reads
  };
  // The bucket of unix second `now`, emptied first if it held an older second.
  Second& second_at(std::int64_t now);

  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, std::uint64_t> requests_;
  std::map<std::string, std::uint64_t> failures_;
  std::map<std::string, Histogram> histograms_;
  std::array<LastError, kLastErrors> last_errors_{};
  std::uint64_t errors_seen_ = 0;  // next slot: errors_seen_ % kLastErrors

  mutable std::mutex series_mutex_;  // apart from mutex_: taken once per stream read
  std::array<Second, kSeriesSeconds> series_{};
};

}  // namespace cipherline::client
