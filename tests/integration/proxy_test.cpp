// cipherline's proxy in process, in front of the development backend:
// health, metrics, refusal before verification, API-key adoption (each
// request still judged by its own key), local callers only (no rebinding
// page's Host, no web page's Origin), clear 4xx errors for bad input, the
// verification document and the dashboard page; errors in the shapes the
// official SDKs parse, GET /v1/models/{id}, --dump-requests; the in-process
// client's retries (only what reached no worker).
#include <gtest/gtest.h>
#include <unistd.h>

#include <simdjson.h>
#include <cstring>

#include "../http/server_fixture.hpp"
#include "cipherline/client/error.hpp"
#include "cipherline/client/proxy.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using testing::client_options;
using testing::with_backend;
using testing::with_proxy;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

struct Reply {
  int status = 0;
  std::string body;
  http::Headers headers{};

  std::string header(std::string_view name) const {
    return std::string(headers.get(name).value_or(""));
  }
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
  co_return Reply{r->status(), text ? *text : text.error().message(), r->head().headers};
}

// The check named `name` in a report's JSON ("checks": [{name, ...}]).
simdjson::dom::object check_named(simdjson::simdjson_result<simdjson::dom::element> report,
                                  std::string_view name) {
  simdjson::dom::array checks;
  if (report["checks"].get(checks) != simdjson::SUCCESS) {
    ADD_FAILURE() << "no checks";
    return {};
  }
  for (const simdjson::dom::object check : checks) {
    if (check["name"].get_string().value() == name) return check;
  }
  ADD_FAILURE() << "no check " << name;
  return {};
}

std::uint64_t sum_of(simdjson::dom::array numbers) {
  std::uint64_t sum = 0;
  for (const auto n : numbers) sum += n.get_uint64().value();
  return sum;
}

