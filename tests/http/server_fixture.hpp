// Test support for the HTTP server tests: a server on a loopback port run
// by a test task, a raw TCP client for byte-exact requests, and curl run on
// the thread pool (so the loop keeps serving while it runs).
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "cipherline/http/server.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/tcp_listener.hpp"

namespace cipherline::http::testing {

struct CommandResult {
  int status = -1;
  std::string output;
};

// run_command runs a shell command on the thread pool and collects stdout.
inline Task<CommandResult> run_command(std::string command) {
  // Named, not a temporary inside the co_await (see docs/conventions.md).
  auto job = [command] {
    CommandResult out;
    FILE* p = ::popen(command.c_str(), "r");
    if (p == nullptr) return out;
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, p)) > 0) out.output.append(buffer, n);
    const int status = ::pclose(p);
    out.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
  };
  auto r = co_await offload(std::move(job));
  co_return r.value();
}

// read_until_closed reads everything the peer sends until it closes.
inline Task<std::string> read_until_closed(TcpStream& s) {
  std::string out;
  while (true) {
    auto bytes = co_await s.read();
    if (!bytes) co_return out;
    out.append(as_string(*bytes));
  }
}

// read_until reads until `marker` has arrived (or the peer closes).
inline Task<std::string> read_until(TcpStream& s, std::string_view marker, std::string& carry) {
  while (carry.find(marker) == std::string::npos) {
    auto bytes = co_await s.read();
    if (!bytes) break;
    carry.append(as_string(*bytes));
  }
  const auto at = carry.find(marker);
  if (at == std::string::npos) co_return std::exchange(carry, {});
  std::string head = carry.substr(0, at + marker.size());
  carry.erase(0, at + marker.size());
  co_return head;
}

// ServerRun runs `server` on a fresh loopback listener inside a test body:
//   co_await with_server(server, [&](SocketAddress addr) -> Task<void> { ... });
template <class Body>
Task<void> with_server(HttpServer& server, Body body) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const SocketAddress address = listener.local_address();
  std::stop_source stop;
  TaskScope scope;
  scope.spawn(with_stop_token(server.serve(listener), stop.get_token()));
  std::exception_ptr failure;
  try {
    co_await body(address);
  } catch (...) {
    failure = std::current_exception();
  }
  stop.request_stop();
  co_await scope.join();
  if (failure) std::rethrow_exception(failure);
}

inline std::string url(const SocketAddress& a, std::string_view path) {
  return "http://" + a.to_string() + std::string(path);
}

}  // namespace cipherline::http::testing
