// `cipherline bench http-serve`: a fixed response for load generators (wrk),
// the counterpart of nginx's `return 200 "…"` in scripts/bench-http.
// `cipherline bench sse`: Server-Sent Events through a relay — an origin
// server, a relay that reads the stream with the HTTP client and re-emits
// each event with its own server, and a reading client, all over loopback.
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include "cipherline/http/client.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "cipherline/http/sse_writer.hpp"
#include "cipherline/runtime/loop_group.hpp"
#include "cipherline/runtime/signal.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "latency_histogram.hpp"

namespace cipherline::cli {
namespace {

using http::HttpClient;
using http::HttpServer;
using http::Origin;
using http::Request;
using http::ResponseWriter;
using http::Router;
using http::SseReader;
using http::SseWriter;
using Clock = std::chrono::steady_clock;


}  // namespace

int bench_http_serve(std::span<const std::string_view> args) {
  Flags flags("bench http-serve",
              "Serves a fixed 200 response to GET / on every loop (SO_REUSEPORT) until\n"
              "SIGINT or SIGTERM: the cipherline side of the wrk comparison with nginx.");
  flags.option("listen", "IP:PORT", "where to listen", "127.0.0.1:8080")
      .option("loops", "N", "event loops, one thread each", "1")
      .option("body", "TEXT", "response body", "fixed response\n");
  if (!flags.parse(args)) return 0;
  const SocketAddress address = flags.address("listen");
  const auto loops = flags.unsigned_integer("loops", 1, 256);
  if (loops > 1 && address.port() == 0) {
    throw UsageError("--loops above 1 needs a fixed port in --listen");
  }
  const std::string body = flags.text("body");

  LoopGroup group(loops);
  group.run([&](std::size_t index) -> Task<void> {
    Router router;
    router.add("GET", "/", [&body](Request&, ResponseWriter& w) -> Task<void> {
      (void)co_await w.respond(200, {{"Content-Type", "text/plain"}}, body);
    });
    HttpServer server(std::move(router));
    auto listener = TcpListener::bind(address, {.reuse_port = true});
    if (index == 0) {
      std::printf("listening on %s with %zu loop(s)\n",
                  listener.local_address().to_string().c_str(), static_cast<std::size_t>(loops));
      std::fflush(stdout);
      TaskScope scope;
      scope.spawn([](LoopGroup& g) -> Task<void> {
        if (co_await wait_for_signal(SIGINT, SIGTERM)) g.request_stop();
      }(group));
      co_await server.serve(listener);
      scope.request_stop();
      co_await scope.join();
    } else {
      co_await server.serve(listener);
    }
  });
  return 0;
}

namespace {

// The wire form of a benchmark event: the send time (steady clock, ns) in
// 20 digits, then filler up to the event size.
void stamp_event(std::string& data, std::size_t size) {
  char digits[21];
  std::snprintf(digits, sizeof digits, "%020lld",
                static_cast<long long>(Clock::now().time_since_epoch().count()));
  data.assign(digits, 20);
  data.resize(size, 'x');
}

std::chrono::nanoseconds age_of(std::string_view data) {
  long long sent = 0;
  std::from_chars(data.data(), data.data() + std::min<std::size_t>(20, data.size()), sent);
  return Clock::now().time_since_epoch() - std::chrono::nanoseconds(sent);
}

struct SseConfig {
  std::size_t event_size = 200;
  std::size_t burst_events = 100'000;
  std::chrono::milliseconds interval{1};
  std::size_t paced_events = 2'000;
};

// The origin: /burst sends events back to back, /paced one per interval.
Router origin_routes(const SseConfig& config) {
  Router r;
  r.add("GET", "/burst", [&config](Request&, ResponseWriter& w) -> Task<void> {
    SseWriter sse(w);
    if (!co_await sse.start()) co_return;
    std::string data;
    for (std::size_t i = 0; i < config.burst_events; ++i) {
      stamp_event(data, config.event_size);
      if (!co_await sse.send(data)) co_return;
    }
    (void)co_await sse.finish();
  });
  r.add("GET", "/paced", [&config](Request&, ResponseWriter& w) -> Task<void> {
    SseWriter sse(w);
    if (!co_await sse.start()) co_return;
    std::string data;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < config.paced_events; ++i) {
      const auto due = start + config.interval * static_cast<long>(i);
      if (const auto now = Clock::now(); now < due) (void)co_await sleep_for(due - now);
      stamp_event(data, config.event_size);
      if (!co_await sse.send(data)) co_return;
    }
    (void)co_await sse.finish();
  });
  return r;
}

// The relay: /relay/<path> streams <path> from the origin and re-emits each
// event as it is parsed, the shape of an SSE-forwarding proxy.
Router relay_routes(HttpClient& client, const Origin& origin) {
  Router r;
  r.add_prefix("GET", "/relay/", [&client, &origin](Request& req, ResponseWriter& w) -> Task<void> {
    const std::string target = req.head.target.substr(std::string_view("/relay").size());
    auto upstream = co_await client.request(origin, {.target = target});
    if (!upstream || upstream->status() != 200) {
      (void)co_await w.respond(502, {}, "origin failed\n");
      co_return;
    }
    SseWriter sse(w);
    if (!co_await sse.start()) co_return;
    SseReader reader;
    while (true) {
      auto chunk = co_await upstream->body().next();
      if (!chunk || chunk->empty()) break;
      reader.feed(*chunk);
      while (true) {
        auto event = reader.next();
        if (!event || !*event) break;
        if (!co_await sse.send((*event)->data)) co_return;
      }
    }
    (void)co_await sse.finish();
  });
  return r;
}

struct StreamStats {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
  bool failed = false;
};

Task<StreamStats> read_stream(HttpClient& client, const Origin& origin, std::string target,
                              LatencyHistogram* latency) {
  StreamStats stats;
  auto response = co_await client.request(origin, {.target = std::move(target)});
  if (!response || response->status() != 200) {
    stats.failed = true;
    co_return stats;
  }
  SseReader reader;
  while (true) {
    auto chunk = co_await response->body().next();
    if (!chunk) stats.failed = true;
    if (!chunk || chunk->empty()) break;
    reader.feed(*chunk);
    while (true) {
      auto event = reader.next();
      if (!event) stats.failed = true;
      if (!event || !*event) break;
      if (latency != nullptr) latency->record(age_of((*event)->data));
      ++stats.events;
      stats.bytes += (*event)->data.size();
    }
  }
  co_return stats;
}

struct SseResults {
  double direct_events_per_s = 0;
  double relayed_events_per_s = 0;
  double relayed_mib_per_s = 0;
  LatencyHistogram direct_latency;
  LatencyHistogram relayed_latency;
  bool failed = false;
};

Task<StreamStats> read_streams(HttpClient& client, const Origin& origin, const std::string& target,
                               std::size_t streams, LatencyHistogram* latency) {
  std::vector<Task<StreamStats>> readers;
  for (std::size_t i = 0; i < streams; ++i) {
    readers.push_back(read_stream(client, origin, target, latency));
  }
  StreamStats total;
  for (const auto& s : co_await when_all(std::move(readers))) {
    total.events += s.events;
    total.bytes += s.bytes;
    total.failed |= s.failed;
  }
  co_return total;
}

Task<void> run_sse(const SseConfig& config, std::size_t streams, SseResults& out) {
  const http::ClientOptions pooled{.max_connections_per_origin = streams};
  HttpServer origin_server(origin_routes(config));
  auto origin_listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const Origin origin =
      Origin::parse("http://" + origin_listener.local_address().to_string()).value();
  HttpClient relay_client(pooled);
  HttpServer relay_server(relay_routes(relay_client, origin));
  auto relay_listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const Origin relay =
      Origin::parse("http://" + relay_listener.local_address().to_string()).value();

  std::stop_source stop;
  TaskScope servers;
  servers.spawn(with_stop_token(origin_server.serve(origin_listener), stop.get_token()));
  servers.spawn(with_stop_token(relay_server.serve(relay_listener), stop.get_token()));

  HttpClient client(pooled);
  const auto expected_burst = config.burst_events;
  auto rate = [&](const Origin& o, const std::string& target, double& events_per_s,
                  double* mib_per_s) -> Task<void> {
    const auto started = Clock::now();
    const StreamStats s = co_await read_stream(client, o, target, nullptr);
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    out.failed |= s.failed || s.events != expected_burst;
    events_per_s = static_cast<double>(s.events) / seconds;
    if (mib_per_s != nullptr) *mib_per_s = static_cast<double>(s.bytes) / seconds / (1 << 20);
  };
  co_await rate(origin, "/burst", out.direct_events_per_s, nullptr);
  co_await rate(relay, "/relay/burst", out.relayed_events_per_s, &out.relayed_mib_per_s);

  const auto direct = co_await read_streams(client, origin, "/paced", streams, &out.direct_latency);
  const auto relayed =
      co_await read_streams(client, relay, "/relay/paced", streams, &out.relayed_latency);
  out.failed |= direct.failed || relayed.failed || direct.events != streams * config.paced_events ||
                relayed.events != streams * config.paced_events;

  stop.request_stop();
  co_await servers.join();
}

}  // namespace

