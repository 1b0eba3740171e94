// cipherline's proxy in process, in front of the development backend:
// health, metrics, refusal before verification, API-key adoption (each
// request still judged by its own key), local callers only (no rebinding
// page's Host, no web page's Origin), and clear 4xx errors for bad input.
#include <gtest/gtest.h>

#include "../http/server_fixture.hpp"
#include "cipherline/client/proxy.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using testing::client_options;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

struct Reply {
  int status = 0;
  std::string body;
};

Task<Reply> call(http::HttpClient& client, SocketAddress proxy, std::string method,
                 std::string target, std::string body = {}, http::Headers headers = {}) {
  auto r = co_await client.request(http::Origin::parse("http://" + proxy.to_string()).value(),
                                   {.method = std::move(method),
                                    .target = std::move(target),
                                    .headers = std::move(headers),
                                    .body = std::move(body)});
  if (!r) co_return Reply{0, r.error().message()};
  auto text = co_await r->body().read_all();
  co_return Reply{r->status(), text ? *text : text.error().message()};
}

// with_proxy runs a Proxy for `options` on a loopback port while `body` runs.
template <class Body>
Task<void> with_proxy(client::ProxyOptions options, Body body) {
  auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
  options.callers = options.callers.listening_on(listener.local_address());
  client::ProxyMetrics metrics;
  client::Proxy proxy(std::move(options), metrics);
  http::HttpServer server(proxy.router());
  std::stop_source stop;
  TaskScope scope;
  scope.spawn(with_stop_token(server.serve(listener), stop.get_token()));
  scope.spawn(with_stop_token(proxy.verify_until_ready(), stop.get_token()));
  co_await body(proxy, listener.local_address());
  stop.request_stop();
  co_await scope.join();
  co_await proxy.close();
}

TEST(Proxy, ServesVerifiedAndRefusesBadInput) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        client::ProxyOptions options{.client = client_options(b), .max_body = 64 * 1024};
        co_await with_proxy(options, [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
          http::HttpClient http({.proxy = http::ProxySettings{}});
          for (int i = 0; i < 200 && !proxy.verified(); ++i) {
            (void)co_await sleep_for(std::chrono::milliseconds(20));
          }
          auto health = co_await call(http, at, "GET", "/healthz");
          EXPECT_EQ(health.status, 200) << health.body;

          auto ok = co_await call(
              http, at, "POST", "/v1/chat/completions",
              R"({"model":"synthetic","messages":[{"role":"user","content":"through the proxy"}]})");
          EXPECT_EQ(ok.status, 200) << ok.body;
          EXPECT_NE(ok.body.find("through the proxy"), std::string::npos) << ok.body;

          auto invalid = co_await call(http, at, "POST", "/v1/chat/completions", "{\"model\":");
          EXPECT_EQ(invalid.status, 400);
          EXPECT_NE(invalid.body.find("not valid JSON"), std::string::npos) << invalid.body;

          auto no_model = co_await call(http, at, "POST", "/v1/embeddings", R"({"input":"x"})");
          EXPECT_EQ(no_model.status, 400);
          EXPECT_NE(no_model.body.find("missing \\\"model\\\""), std::string::npos)
              << no_model.body;

          auto huge =
              co_await call(http, at, "POST", "/v1/chat/completions", std::string(200 * 1024, ' '));
          EXPECT_EQ(huge.status, 413) << huge.body;

          auto short_salt =
              co_await call(http, at, "POST", "/v1/chat/completions",
                            R"({"model":"synthetic","cache_salt":"short","messages":[]})");
          EXPECT_EQ(short_salt.status, 400);
          EXPECT_NE(short_salt.body.find("cache_salt"), std::string::npos);

          // The gateway's own plaintext error (an unknown model) reaches the
          // caller as the proxy's JSON error, never as the gateway's bytes,
          // even for a caller that accepts only event streams.
          auto unknown = co_await call(
              http, at, "POST", "/v1/chat/completions",
              R"({"model":"no-such-model","stream":true,"messages":[{"role":"user","content":"x"}]})",
              {{"Accept", "text/event-stream"}});
          EXPECT_EQ(unknown.status, 404) << unknown.body;
          EXPECT_TRUE(
              unknown.body.starts_with(R"({"error":{"message":"gateway (unauthenticated): )"))
              << unknown.body;
          // One JSON document: the gateway's text only inside its message.
          EXPECT_EQ(unknown.body.find('\n'), std::string::npos) << unknown.body;
          EXPECT_TRUE(unknown.body.ends_with(R"(","type":"cipherline_proxy"}})")) << unknown.body;

          auto metrics = co_await call(http, at, "GET", "/metrics");
          EXPECT_EQ(metrics.status, 200);
          EXPECT_NE(
              metrics.body.find("cipherline_proxy_requests_total{route=\"/v1/chat/completions\","
                                "status=\"200\"} 1"),
              std::string::npos)
              << metrics.body;
          EXPECT_NE(metrics.body.find("cipherline_proxy_attest_seconds_count 1"),
                    std::string::npos);
          EXPECT_NE(metrics.body.find("cipherline_proxy_exchange_seconds_count 1"),
                    std::string::npos);
          EXPECT_NE(metrics.body.find("cipherline_proxy_verified 1"), std::string::npos);
        });
      }));
}

