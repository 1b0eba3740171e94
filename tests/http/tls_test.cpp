// TLS: handshakes between the project's client and server, the three
// verification failures named, mTLS, certificate reload, and interop with
// `openssl s_server` and `openssl s_client`.
#include "cipherline/http/tls.hpp"

#include <gtest/gtest.h>

#include "cipherline/http/client.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "server_fixture.hpp"
#include "tls_fixture.hpp"

namespace cipherline::http {
namespace {

using namespace std::chrono_literals;

Router hello_router() {
  Router r;
  r.add("GET", "/hello", [](Request&, ResponseWriter& w) -> Task<void> {
    (void)co_await w.respond(200, {}, "hello over tls\n");
  });
  return r;
}

// Runs an HTTPS server with `cert`/`key` (and optional client CA) while `body` runs.
template <class Body>
Task<void> with_tls_server(testing::Pki& pki, std::string cert, std::string client_ca, Body body) {
  auto tls =
      TlsServerContext::create({.certificate_file = pki.path(cert + ".pem"),
                                .key_file = pki.path(cert + ".key"),
                                .client_ca_file = client_ca.empty() ? "" : pki.path(client_ca)})
          .value();
  HttpServer server(hello_router());
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  const SocketAddress address = listener.local_address();
  std::stop_source stop;
  TaskScope scope;
  scope.spawn(with_stop_token(server.serve_tls(listener, tls), stop.get_token()));
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

Task<Result<std::string, Error>> get_hello(std::shared_ptr<TlsContext> tls,
                                           const std::string& url) {
  HttpClient client({.tls = std::move(tls)});
  auto origin = Origin::parse(url).value();
  auto r = co_await client.request(origin, {.target = "/hello"});
  if (!r) co_return r.error();
  co_return co_await r->body().read_all();
}

class Tls : public ::testing::Test {
 protected:
  void SetUp() override { pki_.make_standard_set(); }
  std::shared_ptr<TlsContext> trusting_ca(std::string cert = {}, std::string key = {}) {
    return TlsClientConfig{.use_system_roots = false,
                           .ca_file = pki_.path("ca.pem"),
                           .certificate_file = cert.empty() ? "" : pki_.path(cert),
                           .key_file = key.empty() ? "" : pki_.path(key)}
        .build()
        .value();
  }
  // The error a client trusting the test CA gets from a server using `cert`.
  std::string failure_with(const std::string& cert, const std::string& host = "localhost") {
    Loop loop;
    std::string message;
    sync_wait(loop, with_tls_server(pki_, cert, "", [&](SocketAddress a) -> Task<void> {
                auto r = co_await get_hello(trusting_ca(),
                                            "https://" + host + ":" + std::to_string(a.port()));
                EXPECT_FALSE(r);
                if (!r) {
                  EXPECT_EQ(r.error(), errc::tls_failed);
                  message = r.error().message();
                }
              }));
    return message;
  }

  testing::Pki pki_;
};

TEST_F(Tls, ClientAndServerTalk) {
  Loop loop;
  sync_wait(loop, with_tls_server(pki_, "server", "", [&](SocketAddress a) -> Task<void> {
              auto by_name = co_await get_hello(trusting_ca(),
                                                "https://localhost:" + std::to_string(a.port()));
              EXPECT_EQ(by_name.value(), "hello over tls\n");
              auto by_ip = co_await get_hello(trusting_ca(),
                                              "https://127.0.0.1:" + std::to_string(a.port()));
              EXPECT_EQ(by_ip.value(), "hello over tls\n");
            }));
}

TEST_F(Tls, WrongHostnameIsNamed) {
  const std::string m = failure_with("other-host");
  EXPECT_NE(m.find("hostname mismatch"), std::string::npos) << m;
}

TEST_F(Tls, ExpiredCertificateIsNamed) {
  const std::string m = failure_with("expired");
  EXPECT_NE(m.find("certificate has expired"), std::string::npos) << m;
}

TEST_F(Tls, UnknownCaIsNamed) {
  const std::string m = failure_with("rogue");
  EXPECT_NE(m.find("unable to get local issuer certificate"), std::string::npos) << m;
}

TEST_F(Tls, InsecureSkipsVerification) {
  Loop loop;
  sync_wait(loop, with_tls_server(pki_, "rogue", "", [&](SocketAddress a) -> Task<void> {
              auto insecure = TlsClientConfig{.insecure = true}.build().value();
              auto r =
                  co_await get_hello(insecure, "https://localhost:" + std::to_string(a.port()));
              EXPECT_EQ(r.value(), "hello over tls\n");
            }));
}

TEST_F(Tls, MutualTls) {
  Loop loop;
  sync_wait(loop, with_tls_server(pki_, "server", "ca.pem", [&](SocketAddress a) -> Task<void> {
              const std::string url = "https://localhost:" + std::to_string(a.port());
              auto with_cert = co_await get_hello(trusting_ca("client.pem", "client.key"), url);
              EXPECT_EQ(with_cert.value(), "hello over tls\n");
              auto without = co_await get_hello(trusting_ca(), url);
              EXPECT_FALSE(without);
            }));
}

TEST_F(Tls, ServerReloadsChangedCertificates) {
  auto tls = TlsServerContext::create({.certificate_file = pki_.path("server.pem"),
                                       .key_file = pki_.path("server.key"),
                                       .reload_check_interval = 0ms})
                 .value();
  auto before = tls->current();
  EXPECT_EQ(tls->reloads(), 0u);
  std::filesystem::copy_file(pki_.path("other-host.pem"), pki_.path("server.pem"),
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(pki_.path("other-host.key"), pki_.path("server.key"),
                             std::filesystem::copy_options::overwrite_existing);
  const auto later = std::filesystem::file_time_type::clock::now() + 10s;
  std::filesystem::last_write_time(pki_.path("server.pem"), later);
  std::filesystem::last_write_time(pki_.path("server.key"), later);
  auto after = tls->current();
  EXPECT_EQ(tls->reloads(), 1u);
  EXPECT_NE(before.get(), after.get());
  EXPECT_EQ(tls->current().get(), after.get()) << "no reload without a change";
}

TEST_F(Tls, BadFilesAreNamed) {
  auto missing = TlsServerContext::create(
      {.certificate_file = pki_.path("nope.pem"), .key_file = pki_.path("server.key")});
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message().find("cannot load server certificate"), std::string::npos);
  auto mismatched = TlsServerContext::create(
      {.certificate_file = pki_.path("server.pem"), .key_file = pki_.path("client.key")});
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message().find("cannot load server key"), std::string::npos);
}

// Interop: the project's client against `openssl s_server`.
TEST_F(Tls, ClientAgainstOpensslServer) {
  Loop loop;
  std::uint16_t port = 0;
  {
    auto probe = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    port = probe.local_address().port();
  }
  const std::string command = "openssl s_server -accept 127.0.0.1:" + std::to_string(port) +
                              " -cert " + pki_.path("server.pem") + " -key " +
                              pki_.path("server.key") + " -www -naccept 1 2>&1";
  sync_wait(loop, [&]() -> Task<void> {
    // Start s_server and wait for its "ACCEPT" line (it is listening then).
    auto start = [command]() -> FILE* {
      FILE* p = ::popen(command.c_str(), "r");
      char line[512];
      while (p != nullptr && std::fgets(line, sizeof line, p) != nullptr) {
        if (std::string_view(line).starts_with("ACCEPT")) return p;
      }
      return p;
    };
    FILE* server = (co_await offload(std::move(start))).value();
    EXPECT_NE(server, nullptr);
    {
      HttpClient client({.tls = trusting_ca()});
      auto r = co_await client.request(
          Origin::parse("https://localhost:" + std::to_string(port)).value(), {.target = "/"});
      EXPECT_TRUE(r) << r.error().message();
      if (r) {
        EXPECT_EQ(r->status(), 200);
        const std::string page = (co_await r->body().read_all()).value_or("");
        EXPECT_NE(page.find("s_server"), std::string::npos) << page.substr(0, 200);
      }
    }  // the connection closes, and s_server (-naccept 1) exits
    auto finish = [server] { return ::pclose(server); };
    (void)co_await offload(std::move(finish));
  }());
}

// Interop: `openssl s_client` against the project's server.
TEST_F(Tls, OpensslClientAgainstServer) {
  Loop loop;
  sync_wait(loop, with_tls_server(pki_, "server", "", [&](SocketAddress a) -> Task<void> {
              const std::string command =
                  "printf 'GET /hello HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: "
                  "close\\r\\n\\r\\n' | "
                  "openssl s_client -connect 127.0.0.1:" +
                  std::to_string(a.port()) + " -servername localhost -CAfile " +
                  pki_.path("ca.pem") +
                  " -verify_return_error -verify_hostname localhost -quiet -ign_eof 2>&1";
              auto out = co_await testing::run_command(command);
              EXPECT_NE(out.output.find("HTTP/1.1 200 OK"), std::string::npos) << out.output;
              EXPECT_NE(out.output.find("hello over tls"), std::string::npos) << out.output;
            }));
}

}  // namespace
}  // namespace cipherline::http

