// The worker (inference proxy) on its own, in front of the synthetic model:
// it serves nothing before activation, finds secrets by ID, enforces the
// client's OCSP policy and its MAC against the GPU statuses the agent
// recorded, and refuses requests it could not answer encrypted.
#include "cipherline/backend/worker.hpp"

#include <gtest/gtest.h>

#include "../http/server_fixture.hpp"
#include "cipherline/backend/synthetic_model.hpp"
#include "cipherline/protocol/json_fields.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

struct Reply {
  int status = 0;
  std::string body;
};

struct Fixture {
  MemorySecretStore store;
  std::shared_ptr<const protocol::InferenceSecret> secret =
      std::make_shared<protocol::InferenceSecret>("test-secret-id",
                                                  std::vector<std::byte>(32, std::byte{7}));
};

// A chat request sealed under `secret`, with the given extra headers.
Task<Reply> send(
    http::HttpClient& client, SocketAddress worker,
    const std::shared_ptr<const protocol::InferenceSecret>& secret, http::Headers headers,
    std::string body =
        R"({"model":"synthetic","messages":[{"role":"user","content":"gpu check"}]})") {
  protocol::RequestCipher cipher(secret);
  std::string sealed;
  (void)protocol::seal_json_fields(
      body, protocol::plain_request_fields(protocol::Route::chat_completions),
      [&](std::string_view raw, std::string& out) { return cipher.seal(raw, out); }, sealed);
  auto r = co_await client.request(http::Origin::parse("http://" + worker.to_string()).value(),
                                   {.method = "POST",
                                    .target = "/v1/chat/completions",
                                    .headers = std::move(headers),
                                    .body = sealed});
  if (!r) co_return Reply{0, r.error().message()};
  auto text = co_await r->body().read_all();
  co_return Reply{r->status(), text.value_or("")};
}

// with_worker serves the synthetic model and, in front of it, a worker on
// `store`, while body(worker, address) runs.
template <class Body>
void with_worker(SecretStore& store, Body body) {
  SyntheticModel model;
  http::Router model_routes;
  model.add_routes(model_routes);
  http::HttpServer model_server(std::move(model_routes));
  Loop loop;
  http::HttpClient model_client({.proxy = http::ProxySettings{}});
  sync_wait(loop, http::testing::with_server(model_server, [&](SocketAddress m) -> Task<void> {
              Worker worker({.name = "w",
                             .model = http::Origin::parse("http://" + m.to_string()).value(),
                             .models = {"synthetic"}},
                            store, model_client);
              http::Router routes;
              worker.add_routes(routes);
              http::HttpServer server(std::move(routes));
              co_await http::testing::with_server(
                  server, [&](SocketAddress w) -> Task<void> { co_await body(worker, w); });
            }));
}

TEST(Worker, EnforcesActivationSecretsAndTheOcspPolicy) {
  Fixture f;
  with_worker(f.store, [&](Worker& worker, SocketAddress at) -> Task<void> {
    http::HttpClient client({.proxy = http::ProxySettings{}});

    auto inactive = co_await send(client, at, f.secret, {});
    EXPECT_EQ(inactive.status, 503);
    EXPECT_NE(inactive.body.find("worker w is not activated"), std::string::npos);

    const auto revoked_at = system_clock::now() - hours(1);
    GpuOcspStatus gpu;
    gpu.vbios = {protocol::OcspStatus::Value::revoked, revoked_at};
    worker.activate({gpu});

    auto unknown = co_await send(client, at, f.secret, {});
    EXPECT_EQ(unknown.status, 500);
    EXPECT_NE(unknown.body.find(R"(no secret for ID \"test-secret-id\")"), std::string::npos)
        << unknown.body;

    EXPECT_TRUE(co_await f.store.put(f.secret, seconds(60)));
    // No policy headers: only GOOD is accepted, and the VBIOS is revoked.
    auto strict = co_await send(client, at, f.secret, {});
    EXPECT_EQ(strict.status, 500);
    EXPECT_NE(strict.body.find("VBIOS OCSP status that is not accepted by the client: REVOKED"),
              std::string::npos)
        << strict.body;

    // A policy allowing revocations of the last two hours, with its MAC.
    const auto policy = protocol::ocsp_policy_header(
        {.revoked_grace_period = hours(2), .allow_unknown = false}, system_clock::now());
    auto allowed = co_await send(
        client, at, f.secret,
        {{"Privatemode-NVIDIA-OCSP-Policy", policy},
         {"Privatemode-NVIDIA-OCSP-Policy-MAC", protocol::ocsp_policy_mac(*f.secret, policy)}});
    EXPECT_EQ(allowed.status, 200) << allowed.body;
    EXPECT_EQ(allowed.body.find("gpu check"), std::string::npos);  // the answer is sealed

    // The same policy with a MAC under another key, or a grace period too short.
    const protocol::InferenceSecret other("x", std::vector<std::byte>(32, std::byte{8}));
    auto forged = co_await send(
        client, at, f.secret,
        {{"Privatemode-NVIDIA-OCSP-Policy", policy},
         {"Privatemode-NVIDIA-OCSP-Policy-MAC", protocol::ocsp_policy_mac(other, policy)}});
    EXPECT_EQ(forged.status, 500);
    EXPECT_NE(forged.body.find("HMAC verification failed"), std::string::npos) << forged.body;
    const auto too_short = protocol::ocsp_policy_header(
        {.revoked_grace_period = minutes(30), .allow_unknown = false}, system_clock::now());
    auto late = co_await send(
        client, at, f.secret,
        {{"Privatemode-NVIDIA-OCSP-Policy", too_short},
         {"Privatemode-NVIDIA-OCSP-Policy-MAC", protocol::ocsp_policy_mac(*f.secret, too_short)}});
    EXPECT_EQ(late.status, 500);

    // Nothing encrypted: the answer could not be, so the request is refused.
    auto plain = co_await send(
        client, at, f.secret,
        {{"Privatemode-Secret-ID", "test-secret-id"},
         {"Privatemode-NVIDIA-OCSP-Policy", policy},
         {"Privatemode-NVIDIA-OCSP-Policy-MAC", protocol::ocsp_policy_mac(*f.secret, policy)}},
        R"({"model":"synthetic"})");
    EXPECT_EQ(plain.status, 400);
    EXPECT_NE(plain.body.find("no encrypted field"), std::string::npos) << plain.body;
  });
}

}  // namespace
}  // namespace cipherline::backend
