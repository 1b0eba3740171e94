// The secret service's key exchange over HTTP on loopback: a client that
// verifies the answer ends up with the key the store holds; replays,
// malformed bodies and wrong methods get the documented errors.
#include "cipherline/backend/secret_service.hpp"

#include <gtest/gtest.h>

#include "../http/server_fixture.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/protocol/secret_exchange.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

struct Mesh {
  crypto::PrivateKey ca_key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  crypto::Certificate ca = issue(ca_key, nullptr, "mesh CA", true);
  crypto::PrivateKey key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  crypto::Certificate certificate = issue(key, &ca, "secret-service", false);

  crypto::Certificate issue(const crypto::PrivateKey& subject, const crypto::Certificate* issuer,
                            const std::string& cn, bool ca_flag) {
    const auto now = system_clock::now();
    return crypto::issue_certificate(
               {.subject = {{"CN", cn}},
                .public_key = subject.public_key(),
                .not_before = now - hours(1),
                .not_after = now + hours(1),
                .serial = ca_flag ? 1u : 2u,
                .ca = ca_flag,
                .extended_key_usage =
                    ca_flag ? std::vector<std::string>{} : std::vector<std::string>{"serverAuth"}},
               issuer == nullptr ? subject : ca_key, issuer, crypto::Signature::ecdsa_sha256)
        .value();
  }
};

struct Reply {
  int status = 0;
  std::string body;
  std::string encrypted_header;
};

Task<Reply> post(http::HttpClient& client, SocketAddress a, std::string method, std::string body,
                 http::Headers headers = {}) {
  auto r = co_await client.request(http::Origin::parse("http://" + a.to_string()).value(),
                                   {.method = std::move(method),
                                    .target = "/privatemode/v1/secret",
                                    .headers = std::move(headers),
                                    .body = std::move(body)});
  Reply out;
  if (!r) co_return out;
  out.status = r->status();
  out.body = (co_await r->body().read_all()).value();
  if (auto h = r->head().headers.get("Privatemode-Encrypted")) out.encrypted_header = *h;
  co_return out;
}

TEST(SecretService, ExchangeOverHttp) {
  Loop loop;
  const Mesh mesh;
  MemorySecretStore store;
  SecretService service(mesh.key, mesh.certificate, store);
  http::Router router;
  service.add_routes(router);
  http::HttpServer server(std::move(router));
  sync_wait(
      loop, http::testing::with_server(server, [&](SocketAddress a) -> Task<void> {
        http::HttpClient client({.proxy = http::ProxySettings{}});
        const auto keys = crypto::xwing_generate();
        const std::string request = protocol::secret_request_json(keys.public_key);

        const Reply ok = co_await post(client, a, "POST", request);
        EXPECT_EQ(ok.status, 200) << ok.body;
        auto response = protocol::parse_secret_response(ok.body);
        EXPECT_TRUE(response) << ok.body;
        if (!response) co_return;
        auto secret = protocol::accept_secret(keys, *response, mesh.ca, system_clock::now());
        EXPECT_TRUE(secret);
        if (!secret) co_return;
        auto stored = co_await store.get((*secret)->id());
        EXPECT_TRUE(stored);
        if (stored) EXPECT_EQ((*stored)->key(), (*secret)->key());

        // The same public key again: create-only.
        const Reply replay = co_await post(client, a, "POST", request);
        EXPECT_EQ(replay.status, 409);
        EXPECT_NE(replay.body.find("already exists"), std::string::npos) << replay.body;
        EXPECT_EQ(replay.encrypted_header, "false");

        const Reply empty = co_await post(client, a, "POST", "{}");
        EXPECT_EQ(empty.status, 400);
        EXPECT_EQ(
            empty.body,
            R"({"error":{"message":"secret exchange: the secret request lacks the string field \"PublicKey\"","type":"invalid_request_error","code":null}})");

        const Reply short_key = co_await post(client, a, "POST", R"({"PublicKey":"AAAA"})");
        EXPECT_EQ(short_key.status, 400);
        EXPECT_NE(short_key.body.find("1216"), std::string::npos) << short_key.body;

        const Reply streamed =
            co_await post(client, a, "POST", "{", {{"Accept", "text/event-stream"}});
        EXPECT_EQ(streamed.status, 400);
        EXPECT_TRUE(streamed.body.starts_with("event: error\n\ndata: {\"error\"")) << streamed.body;

        const Reply get = co_await post(client, a, "GET", "");
        EXPECT_EQ(get.status, 405);
      }));
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace cipherline::backend