namespace cipherline::http {
namespace {

// Small records (4 KiB fragments, buffers released when idle) carry bodies
// of any size both ways, and the plaintext buffer shrinks with them.
TEST(TlsSmallRecords, CarryLargeBodiesBothWays) {
  testing::Pki pki;
  pki.make_standard_set();
  auto tls = TlsServerContext::create(
                 {.certificate_file = pki.path("server.pem"), .key_file = pki.path("server.key")})
                 .value();
  Router router;
  router.add("POST", "/echo", [](Request& request, ResponseWriter& w) -> Task<void> {
    auto body = co_await request.body.read_all();
    (void)co_await w.respond(200, {}, body.value());
  });
  HttpServer server(std::move(router));
  auto small =
      TlsClientConfig{
          .use_system_roots = false, .ca_file = pki.path("ca.pem"), .small_records = true}
          .build()
          .value();
  EXPECT_EQ(small->record_size(), 4096u);
  std::string payload(200 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<char>(i * 131 % 251);
  Loop loop;
  sync_wait(loop, [&]() -> Task<void> {
    auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    const auto port = listener.local_address().port();
    std::stop_source stop;
    TaskScope scope;
    scope.spawn(with_stop_token(server.serve_tls(listener, tls), stop.get_token()));
    HttpClient client({.tls = small});
    for (int i = 0; i < 3; ++i) {  // again on the kept-alive connection (buffers re-made)
      auto r = co_await client.request(
          Origin::parse("https://localhost:" + std::to_string(port)).value(),
          {.method = "POST", .target = "/echo", .body = payload});
      EXPECT_TRUE(r);
      if (!r) break;
      auto body = co_await r->body().read_all();
      EXPECT_TRUE(body && *body == payload);
    }
    EXPECT_EQ(client.connections_made(), 1u);
    stop.request_stop();
    co_await scope.join();
  }());
}

// pump copies `from` to `to` until `from` ends, counting the bytes.
Task<void> pump(TcpStream& from, TcpStream& to, std::size_t& count) {
  while (true) {
    auto bytes = co_await from.read();
    if (!bytes || bytes->empty()) break;
    count += bytes->size();
    if (!co_await to.write(ConstBuffer(*bytes))) break;
  }
  to.close();
}

// Buffers written together that fit one record leave as one record (one
// seal, one header: what an HTTP chunk's size line, data and CRLF cost),
// counted on the wire by a TCP tap between client and server.
TEST(TlsRecords, BuffersThatFitOneRecordLeaveAsOne) {
  testing::Pki pki;
  pki.make_standard_set();
  auto server_tls = TlsServerContext::create({.certificate_file = pki.path("server.pem"),
                                              .key_file = pki.path("server.key")})
                        .value();
  auto client_tls =
      TlsClientConfig{.use_system_roots = false, .ca_file = pki.path("ca.pem")}.build().value();
  // TLS 1.3: a 5-byte header, the content type and a 16-byte tag.
  constexpr std::size_t kRecordOverhead = 22;
  Loop loop;
  sync_wait(loop, [&]() -> Task<void> {
    auto front = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    auto back = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
    std::size_t upstream = 0, downstream = 0;
    std::optional<TcpStream> tapped_client, tapped_server;
    auto tap = [&]() -> Task<void> {
      auto in = co_await front.accept();
      auto out = co_await TcpStream::connect(back.local_address());
      if (!in || !out) co_return;
      tapped_client.emplace(std::move(*in));
      tapped_server.emplace(std::move(*out));
      TaskScope pumps;
      pumps.spawn(pump(*tapped_client, *tapped_server, upstream));
      pumps.spawn(pump(*tapped_server, *tapped_client, downstream));
      co_await pumps.join();
    };
    TaskScope scope;
    scope.spawn(tap());
    auto accepting = [&]() -> Task<Result<std::unique_ptr<TlsStream>, Error>> {
      auto tcp = co_await back.accept();
      if (!tcp) co_return Error(tcp.error(), "accept");
      co_return co_await TlsStream::accept(std::move(*tcp), server_tls->current());
    };
    auto client_tcp = co_await TcpStream::connect(front.local_address());
    EXPECT_TRUE(client_tcp);
    if (!client_tcp) co_return;
    auto [client, server] = co_await when_all(
        TlsStream::connect(std::move(*client_tcp), client_tls, "localhost"), accepting());
    EXPECT_TRUE(client && server);
    if (!client || !server) co_return;
    // Whatever the handshake left in flight (session tickets) arrives first.
    const std::string probe = "x";
    EXPECT_TRUE(co_await (*server)->write_one(as_bytes(probe)));
    EXPECT_TRUE(co_await (*client)->read());
    const std::size_t before = upstream;
    const std::string size_line = "c8\r\n", data(200, 'd'), crlf = "\r\n";
    const ConstBuffer parts[] = {as_bytes(size_line), as_bytes(data), as_bytes(crlf)};
    EXPECT_TRUE(co_await (*client)->write(parts));
    std::string got;
    while (got.size() < 206) {
      auto r = co_await (*server)->read();
      EXPECT_TRUE(r);
      if (!r) break;
      got.append(reinterpret_cast<const char*>(r->data()), r->size());
    }
    EXPECT_EQ(got, size_line + data + crlf);
    EXPECT_EQ(upstream - before, 206 + kRecordOverhead);
    (*client)->close();
    (*server)->close();
    co_await scope.join();
  }());
}

}  // namespace
}  // namespace cipherline::http
