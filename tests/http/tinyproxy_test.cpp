// The client through a real HTTP proxy (Debian's tinyproxy, started by the
// test with its own configuration): plain HTTP in absolute form, HTTPS
// through a CONNECT tunnel, proxy authentication, a refused tunnel, an
// unreachable proxy, and NO_PROXY sending a request around the proxy.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cipherline/http/client.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "nginx_fixture.hpp"
#include "server_fixture.hpp"
#include "tls_fixture.hpp"

namespace cipherline::http {
namespace {

using namespace std::chrono_literals;
using testing::free_port;

// A private tinyproxy on a loopback port. `connect_port`, if set, is the
// only port it tunnels to; `credentials` ("user password"), if set, are
// required.
class Tinyproxy {
 public:
  Tinyproxy(std::string credentials, std::uint16_t connect_port) : port_(free_port()) {
    char tmpl[] = "/tmp/cipherline-tinyproxy-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir_ = tmpl;
    std::ofstream conf(dir_ / "tinyproxy.conf");
    conf << "Port " << port_ << "\nListen 127.0.0.1\nTimeout 30\nLogLevel Info\n"
         << "LogFile \"" << (dir_ / "log").string() << "\"\n"
         << "PidFile \"" << (dir_ / "pid").string() << "\"\n"
         << "MaxClients 20\nAllow 127.0.0.1\nDisableViaHeader Yes\n";
    if (!credentials.empty()) conf << "BasicAuth " << credentials << "\n";
    if (connect_port != 0) conf << "ConnectPort " << connect_port << "\n";
  }
  Tinyproxy(const Tinyproxy&) = delete;
  Tinyproxy& operator=(const Tinyproxy&) = delete;
  ~Tinyproxy() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      for (int i = 0; i < 500 && std::filesystem::exists(dir_ / "pid"); ++i) ::usleep(10'000);
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& userinfo = {}) const {
    return "http://" + (userinfo.empty() ? "" : userinfo + "@") +
           "127.0.0.1:" + std::to_string(port_);
  }

  // start returns once the proxy accepts connections.
  Task<void> start() {
    auto r = co_await testing::run_command("tinyproxy -c " + (dir_ / "tinyproxy.conf").string() +
                                           " 2>&1");
    EXPECT_EQ(r.status, 0) << r.output;
    for (int i = 0; i < 500; ++i) {
      if (auto probe = co_await TcpStream::connect(
              SocketAddress::parse("127.0.0.1:" + std::to_string(port_)));
          probe) {
        std::ifstream pid(dir_ / "pid");
        pid >> pid_;
        co_return;
      }
      (void)co_await sleep_for(10ms);
    }
    ADD_FAILURE() << "tinyproxy did not start: " << log();
  }

