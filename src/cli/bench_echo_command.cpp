// `cipherline bench echo`: an echo server and N echo clients over loopback on
// one loop, measuring round trips and bytes per second for a fixed time.
#include <chrono>
#include <cstdio>
#include <vector>

#include "cipherline/runtime/loop.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/tcp_listener.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "latency_histogram.hpp"

namespace cipherline::cli {
namespace {

struct ClientStats {
  std::uint64_t round_trips = 0;
  std::uint64_t bytes = 0;
};

Task<void> echo_session(TcpStream conn) {
  while (true) {
    auto bytes = co_await conn.read();
    if (!bytes) co_return;
    if (!co_await conn.write(*bytes)) co_return;
  }
}

Task<void> accept_loop(TcpListener& listener, TaskScope& sessions) {
  while (true) {
    auto conn = co_await listener.accept();
    if (!conn) co_return;
    sessions.spawn(echo_session(std::move(*conn)));
  }
}

// One client: sends a message, waits for all of it to come back, repeats
// until stopped.
Task<ClientStats> echo_client(SocketAddress server, std::size_t size, LatencyHistogram& latency) {
  ClientStats stats;
  auto conn = (co_await TcpStream::connect(server)).value();
  const std::vector<std::byte> message(size, std::byte{'x'});
  while (true) {
    const auto sent = std::chrono::steady_clock::now();
    if (!co_await conn.write(message)) break;
    std::size_t received = 0;
    while (received < size) {
      auto bytes = co_await conn.read();
      if (!bytes) co_return stats;  // stopped (or the server went away)
      received += bytes->size();
    }
    latency.record(std::chrono::steady_clock::now() - sent);
    ++stats.round_trips;
    stats.bytes += size;
  }
  co_return stats;
}

Task<void> stop_after(std::chrono::nanoseconds duration, std::stop_source& stop) {
  (void)co_await sleep_for(duration);
  stop.request_stop();
}

Task<ClientStats> run_echo(SocketAddress address, std::size_t connections, std::size_t size,
                           std::chrono::nanoseconds duration, LatencyHistogram& latency) {
  auto listener = TcpListener::bind(address);
  const SocketAddress server = listener.local_address();
  TaskScope background;
  background.spawn(accept_loop(listener, background));

  std::stop_source stop;
  std::vector<Task<ClientStats>> clients;
  for (std::size_t i = 0; i < connections; ++i) {
    clients.push_back(with_stop_token(echo_client(server, size, latency), stop.get_token()));
  }
  background.spawn(stop_after(duration, stop));
  auto results = co_await when_all(std::move(clients));

  background.request_stop();
  co_await background.join();
  ClientStats total;
  for (const auto& r : results) {
    total.round_trips += r.round_trips;
    total.bytes += r.bytes;
  }
  co_return total;
}

}  // namespace

int bench_echo(std::span<const std::string_view> args) {
  Flags flags("bench echo",
              "Runs an echo server and clients over loopback on one event loop and prints\n"
              "round trips and throughput: a quick check of the coroutine runtime.");
  flags.option("connections", "N", "concurrent client connections", "16")
      .option("size", "BYTES", "message size (K and M suffixes allowed)", "4K")
      .option("seconds", "S", "how long to run", "2")
      .option("address", "IP:PORT", "where the server listens", "127.0.0.1:0");
  if (!flags.parse(args)) return 0;
  const auto connections = flags.unsigned_integer("connections", 1, 10'000);
  const auto size = flags.byte_size("size", 1, 16 * 1024 * 1024);
  const double seconds = flags.seconds("seconds", 0.01, 3600);
  const auto address = SocketAddress::try_parse(flags.text("address"));
  if (!address) {
    throw UsageError("--address expects a numeric IP:PORT like 127.0.0.1:0, got '" +
                     flags.text("address") + "'");
  }

  Loop loop;
  const auto started = std::chrono::steady_clock::now();
  const auto duration =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::duration<double>(seconds));
  LatencyHistogram latency;
  const ClientStats total =
      sync_wait(loop, run_echo(*address, connections, size, duration, latency));
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const double mib = static_cast<double>(total.bytes) / (1024.0 * 1024.0);
  std::printf("cipherline bench echo: %zu connections, %zu-byte messages, %.1f s on one loop\n",
              static_cast<std::size_t>(connections), static_cast<std::size_t>(size), elapsed);
  std::printf("  round trips   %12llu  (%.0f/s)\n",
              static_cast<unsigned long long>(total.round_trips),
              static_cast<double>(total.round_trips) / elapsed);
  std::printf("  latency       p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n", latency.percentile(0.5),
              latency.percentile(0.99), latency.percentile(0.999));
  std::printf("  echoed        %12.1f MiB  (%.1f MiB/s each way)\n", mib, mib / elapsed);
  return total.round_trips > 0 ? 0 : 1;
}

}  // namespace cipherline::cli