TEST(Proxy, RefusesEverythingBeforeVerificationAndSaysWhy) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto client = client_options(b);
              client.session.manifest.back() = std::byte{'\t'};  // not the backend's manifest
              co_await with_proxy(
                  {.client = client}, [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
                    http::HttpClient http({.proxy = http::ProxySettings{}});
                    for (int i = 0;
                         i < 200 && proxy.failure().find("mismatch") == std::string::npos; ++i) {
                      (void)co_await sleep_for(std::chrono::milliseconds(20));
                    }
                    auto health = co_await call(http, at, "GET", "/healthz");
                    EXPECT_EQ(health.status, 503);
                    auto r = co_await call(http, at, "POST", "/v1/chat/completions",
                                           R"({"model":"synthetic","messages":[]})");
                    EXPECT_EQ(r.status, 503);
                    EXPECT_NE(r.body.find("the backend is not verified: manifest mismatch"),
                              std::string::npos)
                        << r.body;
                  });
            }));
}

TEST(Proxy, ServesLocalCallersOnly) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        client::ProxyOptions options{.client = client_options(b)};
        co_await with_proxy(options, [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
          http::HttpClient http({.proxy = http::ProxySettings{}});
          for (int i = 0; i < 200 && !proxy.verified(); ++i) {
            (void)co_await sleep_for(std::chrono::milliseconds(20));
          }
          const std::string chat =
              R"({"model":"synthetic","messages":[{"role":"user","content":"local"}]})";
          // As curl sends it: Host 127.0.0.1:<port>, no Origin.
          auto local = co_await call(http, at, "POST", "/v1/chat/completions", chat);
          EXPECT_EQ(local.status, 200) << local.body;

          // A page whose name was rebound to 127.0.0.1: every route refused.
          const http::Headers rebound{{"Host", "attacker.example:" + std::to_string(at.port())}};
          for (const auto& [method, path] :
               {std::pair{"POST", "/v1/chat/completions"}, std::pair{"GET", "/v1/models"},
                std::pair{"GET", "/healthz"}, std::pair{"GET", "/metrics"}}) {
            auto r = co_await call(http, at, method, path,
                                   std::string(method) == "POST" ? chat : "", rebound);
            EXPECT_EQ(r.status, 421) << path << ": " << r.body;
            EXPECT_NE(r.body.find(R"({"error":{"message":"Host \"attacker.example:)"),
                      std::string::npos)
                << r.body;
          }
          // A cross-site form post (text/plain needs no CORS preflight).
          auto form = co_await call(
              http, at, "POST", "/v1/chat/completions", chat,
              {{"Content-Type", "text/plain"}, {"Origin", "http://attacker.example"}});
          EXPECT_EQ(form.status, 403) << form.body;
          EXPECT_NE(form.body.find(R"(Origin \"http://attacker.example\" is not allowed)"),
                    std::string::npos)
              << form.body;
          EXPECT_EQ(form.body.find("local"), std::string::npos);  // nothing was answered

          auto metrics = co_await call(http, at, "GET", "/metrics");
          EXPECT_NE(metrics.body.find("cipherline_proxy_requests_total{route=\"/metrics\","
                                      "status=\"421\"} 1"),
                    std::string::npos)
              << metrics.body;
          EXPECT_NE(metrics.body.find("cipherline_proxy_requests_total{route=\"/v1/chat/"
                                      "completions\",status=\"403\"} 1"),
                    std::string::npos)
              << metrics.body;
        });

        // A name and a web page the user allowed.
        options.callers =
            client::LocalCallers::create(
                {.allowed_hosts = {"llm.lan"}, .allowed_origins = {"http://localhost:3000"}})
                .value();
        co_await with_proxy(options, [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
          http::HttpClient http({.proxy = http::ProxySettings{}});
          for (int i = 0; i < 200 && !proxy.verified(); ++i) {
            (void)co_await sleep_for(std::chrono::milliseconds(20));
          }
          auto named = co_await call(http, at, "GET", "/healthz", "", {{"Host", "llm.lan"}});
          EXPECT_EQ(named.status, 200) << named.body;
          auto page = co_await call(
              http, at, "POST", "/v1/chat/completions",
              R"({"model":"synthetic","messages":[{"role":"user","content":"from a page"}]})",
              {{"Origin", "http://localhost:3000"}});
          EXPECT_EQ(page.status, 200) << page.body;
          EXPECT_NE(page.body.find("from a page"), std::string::npos) << page.body;
          auto other = co_await call(http, at, "GET", "/healthz", "",
                                     {{"Origin", "http://attacker.example"}});
          EXPECT_EQ(other.status, 403) << other.body;
        });
      }));
}