std::string manifest_sha256(backend::DevBackend& b) {
  const std::string manifest = testing::read_text(b.state_dir() / "manifest.json");
  return crypto::to_hex(crypto::sha256(std::as_bytes(std::span(manifest))));
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
          EXPECT_EQ(unknown.status, 400) << unknown.body;
          // One JSON document in the OpenAI shape: the gateway's message,
          // not its bytes, and its code.
          EXPECT_EQ(unknown.body,
                    R"({"error":{"message":"gateway (unauthenticated): model \"no-such-model\" )"
                    R"(is not served here","type":"invalid_request_error",)"
                    R"("code":"model_not_found"}})");
          EXPECT_EQ(unknown.header("Content-Type"), "application/json");

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
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        auto client = client_options(b);
        client.session.manifest.back() = std::byte{'\t'};  // not the backend's manifest
        co_await with_proxy(
            {.client = client}, [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
              http::HttpClient http({.proxy = http::ProxySettings{}});
              for (int i = 0; i < 200 && proxy.failure().find("mismatch") == std::string::npos;
                   ++i) {
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
              // The verification document names the failed check, with
              // the report that failed it.
              auto v = co_await call(http, at, "GET", "/verification");
              simdjson::dom::parser parser;
              const simdjson::dom::element doc = parser.parse(v.body);
              EXPECT_FALSE(doc["verified"].get_bool().value());
              EXPECT_TRUE(doc["failure"].get_string().value().starts_with("manifest mismatch"))
                  << v.body;
              const auto report = doc["coordinator"]["report"];
              EXPECT_FALSE(report["passed"].get_bool().value());
              EXPECT_FALSE(check_named(report, "manifest")["passed"].get_bool().value());
              EXPECT_TRUE(check_named(report, "nonce")["passed"].get_bool().value());
              EXPECT_TRUE(doc["secret"].is_null());
              const auto errors = doc["last_errors"].get_array().value();
              EXPECT_GE(errors.size(), 1u);
              if (errors.size() >= 1) {
                const simdjson::dom::object first = errors.at(0).get_object().value();
                EXPECT_EQ(first["reason"].get_string().value(), "manifest mismatch");
                EXPECT_TRUE(first["route"].is_null());  // the background verification
              }
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
                std::pair{"GET", "/healthz"}, std::pair{"GET", "/metrics"},
                std::pair{"GET", "/verification"}, std::pair{"GET", "/dashboard"}}) {
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
          // A foreign page may not read the verification or frame the dashboard.
          for (const std::string path : {"/verification", "/dashboard"}) {
            auto r =
                co_await call(http, at, "GET", path, "", {{"Origin", "http://attacker.example"}});
            EXPECT_EQ(r.status, 403) << path << ": " << r.body;
            EXPECT_NE(r.body.find(R"(Origin \"http://attacker.example\" is not allowed)"),
                      std::string::npos)
                << r.body;
            EXPECT_EQ(r.body.find("measurement"), std::string::npos) << r.body;
            EXPECT_EQ(r.body.find("<html"), std::string::npos) << r.body;
          }

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

// GET /verification follows the proxy: nothing before verification, then
// the session's own evidence and secret, and the counters of /metrics.
TEST(Proxy, VerificationDocumentFollowsTheSession) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        // Without an API key nothing is verified until a request brings one.
        auto options = client_options(b, "");
        const auto workspace = b.state_dir() / "proxy-workspace";
        options.session.workspace = workspace;
        co_await with_proxy(
            {.client = options},
            [&b, &workspace](client::Proxy& proxy, SocketAddress at) -> Task<void> {
              http::HttpClient http({.proxy = http::ProxySettings{}});
              simdjson::dom::parser parser;
              auto before = co_await call(http, at, "GET", "/verification");
              EXPECT_EQ(before.status, 200) << before.body;
              EXPECT_EQ(before.header("Content-Type"), "application/json");
              EXPECT_EQ(before.header("X-Content-Type-Options"), "nosniff");
              {
                const simdjson::dom::element v = parser.parse(before.body);
                EXPECT_FALSE(v["verified"].get_bool().value());
                EXPECT_EQ(v["failure"].get_string().value(), "verification has not run yet");
                EXPECT_TRUE(v["coordinator"].is_null());
                EXPECT_TRUE(v["secret"].is_null());
                EXPECT_TRUE(v["capture_id"].is_null());
                EXPECT_EQ(v["manifest_history"].get_array().value().size(), 0u);
                EXPECT_EQ(v["manifest_sha256"].get_string().value(), manifest_sha256(b));
                EXPECT_EQ(v["endpoint"].get_string().value(),
                          "https://127.0.0.1:" + std::to_string(b.address().port()));
                EXPECT_EQ(v["counters"]["verified"].get_int64().value(), 0);
                EXPECT_EQ(v["series"]["requests_per_second"].get_array().value().size(),
                          client::ProxyMetrics::kSeriesSeconds);
                EXPECT_EQ(v["last_errors"].get_array().value().size(), 0u);
              }

              const http::Headers key{{"Authorization", "Bearer dev"}};
              auto chat = co_await call(
                  http, at, "POST", "/v1/chat/completions",
                  R"({"model":"synthetic","messages":[{"role":"user","content":"verify me"}]})",
                  key);
              EXPECT_EQ(chat.status, 200) << chat.body;
              auto after = co_await call(http, at, "GET", "/verification");
              const client::Session& session = proxy.client().session();
              const attest::VerificationReport* report = session.last_report();
              EXPECT_NE(report, nullptr);
              if (!report) co_return;
              {
                const simdjson::dom::element v = parser.parse(after.body);
                EXPECT_TRUE(v["verified"].get_bool().value()) << after.body;
                EXPECT_TRUE(v["failure"].is_null());
                const auto coordinator = v["coordinator"];
                EXPECT_EQ(coordinator["evidence_type"].get_string().value(), "SEV-SNP");
                EXPECT_EQ(coordinator["measurement"].get_string().value(),
                          *report->find_claim("snp[0]: measurement"));
                EXPECT_EQ(coordinator["tcb"]["snp[0]: current TCB"].get_string().value(),
                          *report->find_claim("snp[0]: current TCB"));
                // The report itself, as JSON (not a string), equal to the session's.
                EXPECT_TRUE(coordinator["report"]["passed"].get_bool().value());
                EXPECT_EQ(coordinator["report"]["checks"].get_array().value().size(),
                          report->checks().size());
                const auto manifest = check_named(coordinator["report"], "manifest");
                EXPECT_TRUE(manifest["passed"].get_bool().value());
                EXPECT_EQ(manifest["actual"].get_string().value(), "SHA-256 " + manifest_sha256(b));
                const auto secret = v["secret"];
                EXPECT_EQ(secret["id"].get_string().value(), session.secret_id());
                EXPECT_EQ(secret["id"].get_string().value().size(), 44u);
                // Age and time to rotation add up to the usable time less the margin.
                const auto cycle =
                    std::chrono::duration_cast<std::chrono::seconds>(
                        session.options().usable_for - session.options().refresh_margin)
                        .count();
                const auto age = secret["age_seconds"].get_int64().value();
                const auto next = secret["next_rotation_seconds"].get_int64().value();
                EXPECT_GE(age, 0);
                EXPECT_GT(next, 0);
                EXPECT_NEAR(age + next, cycle, 1);
                EXPECT_EQ(secret["exchanges"].get_uint64().value(), 1u);
                // The attestation, in the history and captured under the ID shown.
                const auto id = std::string(v["capture_id"].get_string().value());
                EXPECT_EQ(id, session.last_capture_id());
                EXPECT_TRUE(std::filesystem::exists(workspace / "captures" / id / "capture.json"));
                const auto history = v["manifest_history"].get_array().value();
                EXPECT_EQ(history.size(), 1u);
                for (const auto entry : history) {
                  EXPECT_EQ(entry["manifest_sha256"].get_string().value(), manifest_sha256(b));
                  EXPECT_EQ(entry["verdict"].get_string().value(), "accepted");
                  EXPECT_EQ(entry["capture_id"].get_string().value(), id);
                }
                EXPECT_EQ(v["counters"]["verified"].get_int64().value(), 1);
                bool counted = false;
                for (const simdjson::dom::object r :
                     simdjson::dom::array(v["counters"]["requests"].get_array().value())) {
                  counted |= r["route"].get_string().value() == "/v1/chat/completions" &&
                             r["status"].get_int64().value() == 200 &&
                             r["count"].get_uint64().value() == 1;
                }
                EXPECT_TRUE(counted) << after.body;
              }

              // A streamed answer and a gateway error move the counters, the
              // series and the last errors.
              auto streamed = co_await call(
                  http, at, "POST", "/v1/chat/completions",
                  R"({"model":"synthetic","stream":true,"messages":[{"role":"user","content":"one two three"}]})",
                  key);
              EXPECT_EQ(streamed.status, 200) << streamed.body;
              auto unknown = co_await call(
                  http, at, "POST", "/v1/chat/completions",
                  R"({"model":"no-such-model","messages":[{"role":"user","content":"x"}]})", key);
              EXPECT_EQ(unknown.status, 400) << unknown.body;
              auto later = co_await call(http, at, "GET", "/verification");
              auto metrics = co_await call(http, at, "GET", "/metrics");
              {
                const simdjson::dom::element v = parser.parse(later.body);
                const auto counters = v["counters"];
                EXPECT_EQ(counters["streams"].get_uint64().value(), 1u);
                const auto events = counters["events"].get_uint64().value();
                EXPECT_GT(events, 3u);
                // The same numbers as /metrics.
                EXPECT_NE(metrics.body.find("cipherline_proxy_stream_events_total " +
                                            std::to_string(events) + "\n"),
                          std::string::npos)
                    << metrics.body;
                EXPECT_EQ(counters["failures"]["gateway error"].get_uint64().value(), 1u);
                std::uint64_t requests = 0;
                for (const simdjson::dom::object r :
                     simdjson::dom::array(counters["requests"].get_array().value())) {
                  requests += r["count"].get_uint64().value();
                }
                EXPECT_EQ(requests, 3u);
                // Every request of this test falls in the last ten minutes.
                const auto series = v["series"];
                EXPECT_EQ(sum_of(series["requests_per_second"].get_array().value()), requests);
                std::size_t timed = 0;
                for (const auto ms :
                     simdjson::dom::array(series["token_interval_ms"].get_array().value())) {
                  if (ms.is_null()) continue;
                  ++timed;
                  EXPECT_GE(ms.get_double().value(), 0.0);
                }
                EXPECT_GE(timed, 1u);
                const auto errors = v["last_errors"].get_array().value();
                EXPECT_EQ(errors.size(), 1u);
                const simdjson::dom::object error = errors.at(0).get_object().value();
                EXPECT_EQ(error["reason"].get_string().value(), "gateway error");
                EXPECT_EQ(error["route"].get_string().value(), "/v1/chat/completions");
                EXPECT_TRUE(error["time"].get_string().value().ends_with("Z"));
                // Labels only: nothing of the request's content.
                EXPECT_EQ(later.body.find("no-such-model"), std::string::npos);
                EXPECT_EQ(later.body.find("one two three"), std::string::npos);
              }
            });
      }));
}

