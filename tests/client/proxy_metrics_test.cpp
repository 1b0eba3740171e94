// What the proxy counts for /verification: the last failures (only the
// newest kLastErrors, oldest first) and the per-second series (requests and
// the token interval, with seconds older than the window left out).
#include "cipherline/client/proxy_metrics.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace cipherline::client {
namespace {

using namespace std::chrono;

std::string last_errors(const ProxyMetrics& m) {
  json::JsonWriter w;
  m.write_last_errors(w);
  return w.take();
}

std::string series(const ProxyMetrics& m, system_clock::time_point now) {
  json::JsonWriter w;
  m.write_series(w, now);
  return w.take();
}

TEST(ProxyMetrics, KeepsTheLastFailuresOldestFirst) {
  ProxyMetrics m;
  const std::size_t n = ProxyMetrics::kLastErrors + 5;
  for (std::size_t i = 1; i <= n; ++i) m.failure("reason " + std::to_string(i), "/v1/route");
  m.failure("in the background");
  simdjson::dom::parser parser;
  const std::string text = last_errors(m);
  const simdjson::dom::array errors = parser.parse(text).get_array().value();
  ASSERT_EQ(errors.size(), ProxyMetrics::kLastErrors);
  // The first six fell out; the background verification has no route.
  EXPECT_EQ(errors.at(0)["reason"].get_string().value(), "reason 7");
  EXPECT_EQ(errors.at(0)["route"].get_string().value(), "/v1/route");
  const auto last = errors.at(ProxyMetrics::kLastErrors - 1);
  EXPECT_EQ(last["reason"].get_string().value(), "in the background");
  EXPECT_TRUE(last["route"].is_null());
  EXPECT_TRUE(last["time"].get_string().value().ends_with("Z"));
  // Counted by reason as well (the same numbers as /metrics).
  EXPECT_NE(m.to_prometheus().find("cipherline_proxy_failures_total{reason=\"reason 1\"} 1"),
            std::string::npos);
}

TEST(ProxyMetrics, SeriesCoverTheLastTenMinutes) {
  ProxyMetrics m;
  m.request("/v1/chat/completions", 200);
  m.request("/v1/chat/completions", 502);
  m.request("/metrics", 421);
  m.stream_read(4, microseconds(100));  // 25 µs per event
  m.stream_read(0, microseconds(50));   // no events: no interval
  simdjson::dom::parser parser;
  const std::string now_text = series(m, system_clock::now());
  const simdjson::dom::element now = parser.parse(now_text);
  const simdjson::dom::array rate = now["requests_per_second"].get_array().value();
  const simdjson::dom::array interval = now["token_interval_ms"].get_array().value();
  ASSERT_EQ(rate.size(), ProxyMetrics::kSeriesSeconds);
  ASSERT_EQ(interval.size(), ProxyMetrics::kSeriesSeconds);
  std::uint64_t requests = 0;
  for (const auto r : rate) requests += r.get_uint64().value();
  EXPECT_EQ(requests, 3u);
  std::vector<double> timed;
  for (const auto ms : interval) {
    if (!ms.is_null()) timed.push_back(ms.get_double().value());
  }
  EXPECT_EQ(timed, std::vector<double>{0.025});

  // Ten minutes on, those seconds are out of the window (their buckets are
  // still in the ring, but hold older seconds).
  const std::string later_text =
      series(m, system_clock::now() + seconds(ProxyMetrics::kSeriesSeconds + 1));
  const simdjson::dom::element later = parser.parse(later_text);
  requests = 0;
  for (const auto r : simdjson::dom::array(later["requests_per_second"].get_array().value())) {
    requests += r.get_uint64().value();
  }
  EXPECT_EQ(requests, 0u);
  for (const auto ms : simdjson::dom::array(later["token_interval_ms"].get_array().value()))
    EXPECT_TRUE(ms.is_null());
}

}  // namespace
}  // namespace cipherline::client