  std::string log() const {
    std::ifstream in(dir_ / "log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::uint16_t port_;
  std::filesystem::path dir_;
  pid_t pid_ = -1;
};

Router echo_router() {
  Router r;
  r.add("GET", "/where", [](Request& req, ResponseWriter& w) -> Task<void> {
    (void)co_await w.respond(200, {}, "reached " + std::string(req.head.target));
  });
  return r;
}

Task<Result<std::string, Error>> get(HttpClient& client, const std::string& url,
                                     std::string target = "/where") {
  auto r = co_await client.request(Origin::parse(url).value(), {.target = std::move(target)});
  if (!r) co_return r.error();
  auto body = co_await r->body().read_all();
  if (!body) co_return body.error();
  co_return std::to_string(r->status()) + " " + *body;
}

TEST(Tinyproxy, PlainHttpGoesThroughTheProxyInAbsoluteForm) {
  Loop loop;
  Tinyproxy proxy("alice s3cret", 0);
  HttpServer server(echo_router());
  sync_wait(loop, testing::with_server(server, [&](SocketAddress a) -> Task<void> {
              co_await proxy.start();
              HttpClient client({.proxy = ProxySettings{.http_proxy = proxy.url("alice:s3cret")}});
              const std::string origin = "http://" + a.to_string();
              EXPECT_EQ((co_await get(client, origin)).value(), "200 reached /where");
              // tinyproxy closes plain-HTTP client connections after each
              // response; the next request opens a new one.
              EXPECT_EQ((co_await get(client, origin, "/where?again")).value(),
                        "200 reached /where?again");
            }));
  const std::string log = proxy.log();
  EXPECT_NE(log.find("GET http://" + std::string("127.0.0.1:")), std::string::npos) << log;
}

TEST(Tinyproxy, HttpsGoesThroughAConnectTunnel) {
  testing::Pki pki;
  pki.make_standard_set();
  auto tls = TlsServerContext::create(
                 {.certificate_file = pki.path("server.pem"), .key_file = pki.path("server.key")})
                 .value();
  HttpServer server(echo_router());
  Loop loop;
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const std::uint16_t port = listener.local_address().port();
  Tinyproxy proxy("alice s3cret", port);
  auto body = [&]() -> Task<void> {
    std::stop_source stop;
    TaskScope scope;
    scope.spawn(with_stop_token(server.serve_tls(listener, tls), stop.get_token()));
    co_await proxy.start();
    auto trusted = TlsClientConfig{.use_system_roots = false, .ca_file = pki.path("ca.pem")};
    const std::string origin = "https://localhost:" + std::to_string(port);

    // Through the tunnel, TLS is verified against the origin's name.
    HttpClient client({.tls = trusted.build().value(),
                       .proxy = ProxySettings{.https_proxy = proxy.url("alice:s3cret")}});
    EXPECT_EQ((co_await get(client, origin)).value(), "200 reached /where");
    EXPECT_EQ((co_await get(client, origin)).value(), "200 reached /where");
    EXPECT_EQ(client.connections_made(), 1u);

    // Without credentials: 407, and the error says so.
    HttpClient anonymous(
        {.tls = trusted.build().value(), .proxy = ProxySettings{.https_proxy = proxy.url()}});
    auto refused = co_await get(anonymous, origin);
    EXPECT_FALSE(refused);
    if (!refused) {
      EXPECT_EQ(refused.error(), errc::proxy_failed);
      EXPECT_NE(refused.error().message().find("CONNECT localhost:" + std::to_string(port) +
                                               ") refused: 407"),
                std::string::npos)
          << refused.error().message();
      EXPECT_NE(refused.error().message().find("carries no credentials"), std::string::npos);
    }

    // A port the proxy does not tunnel to: 403, named.
    auto elsewhere = co_await get(client, "https://localhost:" + std::to_string(port + 1));
    EXPECT_FALSE(elsewhere);
    if (!elsewhere) {
      EXPECT_EQ(elsewhere.error(), errc::proxy_failed);
      EXPECT_NE(elsewhere.error().message().find("refused: 403"), std::string::npos)
          << elsewhere.error().message();
    }
    stop.request_stop();
    co_await scope.join();
  };
  sync_wait(loop, body());
  EXPECT_NE(proxy.log().find("CONNECT localhost:" + std::to_string(port)), std::string::npos);
}

TEST(Tinyproxy, NoProxyGoesAroundAndADeadProxyIsNamed) {
  Loop loop;
  HttpServer server(echo_router());
  const std::string dead = "http://127.0.0.1:" + std::to_string(free_port());
  sync_wait(
      loop, testing::with_server(server, [&](SocketAddress a) -> Task<void> {
        const std::string origin = "http://" + a.to_string();
        HttpClient direct(
            {.proxy = ProxySettings{.http_proxy = dead, .no_proxy = "example.org,127.0.0.0/8"}});
        EXPECT_EQ((co_await get(direct, origin)).value(), "200 reached /where");

        HttpClient proxied({.proxy = ProxySettings{.http_proxy = dead}});
        auto r = co_await get(proxied, origin);
        EXPECT_FALSE(r);
        if (!r) {
          EXPECT_EQ(r.error(), std::errc::connection_refused);
          EXPECT_NE(r.error().message().find("connecting to proxy " + dead), std::string::npos)
              << r.error().message();
        }
      }));
}

}  // namespace
}  // namespace cipherline::http
