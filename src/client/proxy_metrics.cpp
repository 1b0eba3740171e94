#include "cipherline/client/proxy_metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

namespace cipherline::client {

using namespace std::chrono;

namespace {

std::int64_t unix_seconds(system_clock::time_point t) {
  return duration_cast<seconds>(t.time_since_epoch()).count();
}

// "2026-12-02T21:42:31.123Z"
std::string rfc3339(system_clock::time_point t) {
  const auto time = system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&time, &tm);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count() % 1000;
  std::snprintf(text + n, sizeof text - n, ".%03dZ", static_cast<int>(ms));
  return text;
}

}  // namespace

void ProxyMetrics::request(std::string_view route, int status) {
  {
    std::lock_guard lock(mutex_);
    ++requests_[{std::string(route), status}];
  }
  const std::int64_t now = unix_seconds(system_clock::now());
  std::lock_guard lock(series_mutex_);
  ++second_at(now).requests;
}

void ProxyMetrics::failure(std::string_view reason, std::string_view route) {
  const auto now = system_clock::now();
  std::lock_guard lock(mutex_);
  ++failures_[std::string(reason)];
  LastError& e = last_errors_[errors_seen_++ % kLastErrors];
  e.at = now;
  e.reason.assign(reason);
  e.route.assign(route);
}

void ProxyMetrics::stream_read(std::size_t events, microseconds gap) {
  if (events == 0) return;  // its time counts towards the next read that carries events
  const std::int64_t now = unix_seconds(system_clock::now());
  std::lock_guard lock(series_mutex_);
  Second& s = second_at(now);
  s.events += events;
  s.gap_us += static_cast<std::uint64_t>(std::max<microseconds::rep>(gap.count(), 0));
}

ProxyMetrics::Second& ProxyMetrics::second_at(std::int64_t now) {
  Second& s = series_[static_cast<std::uint64_t>(now) % kSeriesSeconds];
  if (s.at != now) s = Second{.at = now};
  return s;
}

void ProxyMetrics::observe(std::string_view step, microseconds duration) {
  const double seconds = static_cast<double>(duration.count()) / 1e6;
  std::lock_guard lock(mutex_);
  auto& h = histograms_[std::string(step)];
  for (std::size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++h.counts[i];
  }
  ++h.count;
  h.sum += seconds;
}

std::string ProxyMetrics::to_prometheus() const {
  std::string out;
  const auto line = [&out](const std::string& text) { out += text + "\n"; };
  const auto escape = [](std::string_view s) {
    std::string e;
    for (const char c : s) {
      if (c == '"' || c == '\\') e += '\\';
      if (c == '\n') {
        e += "\\n";
        continue;
      }
      e += c;
    }
    return e;
  };
  std::lock_guard lock(mutex_);
  line("# HELP cipherline_proxy_requests_total Requests served, by route and status.");
  line("# TYPE cipherline_proxy_requests_total counter");
  for (const auto& [key, n] : requests_) {
    line("cipherline_proxy_requests_total{route=\"" + escape(key.first) + "\",status=\"" +
         std::to_string(key.second) + "\"} " + std::to_string(n));
  }
  const std::pair<const char*, const std::atomic<std::uint64_t>*> counters[] = {
      {"streams", &streams},
      {"oae_responses", &oae_responses},
      {"stream_events", &events},
      {"bytes_encrypted", &bytes_encrypted},
      {"bytes_decrypted", &bytes_decrypted},
      {"retries", &retries}};
  for (const auto& [name, value] : counters) {
    line(std::string("# TYPE cipherline_proxy_") + name + "_total counter");
    line(std::string("cipherline_proxy_") + name + "_total " + std::to_string(value->load()));
  }
  line("# HELP cipherline_proxy_failures_total Failures, by reason.");
  line("# TYPE cipherline_proxy_failures_total counter");
  for (const auto& [reason, n] : failures_) {
    line("cipherline_proxy_failures_total{reason=\"" + escape(reason) + "\"} " + std::to_string(n));
  }
  line("# TYPE cipherline_proxy_verified gauge");
  line("cipherline_proxy_verified " + std::to_string(verified.load()));
  for (const auto& [step, h] : histograms_) {
    const std::string name = "cipherline_proxy_" + step + "_seconds";
    line("# TYPE " + name + " histogram");
    for (std::size_t i = 0; i < kBuckets.size(); ++i) {
      char le[32];
      std::snprintf(le, sizeof le, "%g", kBuckets[i]);
      line(name + "_bucket{le=\"" + le + "\"} " + std::to_string(h.counts[i]));
    }
    line(name + "_bucket{le=\"+Inf\"} " + std::to_string(h.count));
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", h.sum);
    line(name + "_sum " + sum);
    line(name + "_count " + std::to_string(h.count));
  }
  return out;
}

