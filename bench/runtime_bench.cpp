// Runtime benchmarks: task overhead, channel hand-off, thread-pool round trip,
// and TCP echo over loopback, coroutine version against a plain libuv
// callback version written here (same loop, same socket setup, same message
// pattern), printed as a ratio at the end.
#include <benchmark/benchmark.h>
#include <uv.h>

#include <cstring>
#include <memory>
#include <vector>

#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/tcp_listener.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "ratio_reporter.hpp"

namespace cipherline {
namespace {

// Tasks ----------------------------------------------------------------------

Task<int> ready_value(int v) { co_return v; }

void BM_AwaitReadyTask(benchmark::State& state) {
  Loop loop;
  sync_wait(loop, [](benchmark::State& state) -> Task<void> {
    int i = 0;
    for (auto _ : state) {
      int v = co_await ready_value(++i);
      benchmark::DoNotOptimize(v);
    }
    co_return;
  }(state));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AwaitReadyTask);

void BM_TaskCreateDestroy(benchmark::State& state) {
  for (auto _ : state) {
    Task<int> t = ready_value(1);
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TaskCreateDestroy);

void BM_SyncWaitTask(benchmark::State& state) {
  Loop loop;
  for (auto _ : state) benchmark::DoNotOptimize(sync_wait(loop, ready_value(1)));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SyncWaitTask);

// Channel ping-pong: one item each way per iteration.
void BM_ChannelPingPong(benchmark::State& state) {
  Loop loop;
  Channel<int> ping(1);
  Channel<int> pong(1);
  auto echo = [&]() -> Task<void> {
    while (auto v = co_await ping.receive()) (void)co_await pong.send(*v);
  };
  auto driver = [&]() -> Task<void> {
    for (auto _ : state) {
      (void)co_await ping.send(1);
      benchmark::DoNotOptimize(co_await pong.receive());
    }
    ping.close();
  };
  sync_wait(loop, [&]() -> Task<void> { co_await when_all(echo(), driver()); }());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChannelPingPong);

void BM_OffloadRoundTrip(benchmark::State& state) {
  Loop loop;
  sync_wait(loop, [](benchmark::State& state) -> Task<void> {
    for (auto _ : state) benchmark::DoNotOptimize(co_await offload([] { return 1; }));
  }(state));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_OffloadRoundTrip)->UseRealTime();

// TCP echo ---------------------------------------------------------------------

constexpr int kRoundTripsPerIteration = 200;

void report_echo(benchmark::State& state, std::size_t size) {
  const auto trips = static_cast<std::int64_t>(state.iterations()) * kRoundTripsPerIteration;
  state.SetItemsProcessed(trips);
  state.SetBytesProcessed(trips * static_cast<std::int64_t>(size));
}

Task<void> coroutine_echo_server(TcpStream conn) {
  while (true) {
    auto bytes = co_await conn.read();
    if (!bytes) co_return;
    if (!co_await conn.write(*bytes)) co_return;
  }
}

Task<void> coroutine_echo_client(TcpStream& conn, const std::vector<std::byte>& message) {
  for (int i = 0; i < kRoundTripsPerIteration; ++i) {
    (co_await conn.write(message)).value();
    std::size_t received = 0;
    while (received < message.size()) received += (co_await conn.read()).value().size();
  }
}

void BM_TcpEchoCoroutine(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  TaskScope server;
  TcpStream client = sync_wait(loop, [&]() -> Task<TcpStream> {
    auto c = (co_await TcpStream::connect(listener.local_address())).value();
    server.spawn(coroutine_echo_server((co_await listener.accept()).value()));
    co_return c;
  }());
  const std::vector<std::byte> message(size, std::byte{'m'});
  for (auto _ : state) sync_wait(loop, coroutine_echo_client(client, message));
  client.close();
  listener.close();
  sync_wait(loop, server.join());
  report_echo(state, size);
}
BENCHMARK(BM_TcpEchoCoroutine)->Arg(64)->Arg(16 * 1024)->UseRealTime();

// The same echo with libuv callbacks only: what the runtime is measured
// against.
struct CallbackEcho {
  struct Conn {
    uv_tcp_t tcp;
    CallbackEcho* echo;
    std::vector<char> buffer = std::vector<char>(64 * 1024);
    bool is_client;
  };
  struct PendingWrite {
    uv_write_t req;
    std::vector<char> data;
  };

  uv_loop_t* loop;
  uv_tcp_t listener;
  Conn client;
  Conn server;
  std::vector<char> message;
  std::size_t received = 0;
  int remaining = 0;
  int connected = 0;  // client connected + server accepted

  static void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(h->data);
    *buf = uv_buf_init(c->buffer.data(), static_cast<unsigned>(c->buffer.size()));
  }

  // Tries a direct write first, queues the rest (as the runtime does).
  static void send(uv_stream_t* s, const char* data, std::size_t n) {
    uv_buf_t buf = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(n));
    const int written = uv_try_write(s, &buf, 1);
    const std::size_t done = written > 0 ? static_cast<std::size_t>(written) : 0;
    if (done == n) return;
    auto* w = new PendingWrite{{}, std::vector<char>(data + done, data + n)};
    buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
    w->req.data = w;
    uv_write(&w->req, s, &buf, 1,
             [](uv_write_t* req, int) { delete static_cast<PendingWrite*>(req->data); });
  }

