// Test support: a private single-member etcd (Debian's etcd-server,
// installed by scripts/setup-deps) on free loopback ports with a temporary
// data directory, for the tests that need a real cluster.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cipherline/backend/etcd_secret_store.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/tcp_listener.hpp"

extern char** environ;

namespace cipherline::backend::testing {

using namespace std::chrono_literals;

inline constexpr const char* kEtcd = "/usr/bin/etcd";

inline std::uint16_t free_port() {
  auto probe = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  return probe.local_address().port();
}

// Etcd: a private single-member etcd with a temporary data directory, on
// loopback ports chosen when it is made. start() spawns it, stop() ends it
// (SIGTERM, then waits); the destructor stops it and removes the directory.
class Etcd {
 public:
  Etcd() {
    char tmpl[] = "/tmp/cipherline-etcd-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    pick_ports();
  }
  Etcd(const Etcd&) = delete;
  Etcd& operator=(const Etcd&) = delete;
  ~Etcd() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }

  // start spawns etcd and waits until it answers; on failure the reason
  // (with the end of etcd's log). A port taken meanwhile by someone else is
  // retried with new ports, unless `same_ports` (a restart).
  Task<std::string> start(bool same_ports = false) {
    if (::access(kEtcd, X_OK) != 0) {
      co_return std::string(kEtcd) +
          " is not installed: run scripts/setup-deps (Debian's "
          "etcd-server package)";
    }
    std::string last;
    for (int attempt = 0; attempt < (same_ports ? 1 : 3); ++attempt) {
      if (attempt > 0) pick_ports();
      if (auto spawned = spawn(); !spawned.empty()) co_return spawned;
      last = co_await wait_ready();
      if (last.empty()) co_return last;
      stop();
    }
    co_return last + "\netcd's log:\n" + log_tail();
  }

  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return;
      }
      ::usleep(10'000);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string log_tail() const {
    std::ifstream in(dir_ / "etcd.log");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

 private:
  void pick_ports() {
    client_port_ = free_port();
    do {
      peer_port_ = free_port();
    } while (peer_port_ == client_port_);
  }

  std::string spawn() {
    const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args = {kEtcd,
                                     "--name=test",
                                     "--data-dir=" + (dir_ / "data").string(),
                                     "--listen-client-urls=" + client,
                                     "--advertise-client-urls=" + client,
                                     "--listen-peer-urls=" + peer,
                                     "--initial-advertise-peer-urls=" + peer,
                                     "--initial-cluster=test=" + peer,
                                     "--initial-cluster-state=new",
                                     "--log-outputs=stderr"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir_ / "etcd.log").string();
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = ::posix_spawn(&pid_, kEtcd, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      pid_ = -1;
      return std::string("spawning ") + kEtcd + ": " + std::strerror(rc);
    }
    return {};
  }

  Task<std::string> wait_ready() {
    std::string last;
    for (int i = 0; i < 150; ++i) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        co_return "etcd exited at startup";
      }
      auto store = co_await EtcdSecretStore::connect(
          {.endpoint = endpoint(), .request_timeout = std::chrono::milliseconds(1'000)});
      if (store) co_return std::string();
      last = store.error().message();
      (void)co_await sleep_for(100ms);
    }
    co_return "etcd did not answer within 15 s: " + last;
  }

  std::filesystem::path dir_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

// Runs `body(etcd)` on a fresh loop with a started etcd.
template <class Body>
void with_etcd(Body body) {
  Loop loop;
  Etcd etcd;
  sync_wait(loop, [&]() -> Task<void> {
    const std::string failed = co_await etcd.start();
    EXPECT_EQ(failed, "") << "etcd is needed for this test";
    if (!failed.empty()) co_return;
    co_await body(etcd);
  }());
}

}  // namespace cipherline::backend::testing