void ProxyMetrics::write_counters(json::JsonWriter& w) const {
  std::lock_guard lock(mutex_);
  w.begin_object().key("requests").begin_array();
  for (const auto& [key, n] : requests_) {
    w.begin_object()
        .key("route")
        .string(key.first)
        .key("status")
        .number(key.second)
        .key("count")
        .number(n)
        .end_object();
  }
  w.end_array();
  w.key("streams").number(streams.load());
  w.key("oae_responses").number(oae_responses.load());
  w.key("events").number(events.load());
  w.key("bytes_encrypted").number(bytes_encrypted.load());
  w.key("bytes_decrypted").number(bytes_decrypted.load());
  w.key("retries").number(retries.load());
  w.key("failures").begin_object();
  for (const auto& [reason, n] : failures_) w.key(reason).number(n);
  w.end_object();
  w.key("verified").number(verified.load());
  w.end_object();
}

void ProxyMetrics::write_last_errors(json::JsonWriter& w) const {
  std::lock_guard lock(mutex_);
  w.begin_array();
  const std::uint64_t kept = std::min<std::uint64_t>(errors_seen_, kLastErrors);
  for (std::uint64_t i = errors_seen_ - kept; i < errors_seen_; ++i) {
    const LastError& e = last_errors_[i % kLastErrors];
    w.begin_object().key("time").string(rfc3339(e.at)).key("reason").string(e.reason);
    w.key("route");
    if (e.route.empty()) {
      w.null();
    } else {
      w.string(e.route);
    }
    w.end_object();
  }
  w.end_array();
}

void ProxyMetrics::write_series(json::JsonWriter& w, system_clock::time_point now) const {
  const std::int64_t end = unix_seconds(now);
  const std::int64_t first = end - static_cast<std::int64_t>(kSeriesSeconds) + 1;
  std::array<Second, kSeriesSeconds> copy;
  {
    std::lock_guard lock(series_mutex_);
    copy = series_;
  }
  // The bucket of second t, if it holds that second (not an older one).
  const auto at = [&](std::int64_t t) -> const Second* {
    const Second& s = copy[static_cast<std::uint64_t>(t) % kSeriesSeconds];
    return s.at == t ? &s : nullptr;
  };
  w.begin_object().key("interval_seconds").number(1).key("end").number(end);
  w.key("requests_per_second").begin_array();
  for (std::int64_t t = first; t <= end; ++t) {
    const Second* s = at(t);
    w.number(s ? s->requests : std::uint64_t{0});
  }
  w.end_array().key("token_interval_ms").begin_array();
  for (std::int64_t t = first; t <= end; ++t) {
    const Second* s = at(t);
    if (!s || s->events == 0) {
      w.null();
      continue;
    }
    const double ms = static_cast<double>(s->gap_us) / static_cast<double>(s->events) / 1000.0;
    w.number(std::round(ms * 1000.0) / 1000.0);
  }
  w.end_array().end_object();
}

}  // namespace cipherline::client