// GET /dashboard: one page, every byte from the proxy, a strict CSP that
// admits exactly its own inline script and style.
TEST(Proxy, DashboardIsSelfContained) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        co_await with_proxy(
            {.client = client_options(b)}, [](client::Proxy&, SocketAddress at) -> Task<void> {
              http::HttpClient http({.proxy = http::ProxySettings{}});
              auto page = co_await call(http, at, "GET", "/dashboard");
              EXPECT_EQ(page.status, 200);
              EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
              EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
              const std::string csp = page.header("Content-Security-Policy");
              EXPECT_TRUE(csp.starts_with("default-src 'none'; ")) << csp;
              EXPECT_NE(csp.find("connect-src 'self'"), std::string::npos) << csp;
              EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
              EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
              EXPECT_EQ(csp.find("http"), std::string::npos) << csp;
              // The inline script and style, each admitted by its hash.
              const auto hash_of = [&](std::string_view open, std::string_view close) {
                const auto start = page.body.find(open);
                const auto end = page.body.find(close);
                EXPECT_NE(start, std::string::npos) << open;
                EXPECT_EQ(page.body.find(open, start + 1), std::string::npos) << "one " << open;
                if (start == std::string::npos || end == std::string::npos) return std::string();
                const std::string_view inner = std::string_view(page.body).substr(
                    start + open.size(), end - start - open.size());
                return crypto::to_base64(crypto::sha256(std::as_bytes(std::span(inner))));
              };
              EXPECT_NE(csp.find("script-src 'sha256-" + hash_of("<script>", "</script>") + "'"),
                        std::string::npos)
                  << csp;
              EXPECT_NE(csp.find("style-src 'sha256-" + hash_of("<style>", "</style>") + "'"),
                        std::string::npos)
                  << csp;
              // Nothing from elsewhere: no URL with a scheme or a host, no
              // src or href at all, no CSS import or url().
              for (const std::string_view outside :
                   {"http://", "https://", "src=", "href=", "@import", "url(", "innerHTML",
                    "outerHTML", "insertAdjacentHTML", "document.write"}) {
                EXPECT_EQ(page.body.find(outside), std::string::npos) << outside;
              }
              // It reads the verification document, from its own origin.
              EXPECT_NE(page.body.find("fetch('/verification'"), std::string::npos);
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

TEST(Proxy, ModelsByIdAndErrorsInTheSdkShapes) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        co_await with_proxy(
            {.client = client_options(b)},
            [](client::Proxy& proxy, SocketAddress at) -> Task<void> {
              http::HttpClient http({.proxy = http::ProxySettings{}});
              for (int i = 0; i < 200 && !proxy.verified(); ++i) {
                (void)co_await sleep_for(std::chrono::milliseconds(20));
              }
              auto one = co_await call(http, at, "GET", "/v1/models/synthetic");
              EXPECT_EQ(one.status, 200) << one.body;
              EXPECT_EQ(
                  one.body,
                  R"({"id":"synthetic","object":"model","created":0,"owned_by":"cipherline"})");
              auto none = co_await call(http, at, "GET", "/v1/models/no-such-model");
              EXPECT_EQ(none.status, 404) << none.body;
              EXPECT_EQ(none.body,
                        R"({"error":{"message":"The model \"no-such-model\" does not exist",)"
                        R"("type":"not_found_error","code":"model_not_found"}})");
              // Anthropic's shape on /v1/messages, for the proxy's own
              // errors and the gateway's.
              auto bad = co_await call(http, at, "POST", "/v1/messages", "{\"model\":");
              EXPECT_EQ(bad.status, 400);
              EXPECT_TRUE(bad.body.starts_with(
                  R"({"type":"error","error":{"type":"invalid_request_error","message":")"))
                  << bad.body;
              auto unknown = co_await call(
                  http, at, "POST", "/v1/messages",
                  R"({"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"x"}]})");
              EXPECT_EQ(unknown.status, 400) << unknown.body;
              EXPECT_EQ(unknown.body,
                        R"({"type":"error","error":{"type":"invalid_request_error","message":)"
                        R"("gateway (unauthenticated): model \"claude-x\" is not served here"}})");
              // The model's own error, sealed by the worker and opened by
              // the proxy, is in the route's shape too.
              auto wrong = co_await call(http, at, "POST", "/v1/embeddings",
                                         R"({"model":"synthetic","input":[1]})");
              EXPECT_EQ(wrong.status, 400) << wrong.body;
              EXPECT_NE(wrong.body.find(R"("type":"invalid_request_error","code":null)"),
                        std::string::npos)
                  << wrong.body;
              // A model name that cannot be a header value is the caller's
              // mistake, named (not a 500).
              auto control = co_await call(
                  http, at, "POST", "/v1/chat/completions",
                  R"({"model":"a\r\nX-Injected: 1","messages":[{"role":"user","content":"x"}]})");
              EXPECT_EQ(control.status, 400) << control.body;
              EXPECT_NE(control.body.find("control character"), std::string::npos) << control.body;
              // It came from a worker: the SDKs must not resend it.
              EXPECT_EQ(wrong.header("x-should-retry"), "false");
              // Refused before forwarding: no x-should-retry header.
              EXPECT_EQ(bad.header("x-should-retry"), "");
            });
        // A wrong key, each request bringing its own: 401 authentication_error.
        co_await with_proxy(
            {.client = client_options(b, "")}, [](client::Proxy&, SocketAddress at) -> Task<void> {
              http::HttpClient http({.proxy = http::ProxySettings{}});
              auto wrong = co_await call(
                  http, at, "POST", "/v1/chat/completions",
                  R"({"model":"synthetic","messages":[{"role":"user","content":"x"}]})",
                  {{"Authorization", "Bearer wrong"}});
              EXPECT_EQ(wrong.status, 401);
              EXPECT_NE(
                  wrong.body.find(R"("type":"authentication_error","code":"invalid_api_key")"),
                  std::string::npos)
                  << wrong.body;
            });
      }));
}