int bench_sse(std::span<const std::string_view> args) {
  Flags flags("bench sse",
              "Streams Server-Sent Events from an origin through a relay (HTTP client in,\n"
              "HTTP server out) to a reader, all on one loop over loopback. Prints events/s\n"
              "back to back, direct and relayed, and the latency of paced events (sent every\n"
              "--interval-ms on --streams concurrent streams) with and without the relay.");
  flags.option("size", "BYTES", "event data size", "200")
      .option("burst", "N", "events in the back-to-back stream", "200000")
      .option("streams", "N",
              "concurrent paced streams (above 1, latency includes queueing on the one loop)", "1")
      .option("interval-ms", "MS", "time between events of one paced stream", "1")
      .option("seconds", "S", "duration of the paced phase", "2");
  if (!flags.parse(args)) return 0;
  SseConfig config;
  config.event_size = flags.byte_size("size", 24, 1 << 20);
  config.burst_events = flags.unsigned_integer("burst", 1, 100'000'000);
  const auto streams = flags.unsigned_integer("streams", 1, 10'000);
  config.interval = std::chrono::milliseconds(flags.unsigned_integer("interval-ms", 1, 60'000));
  const double seconds = flags.seconds("seconds", 0.01, 3600);
  config.paced_events = std::max<std::size_t>(
      1, static_cast<std::size_t>(seconds * 1000.0 / static_cast<double>(config.interval.count())));

  Loop loop;
  SseResults r;
  sync_wait(loop, run_sse(config, streams, r));

  std::printf("cipherline bench sse: %zu-byte events, one loop\n", config.event_size);
  std::printf("  back to back   direct %10.0f events/s   relayed %10.0f events/s (%.1f MiB/s)\n",
              r.direct_events_per_s, r.relayed_events_per_s, r.relayed_mib_per_s);
  const double added_p50 = r.relayed_latency.percentile(0.5) - r.direct_latency.percentile(0.5);
  const double added_p99 = r.relayed_latency.percentile(0.99) - r.direct_latency.percentile(0.99);
  std::printf("  paced (%zu streams, 1 event per %lld ms each, %llu events per path)\n",
              static_cast<std::size_t>(streams), static_cast<long long>(config.interval.count()),
              static_cast<unsigned long long>(r.relayed_latency.count()));
  std::printf("    direct       p50 %6.0f us   p99 %6.0f us\n", r.direct_latency.percentile(0.5),
              r.direct_latency.percentile(0.99));
  std::printf("    relayed      p50 %6.0f us   p99 %6.0f us\n", r.relayed_latency.percentile(0.5),
              r.relayed_latency.percentile(0.99));
  std::printf("    added        p50 %6.0f us   p99 %6.0f us\n", added_p50, added_p99);
  if (r.failed) {
    std::fprintf(stderr, "cipherline: a stream failed or lost events\n");
    return 1;
  }
  return 0;
}

}  // namespace cipherline::cli