  static void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    if (n <= 0) return;
    auto* c = static_cast<Conn*>(s->data);
    CallbackEcho* e = c->echo;
    if (!c->is_client) {
      send(s, buf->base, static_cast<std::size_t>(n));
      return;
    }
    e->received += static_cast<std::size_t>(n);
    if (e->received < e->message.size()) return;
    e->received = 0;
    if (--e->remaining > 0) {
      send(s, e->message.data(), e->message.size());
    } else {
      uv_stop(e->loop);
    }
  }

  void round_trips(int n) {
    remaining = n;
    send(reinterpret_cast<uv_stream_t*>(&client.tcp), message.data(), message.size());
    uv_run(loop, UV_RUN_DEFAULT);
  }
};

void BM_TcpEchoCallback(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0));
  uv_loop_t loop;
  uv_loop_init(&loop);
  CallbackEcho e;
  e.loop = &loop;
  e.message.assign(size, 'm');
  e.client.echo = e.server.echo = &e;
  e.client.is_client = true;
  e.server.is_client = false;

  uv_tcp_init(&loop, &e.listener);
  e.listener.data = &e;
  sockaddr_in any{};
  uv_ip4_addr("127.0.0.1", 0, &any);
  uv_tcp_bind(&e.listener, reinterpret_cast<const sockaddr*>(&any), 0);
  uv_listen(reinterpret_cast<uv_stream_t*>(&e.listener), 16, [](uv_stream_t* l, int) {
    auto* echo = static_cast<CallbackEcho*>(l->data);
    uv_tcp_init(echo->loop, &echo->server.tcp);
    echo->server.tcp.data = &echo->server;
    uv_accept(l, reinterpret_cast<uv_stream_t*>(&echo->server.tcp));
    uv_tcp_nodelay(&echo->server.tcp, 1);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&echo->server.tcp), &CallbackEcho::on_alloc,
                  &CallbackEcho::on_read);
    uv_close(reinterpret_cast<uv_handle_t*>(l), nullptr);
    ++echo->connected;
  });
  sockaddr_storage bound{};
  int len = sizeof bound;
  uv_tcp_getsockname(&e.listener, reinterpret_cast<sockaddr*>(&bound), &len);

  uv_tcp_init(&loop, &e.client.tcp);
  e.client.tcp.data = &e.client;
  uv_connect_t connect;
  connect.data = &e;
  uv_tcp_connect(&connect, &e.client.tcp, reinterpret_cast<const sockaddr*>(&bound),
                 [](uv_connect_t* req, int) {
                   auto* echo = static_cast<CallbackEcho*>(req->data);
                   uv_tcp_nodelay(&echo->client.tcp, 1);
                   uv_read_start(reinterpret_cast<uv_stream_t*>(&echo->client.tcp),
                                 &CallbackEcho::on_alloc, &CallbackEcho::on_read);
                   ++echo->connected;
                 });
  while (e.connected < 2) uv_run(&loop, UV_RUN_ONCE);

  for (auto _ : state) e.round_trips(kRoundTripsPerIteration);

  uv_close(reinterpret_cast<uv_handle_t*>(&e.client.tcp), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&e.server.tcp), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  report_echo(state, size);
}
BENCHMARK(BM_TcpEchoCallback)->Arg(64)->Arg(16 * 1024)->UseRealTime();

}  // namespace
}  // namespace cipherline

int main(int argc, char** argv) {
  return cipherline::bench::run_with_ratios(
      argc, argv,
      {
          {"tcp echo 64 B: coroutine / callback", "BM_TcpEchoCoroutine/64/real_time",
           "BM_TcpEchoCallback/64/real_time"},
          {"tcp echo 16 KiB: coroutine / callback", "BM_TcpEchoCoroutine/16384/real_time",
           "BM_TcpEchoCallback/16384/real_time"},
      });
}