// The files of a --dump-requests directory, sorted by name.
std::vector<std::filesystem::path> files_in(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(Proxy, DumpsPlaintextOnlyWhenAsked) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("cipherline-dump-" + std::to_string(::getpid()));
  const auto off = dir / "off";
  const auto on = dir / "on";
  std::filesystem::create_directories(off);
  std::filesystem::create_directories(on);
  Loop loop;
  sync_wait(
      loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
        const auto ask = [](SocketAddress at) -> Task<void> {
          http::HttpClient http({.proxy = http::ProxySettings{}});
          auto unary = co_await call(
              http, at, "POST", "/v1/chat/completions",
              R"({"model":"synthetic","messages":[{"role":"user","content":"dumped prompt one"}]})",
              {{"Authorization", "Bearer dev"}});
          EXPECT_EQ(unary.status, 200) << unary.body;
          auto streamed = co_await call(
              http, at, "POST", "/v1/chat/completions",
              R"({"model":"synthetic","stream":true,"messages":[{"role":"user","content":"dumped prompt two"}]})",
              {{"Authorization", "Bearer dev"}});
          EXPECT_EQ(streamed.status, 200) << streamed.body;
        };
        // Without the option, nothing is written (here: the cwd is not
        // touched either, which the empty `off` stands for).
        client::ProxyOptions quiet{.client = client_options(b)};
        co_await with_proxy(quiet, [&](client::Proxy& proxy, SocketAddress at) -> Task<void> {
          for (int i = 0; i < 200 && !proxy.verified(); ++i) {
            (void)co_await sleep_for(std::chrono::milliseconds(20));
          }
          co_await ask(at);
        });
        client::ProxyOptions dumping{.client = client_options(b)};
        dumping.dump_requests = on;
        co_await with_proxy(dumping, [&](client::Proxy& proxy, SocketAddress at) -> Task<void> {
          for (int i = 0; i < 200 && !proxy.verified(); ++i) {
            (void)co_await sleep_for(std::chrono::milliseconds(20));
          }
          co_await ask(at);
        });
      }));
  EXPECT_TRUE(files_in(off).empty());
  const auto files = files_in(on);
  ASSERT_EQ(files.size(), 4u);
  // Names sort by time: the unary pair first, each _req before _resp.
  EXPECT_TRUE(files[0].string().ends_with("_req.txt")) << files[0];
  EXPECT_TRUE(files[1].string().ends_with("_resp.txt")) << files[1];
  EXPECT_EQ(files[0].string().substr(0, files[0].string().size() - 8),
            files[1].string().substr(0, files[1].string().size() - 9));
  const std::string req1 = testing::read_text(files[0]);
  const std::string resp1 = testing::read_text(files[1]);
  const std::string req2 = testing::read_text(files[2]);
  const std::string resp2 = testing::read_text(files[3]);
  EXPECT_TRUE(req1.starts_with("POST /v1/chat/completions\n")) << req1;
  EXPECT_NE(req1.find("dumped prompt one"), std::string::npos) << req1;
  EXPECT_EQ(req1.find("Bearer"), std::string::npos) << "the API key is never dumped";
  EXPECT_TRUE(resp1.starts_with("200\nContent-Type: application/json\n\n")) << resp1;
  EXPECT_NE(resp1.find("\"object\":\"chat.completion\""), std::string::npos) << resp1;
  EXPECT_NE(req2.find("dumped prompt two"), std::string::npos) << req2;
  // The stream as decrypted event text, to its end.
  EXPECT_TRUE(resp2.starts_with("200\nContent-Type: text/event-stream")) << resp2;
  EXPECT_NE(resp2.find("data: {"), std::string::npos) << resp2;
  EXPECT_NE(resp2.find("chat.completion.chunk"), std::string::npos) << resp2;
  EXPECT_NE(resp2.find("data: [DONE]"), std::string::npos) << resp2;
  std::filesystem::remove_all(dir);
}

