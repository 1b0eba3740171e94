// Test support: a private nginx (Debian's) started with a configuration the
// test writes into a temporary directory, stopped at the end.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "cipherline/runtime/sleep.hpp"
#include "server_fixture.hpp"

namespace cipherline::http::testing {

inline std::uint16_t free_port() {
  auto probe = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  return probe.local_address().port();
}

class Nginx {
 public:
  // `server_block` is the body of one `server { … }` listening on port().
  explicit Nginx(const std::string& server_block) : port_(free_port()) {
    char tmpl[] = "/tmp/cipherline-nginx-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    std::filesystem::permissions(dir_, std::filesystem::perms::all);
    const std::string d = dir_.string();
    std::ofstream conf(dir_ / "nginx.conf");
    conf << (geteuid() == 0 ? "user root;\n" : "") << "worker_processes 1;\n"
         << "pid " << d << "/nginx.pid;\n"
         << "error_log " << d << "/error.log;\n"
         << "events { worker_connections 256; }\n"
         << "http {\n  access_log off;\n"
         << "  client_body_temp_path " << d << "/body;\n  proxy_temp_path " << d << "/proxy;\n"
         << "  fastcgi_temp_path " << d << "/fcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n"
         << "  scgi_temp_path " << d << "/scgi;\n"
         << "  server {\n    listen 127.0.0.1:" << port_ << ";\n"
         << server_block << "\n  }\n}\n";
  }
  Nginx(const Nginx&) = delete;
  Nginx& operator=(const Nginx&) = delete;
  ~Nginx() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::uint16_t port() const { return port_; }

  // start returns once nginx listens: the master binds before it
  // daemonises, and the command returns after that.
  Task<CommandResult> start() { co_return co_await run_command(command() + " 2>&1"); }
  // stop returns once the master has exited (it removes its pid file last).
  Task<CommandResult> stop() {
    auto r = co_await run_command(command() + " -s stop 2>&1");
    for (int i = 0; i < 500 && std::filesystem::exists(dir_ / "nginx.pid"); ++i) {
      (void)co_await sleep_for(std::chrono::milliseconds(10));
    }
    co_return r;
  }
  std::string error_log() const {
    std::ifstream in(dir_ / "error.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::string command() const {
    return "nginx -p " + dir_.string() + " -c " + (dir_ / "nginx.conf").string();
  }

  std::uint16_t port_;
  std::filesystem::path dir_;
};

}  // namespace cipherline::http::testing
