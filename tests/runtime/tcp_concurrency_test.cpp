// 10,000 concurrent tasks, each with its own connection and a round trip.
//
// The echo server runs in a child process so that the 20,000 sockets are
// split between two processes' descriptor limits.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "loopback.hpp"

namespace cipherline {
namespace {

constexpr int kTasks = 10'000;

void raise_descriptor_limit() {
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  r.rlim_cur = r.rlim_max;
  setrlimit(RLIMIT_NOFILE, &r);
}

// Child: echo one message per connection, then close (the server closes
// first, so TIME_WAIT stays on its side and the client's ports are reusable).
[[noreturn]] void serve_in_child(int port_pipe) {
  raise_descriptor_limit();
  {
    Loop loop;
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"), {.backlog = 4096});
    const std::uint16_t port = listener.local_address().port();
    if (::write(port_pipe, &port, sizeof port) != sizeof port) _exit(3);
    sync_wait(loop, [&]() -> Task<void> {
      TaskScope sessions;
      while (auto conn = co_await listener.accept()) {
        sessions.spawn([](TcpStream s) -> Task<void> {
          auto bytes = co_await s.read();
          if (bytes) (void)co_await s.write(*bytes);
        }(std::move(*conn)));
      }
      co_await sessions.join();
    }());
  }
  _exit(0);
}

TEST(TcpConcurrency, TenThousandConcurrentRoundTrips) {
  raise_descriptor_limit();
  rlimit r{};
  getrlimit(RLIMIT_NOFILE, &r);
  if (r.rlim_cur < kTasks + 100) GTEST_SKIP() << "descriptor limit " << r.rlim_cur << " too low";

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    serve_in_child(fds[1]);
  }
  close(fds[1]);
  std::uint16_t port = 0;
  ASSERT_EQ(::read(fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  close(fds[0]);
  const SocketAddress server = *SocketAddress::from_ip("127.0.0.1", port);

  Loop loop;
  auto one = [](SocketAddress server, int i) -> Task<bool> {
    auto conn = co_await TcpStream::connect(server);
    if (!conn) co_return false;
    const std::string message = "task " + std::to_string(i);
    if (!co_await conn->write(as_bytes(message))) co_return false;
    auto echoed = co_await testing::read_exactly(*conn, message.size());
    co_return echoed&&* echoed == message;
  };
  std::vector<Task<bool>> tasks;
  tasks.reserve(kTasks);
  for (int i = 0; i < kTasks; ++i) tasks.push_back(one(server, i));
  const std::vector<bool> ok = sync_wait(loop, when_all(std::move(tasks)));

  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  int failures = 0;
  for (bool b : ok) failures += b ? 0 : 1;
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace cipherline