// A stand-in for the gateway, on plain TCP, one request per connection
// (answers say Connection: close, so no connection is reused): key-setup
// calls go to the real gateway; inference requests are counted and, while
// `cut`, the connection is closed after reading the request, without a
// byte of answer. (http::Server always answers a request, so this one is
// written on TcpListener.)
struct CuttingGateway {
  http::Origin gateway;
  http::HttpClient upstream;
  int inference = 0;
  bool cut = true;
  // Inference requests answered with the gateway's "not forwarded" 502
  // before the rest are relayed.
  int not_forwarded = 0;

  static http::Origin origin_of(const backend::DevBackend& b) {
    return {.scheme = "https", .host = "127.0.0.1", .port = b.address().port()};
  }
  explicit CuttingGateway(const backend::DevBackend& b)
      : gateway(origin_of(b)),
        upstream({.tls = client::tls_config(client_options(b).session).build().value(),
                  .proxy = http::ProxySettings{}}) {}

  Task<void> serve(TcpListener& listener) {
    TaskScope connections;
    while (true) {
      auto stream = co_await listener.accept();
      if (!stream) break;
      connections.spawn(one(std::move(*stream)));
    }
    co_await connections.join();
  }

  Task<void> one(TcpStream stream) {
    std::string in;
    std::size_t head_end = std::string::npos;
    std::size_t length = 0;
    while (head_end == std::string::npos || in.size() < head_end + 4 + length) {
      auto got = co_await stream.read();
      if (!got || got->empty()) co_return;
      in += as_string(*got);
      if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
        const auto at = in.find("Content-Length: ");
        if (at != std::string::npos && at < head_end) length = std::stoul(in.substr(at + 16));
      }
    }
    const std::string line = in.substr(0, in.find("\r\n"));
    const std::string method = line.substr(0, line.find(' '));
    const std::string target = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
    const bool inferring = target.starts_with("/v1/") && !target.starts_with("/v1/models");
    if (inferring) {
      ++inference;
      if (cut) {
        stream.close();
        co_return;
      }
      if (not_forwarded > 0) {
        --not_forwarded;
        const std::string body = protocol::error_body(
            protocol::ErrorDialect::openai, protocol::ErrorType::api,
            "no worker answered; the request was not forwarded: test", protocol::kCodeNotForwarded);
        const std::string out =
            "HTTP/1.1 502 Bad Gateway\r\nContent-Type: application/json\r\n"
            "Privatemode-Encrypted: false\r\nContent-Length: " +
            std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
        (void)co_await stream.write(as_bytes(out));
        (void)co_await stream.shutdown();
        co_return;
      }
    }
    http::ClientRequest forward{.method = method, .target = target};
    for (std::size_t at = in.find("\r\n") + 2; at < head_end;) {
      const auto end = in.find("\r\n", at);
      const std::string field = in.substr(at, end - at);
      const auto colon = field.find(':');
      const std::string name = field.substr(0, colon);
      if (!http::header_name_equals(name, "Host") &&
          !http::header_name_equals(name, "Content-Length")) {
        forward.headers.add(name, field.substr(colon + 2));
      }
      at = end + 2;
    }
    forward.body = in.substr(head_end + 4, length);
    auto response = co_await upstream.request(gateway, std::move(forward));
    if (!response) co_return;
    auto body = (co_await response->body().read_all()).value();
    std::string out = "HTTP/1.1 " + std::to_string(response->status()) + " X\r\n";
    for (const auto& [name, value] : response->head().headers.fields()) {
      if (http::header_name_equals(name, "Content-Type") ||
          (name.size() > 12 && http::header_name_equals(name.substr(0, 12), "Privatemode-"))) {
        out += name + ": " + value + "\r\n";
      }
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    out += body;
    (void)co_await stream.write(as_bytes(out));
    (void)co_await stream.shutdown();
  }
};