TEST(Proxy, AdoptsTheFirstRequestsApiKey) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        co_await with_proxy(
            {.client = client_options(b, "")},
            [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
              http::HttpClient http({.proxy = http::ProxySettings{}});
              const std::string request =
                  R"({"model":"synthetic","messages":[{"role":"user","content":"keyed"}]})";
              auto no_key = co_await call(http, at, "POST", "/v1/chat/completions", request);
              EXPECT_EQ(no_key.status, 503);
              EXPECT_NE(no_key.body.find("no API key"), std::string::npos) << no_key.body;
              auto wrong = co_await call(http, at, "POST", "/v1/chat/completions", request,
                                         {{"Authorization", "Bearer wrong"}});
              EXPECT_EQ(wrong.status, 401);  // spec §3.4: the caller's key was refused
              EXPECT_NE(wrong.body.find("trying API key: "), std::string::npos) << wrong.body;
              auto right = co_await call(http, at, "POST", "/v1/chat/completions", request,
                                         {{"Authorization", "Bearer dev"}});
              EXPECT_EQ(right.status, 200) << right.body;
              EXPECT_TRUE(proxy.verified());
              // Verified with "dev": each later request still needs a
              // key of its own, and the gateway judges it.
              auto anonymous = co_await call(http, at, "POST", "/v1/chat/completions", request);
              EXPECT_EQ(anonymous.status, 401) << anonymous.body;
              EXPECT_NE(anonymous.body.find("no API key"), std::string::npos) << anonymous.body;
              auto other = co_await call(http, at, "POST", "/v1/chat/completions", request,
                                         {{"Authorization", "Bearer wrong"}});
              EXPECT_EQ(other.status, 401) << other.body;
              auto models = co_await call(http, at, "GET", "/v1/models");
              EXPECT_EQ(models.status, 401) << models.body;
              models = co_await call(http, at, "GET", "/v1/models", "",
                                     {{"Authorization", "Bearer dev"}});
              EXPECT_EQ(models.status, 200) << models.body;
            });
      }));
}

}  // namespace
}  // namespace cipherline
