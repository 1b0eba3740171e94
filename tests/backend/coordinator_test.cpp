// Steps 1 and 3 of the chain of trust over HTTP on loopback, with the
// software TEE: the client attests the Coordinator (its evidence verified
// by attest/contrast against the expected manifest, bound to the client's
// nonce), takes the mesh CA from it, and exchanges a key with the secret
// service, whose mesh certificate the Coordinator issued.
#include "cipherline/backend/coordinator.hpp"

#include <gtest/gtest.h>

#include "../http/server_fixture.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/backend/secret_service.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/protocol/secret_exchange.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

std::string text_of(std::span<const std::byte> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

Task<std::pair<int, std::string>> post(http::HttpClient& client, SocketAddress a,
                                       std::string target, std::string body) {
  auto r = co_await client.request(
      http::Origin::parse("http://" + a.to_string()).value(),
      {.method = "POST", .target = std::move(target), .body = std::move(body)});
  if (!r) co_return std::pair{0, r.error().message()};
  co_return std::pair{r->status(), (co_await r->body().read_all()).value()};
}

TEST(Coordinator, AttestThenExchangeOverHttp) {
  const auto tee =
      attest::sim::DevelopmentSnpPki::generate(attest::snp::Product::genoa, system_clock::now())
          .value();
  const auto measurement = attest::sim::measurement_of(bytes_of("backend binary"));
  const std::string manifest =
      R"({"Policies":{")" + std::string(64, 'c') +
      R"(":{"SANs":["coordinator"],"Role":"coordinator"},")" + std::string(64, 'd') +
      R"(":{"SANs":["secret-service"]}},"ReferenceValues":{"snp":[{"ProductName":"Genoa","TrustedMeasurement":")" +
      crypto::to_hex(measurement) +
      R"(","MinimumTCB":{"BootloaderVersion":10,"TEEVersion":0,"SNPVersion":28,"MicrocodeVersion":88},"GuestPolicy":{"SMT":true},"PlatformInfo":{"SMTEnabled":true,"ECCEnabled":true,"AliasCheckComplete":true}}]}})";
  auto coordinator =
      Coordinator::create({.manifest = bytes_of(manifest), .tee = tee, .measurement = measurement})
          .value();
  const auto service_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  const auto service_certificate =
      coordinator.issue_mesh_certificate(service_key.public_key(), "secret-service").value();
  // Services are admitted once: their certificates outlast a long run.
  EXPECT_GE(service_certificate.not_after() - std::chrono::system_clock::now(),
            kMeshCertificateLifetime - std::chrono::hours(1));
  MemorySecretStore store;
  SecretService service(service_key, service_certificate, store);
  http::Router router;
  coordinator.add_routes(router);
  service.add_routes(router);
  http::HttpServer server(std::move(router));

  Loop loop;
  sync_wait(
      loop, http::testing::with_server(server, [&](SocketAddress a) -> Task<void> {
        http::HttpClient client({.proxy = http::ProxySettings{}});
        // 1. Attest, as the Privatemode client does.
        std::vector<std::byte> nonce(32);
        crypto::random_bytes(nonce);
        auto [status, body] = co_await post(client, a, "/privatemode/v1/attest",
                                            R"({"Nonce":")" + crypto::to_base64(nonce) + R"("})");
        EXPECT_EQ(status, 200) << body;
        const std::string_view prefix = R"({"AttestationDoc":")";
        EXPECT_TRUE(body.starts_with(prefix)) << body;
        if (!body.starts_with(prefix)) co_return;
        const auto doc = crypto::from_base64(std::string_view(body).substr(
                                                 prefix.size(), body.size() - prefix.size() - 2))
                             .value();
        attest::contrast::CoordinatorTrust trust{.expected_manifest = bytes_of(manifest),
                                                 .now = system_clock::now()};
        trust.development_chain = tee.trusted_chain();
        const auto verified = attest::contrast::verify_coordinator(text_of(doc), nonce, trust);
        EXPECT_TRUE(verified.report.passed()) << verified.report.to_text();
        if (!verified.report.passed()) co_return;

        // Without development trust the same document is refused.
        attest::contrast::CoordinatorTrust strict = trust;
        strict.development_chain.reset();
        EXPECT_EQ(attest::contrast::verify_coordinator(text_of(doc), nonce, strict)
                      .report.first_failure()
                      ->name,
                  "trusted root");

        // 3. Exchange a key, trusting exactly the attested mesh CA.
        const auto mesh_ca = crypto::Certificate::from_pem(verified.mesh_ca_pem).value();
        const auto keys = crypto::xwing_generate();
        auto [s2, reply] = co_await post(client, a, "/privatemode/v1/secret",
                                         protocol::secret_request_json(keys.public_key));
        EXPECT_EQ(s2, 200) << reply;
        auto secret = protocol::accept_secret(keys, protocol::parse_secret_response(reply).value(),
                                              mesh_ca, system_clock::now());
        EXPECT_TRUE(secret) << (secret ? "" : secret.error().message());
        if (!secret) co_return;
        auto stored = co_await store.get((*secret)->id());
        EXPECT_TRUE(stored);
        if (stored) EXPECT_EQ((*stored)->key(), (*secret)->key());

        // A nonce of the wrong size is refused.
        auto [s3, bad] = co_await post(client, a, "/attest", R"({"nonce":"AAAA"})");
        EXPECT_EQ(s3, 400);
        EXPECT_NE(bad.find("the nonce must be 32 bytes, got 3"), std::string::npos) << bad;
      }));
}

}  // namespace
}  // namespace cipherline::backend