TEST(Client, AResponseCutOffIsNotResent) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              CuttingGateway cutting(b);
              auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
              auto options = client_options(b);
              options.session.endpoint = {
                  .scheme = "http", .host = "127.0.0.1", .port = listener.local_address().port()};
              std::stop_source stop;
              TaskScope scope;
              scope.spawn(with_stop_token(cutting.serve(listener), stop.get_token()));
              client::Client client(options);
              auto connected = co_await client.connect();
              EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
              auto r = co_await client.chat(testing::chat_request("run me once"));
              EXPECT_FALSE(r);
              if (!r) {
                EXPECT_EQ(r.error(), client::errc::response_cut_off) << r.error().message();
                EXPECT_NE(r.error().message().find("cut off"), std::string::npos)
                    << r.error().message();
                EXPECT_NE(r.error().message().find("not resent"), std::string::npos)
                    << r.error().message();
              }
              EXPECT_EQ(cutting.inference, 1);  // exactly one request arrived
              EXPECT_EQ(client.counters().retries, 0u);
              // Through the proxy the same failure is a 502 the SDKs do
              // not resend.
              co_await with_proxy(
                  {.client = options}, [&](client::Proxy& proxy, SocketAddress at) -> Task<void> {
                    for (int i = 0; i < 200 && !proxy.verified(); ++i) {
                      (void)co_await sleep_for(std::chrono::milliseconds(20));
                    }
                    http::HttpClient http({.proxy = http::ProxySettings{}});
                    auto reply = co_await call(http, at, "POST", "/v1/chat/completions",
                                               testing::chat_request("and once more"));
                    EXPECT_EQ(reply.status, 502) << reply.body;
                    EXPECT_NE(reply.body.find(R"("code":"response_cut_off")"), std::string::npos)
                        << reply.body;
                    EXPECT_EQ(reply.header("x-should-retry"), "false");
                  });
              EXPECT_EQ(cutting.inference, 2);
              co_await client.close();
              stop.request_stop();
              listener.close();
              co_await scope.join();
            }));
}

// The backend's servers mark their own answers (404, 413, …)
// unencrypted, so clients name them instead of failing to decrypt them.
TEST(Backend, ItsServersOwnAnswersAreMarkedUnencrypted) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        http::HttpClient http({.tls = client::tls_config(client_options(b).session).build().value(),
                               .proxy = http::ProxySettings{}});
        auto r = co_await http.request(CuttingGateway::origin_of(b),
                                       {.method = "GET", .target = "/v1/nowhere"});
        EXPECT_TRUE(r) << (r ? "" : r.error().message());
        if (!r) co_return;
        EXPECT_EQ(r->status(), 404);
        EXPECT_EQ(r->head().headers.get(protocol::kEncryptedHeader), "false");
        (void)co_await r->body().read_all();
      }));
}

TEST(Client, ARefusedConnectIsRetried) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              CuttingGateway relay(b);
              relay.cut = false;
              auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
              const auto address = listener.local_address();
              auto options = client_options(b);
              options.session.endpoint = {
                  .scheme = "http", .host = "127.0.0.1", .port = address.port()};
              std::stop_source stop;
              TaskScope scope;
              scope.spawn(with_stop_token(relay.serve(listener), stop.get_token()));
              client::Client client(options);
              auto connected = co_await client.connect();
              EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
              // Nothing listens: the connect is refused.
              listener.close();
              stop.request_stop();
              co_await scope.join();
              // Listening again once the client counted its retry (it waits 50 ms).
              std::stop_source stop2;
              TaskScope scope2;
              TcpListener again;
              const auto listen_again = [](client::Client& c, TcpListener& l, SocketAddress a,
                                           CuttingGateway& g) -> Task<void> {
                while (c.counters().retries == 0) {
                  if (!co_await sleep_for(std::chrono::milliseconds(1))) co_return;
                }
                l = TcpListener::bind(a);
                co_await g.serve(l);
              };
              scope2.spawn(
                  with_stop_token(listen_again(client, again, address, relay), stop2.get_token()));
              auto r = co_await client.chat(testing::chat_request("answered after a refusal"));
              EXPECT_TRUE(r) << (r ? "" : r.error().message());
              if (r) EXPECT_NE(r->find("answered after a refusal"), std::string::npos);
              EXPECT_EQ(client.counters().retries, 1u);
              EXPECT_EQ(relay.inference, 1);
              co_await client.close();
              stop2.request_stop();
              again.close();
              co_await scope2.join();
            }));
}

TEST(Client, TheGatewaysNotForwardedIsRetriedOnce) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              CuttingGateway relay(b);
              relay.cut = false;
              relay.not_forwarded = 1;
              auto listener = TcpListener::bind(SocketAddress::parse("127.0.0.1:0"));
              auto options = client_options(b);
              options.session.endpoint = {
                  .scheme = "http", .host = "127.0.0.1", .port = listener.local_address().port()};
              std::stop_source stop;
              TaskScope scope;
              scope.spawn(with_stop_token(relay.serve(listener), stop.get_token()));
              client::Client client(options);
              EXPECT_TRUE(co_await client.connect());
              auto r = co_await client.chat(testing::chat_request("after a refusal upstream"));
              EXPECT_TRUE(r) << (r ? "" : r.error().message());
              EXPECT_EQ(client.counters().retries, 1u);
              EXPECT_EQ(relay.inference, 2);
              // Twice: the second refusal is the answer (one retry only).
              relay.not_forwarded = 2;
              auto twice = co_await client.send(protocol::Route::chat_completions,
                                                testing::chat_request("refused twice"));
              EXPECT_TRUE(twice);
              if (twice) {
                EXPECT_EQ(twice->status(), 502);
                EXPECT_FALSE(twice->encrypted());
              }
              EXPECT_EQ(relay.inference, 4);
              co_await client.close();
              stop.request_stop();
              listener.close();
              co_await scope.join();
            }));
}

TEST(Client, RetrievesModelsAndNamesWhatIsWrong) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              client::Client client(client_options(b));
              EXPECT_TRUE(co_await client.connect());
              auto list = co_await client.list_models();
              EXPECT_TRUE(list && list->find("\"synthetic\"") != std::string::npos);
              auto one = co_await client.retrieve_model("synthetic");
              EXPECT_TRUE(one) << (one ? "" : one.error().message());
              if (one) EXPECT_NE(one->find(R"("id":"synthetic")"), std::string::npos) << *one;
              auto none = co_await client.retrieve_model("gpt-none");
              EXPECT_FALSE(none);
              if (!none) {
                EXPECT_EQ(none.error(), client::errc::bad_status);
                EXPECT_NE(none.error().message().find("404"), std::string::npos);
                EXPECT_NE(none.error().message().find("The model \"gpt-none\" does not exist"),
                          std::string::npos)
                    << none.error().message();
              }
              auto bad_id = co_await client.retrieve_model("a/b");
              EXPECT_FALSE(bad_id);
              // An unknown model: the gateway's 400 naming it.
              auto chat = co_await client.chat(
                  R"({"model":"gpt-none","messages":[{"role":"user","content":"x"}]})");
              EXPECT_FALSE(chat);
              if (!chat) {
                EXPECT_NE(chat.error().message().find("400"), std::string::npos);
                EXPECT_NE(chat.error().message().find("gpt-none"), std::string::npos)
                    << chat.error().message();
              }
              co_await client.close();
            }));
  // A wrong key: the exchange is refused as unauthorized.
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              client::Client client(client_options(b, "wrong"));
              auto r = co_await client.connect();
              EXPECT_FALSE(r);
              if (!r) EXPECT_EQ(r.error(), client::errc::unauthorized) << r.error().message();
              co_await client.close();
            }));
}

// The embedding of `answer`'s first item: floats, or base64 of little-endian
// float32 (OpenAI's encoding_format "base64").
std::vector<double> first_embedding(const std::string& answer) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::vector<double> out;
  if (parser.parse(answer).get(root) != simdjson::SUCCESS) return out;
  simdjson::dom::array data;
  if (root["data"].get(data) != simdjson::SUCCESS || data.size() == 0) return out;
  const auto embedding = data.at(0)["embedding"];
  std::string_view text;
  simdjson::dom::array numbers;
  if (embedding.get(text) == simdjson::SUCCESS) {
    auto bytes = crypto::from_base64(text);
    if (!bytes || bytes->size() % 4 != 0) return out;
    for (std::size_t i = 0; i < bytes->size(); i += 4) {
      std::uint32_t bits = 0;
      for (int b = 3; b >= 0; --b)
        bits = (bits << 8) | std::to_integer<std::uint32_t>((*bytes)[i + b]);
      float f;
      std::memcpy(&f, &bits, sizeof f);
      out.push_back(f);
    }
  } else if (embedding.get(numbers) == simdjson::SUCCESS) {
    for (const auto n : numbers) out.push_back(n.get_double().value());
  }
  return out;
}

// What the OpenAI SDK asks by default (encoding_format "base64") must be
// the float answer, encoded. Fails until the synthetic model honours
// encoding_format.
TEST(Client, EmbeddingsAsBase64MatchFloats) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        client::Client client(client_options(b));
        EXPECT_TRUE(co_await client.connect());
        const auto embed = [&](std::string format) -> Task<std::string> {
          auto r = co_await client.send(
              protocol::Route::embeddings,
              R"({"model":"synthetic","input":"embed me","encoding_format":")" + format + R"("})");
          if (!r) co_return r.error().message();
          auto body = co_await r->read_all();
          co_return body ? *body : body.error().message();
        };
        const std::string encoded = co_await embed("base64");
        const std::string floats = co_await embed("float");
        const auto a = first_embedding(encoded);
        const auto f = first_embedding(floats);
        EXPECT_FALSE(f.empty()) << floats;
        EXPECT_NE(encoded.find(R"("embedding":")"), std::string::npos)
            << "not base64: " << encoded.substr(0, 200);
        EXPECT_EQ(a.size(), f.size());
        for (std::size_t i = 0; i < std::min(a.size(), f.size()); ++i) {
          EXPECT_NEAR(a[i], f[i], 1e-6) << i;
        }
        co_await client.close();
      }));
}

}  // namespace
}  // namespace cipherline
