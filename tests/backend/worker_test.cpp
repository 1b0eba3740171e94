// The worker (inference proxy) on its own, in front of the synthetic model:
// it serves nothing before activation, finds secrets by ID, enforces the
// client's OCSP policy and its MAC against the GPU statuses the agent
// recorded, and refuses requests it could not answer encrypted.
#include "cipherline/backend/worker.hpp"

#include <gtest/gtest.h>

#include "../http/server_fixture.hpp"
#include "cipherline/backend/synthetic_model.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/protocol/header_names.hpp"
#include "cipherline/protocol/json_fields.hpp"
#include "cipherline/protocol/oae_carriage.hpp"
#include "cipherline/protocol/request_cipher.hpp"
#include "cipherline/protocol/response_stream.hpp"

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

// What an OAE chat exchange with the worker brought: the status and, opened
// by the client's ResponseStream, every event's type and data and how the
// stream ended.
struct OaeReply {
  int status = 0;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> events;
  Result<void, Error> end;
};

Task<OaeReply> send_oae(http::HttpClient& client, SocketAddress worker,
                        const std::shared_ptr<const protocol::InferenceSecret>& secret,
                        std::string_view body, bool final_request = true) {
  crypto::OaeRequester requester(protocol::oae_secret(*secret));
  std::string sealed;
  (void)protocol::seal_frame(requester.request(), body, final_request, sealed);
  OaeReply reply;
  auto r = co_await client.request(
      http::Origin::parse("http://" + worker.to_string()).value(),
      {.method = "POST",
       .target = "/v1/chat/completions",
       .headers = {{"Content-Type", std::string(protocol::kEncryptedBodyType)},
                   {std::string(protocol::kSecretIdHeader), secret->id()},
                   {std::string(protocol::kOaeRequestHeader),
                    protocol::oae_header_value(requester.request_header())}},
       .body = sealed});
  if (!r) {
    reply.end = r.error();
    co_return reply;
  }
  reply.status = r->status();
  reply.content_type = std::string(r->head().headers.get("Content-Type").value_or(""));
  auto salt = protocol::parse_oae_header_value(
      r->head().headers.get(protocol::kOaeResponseHeader).value_or(""));
  if (!salt) {
    reply.end = salt.error();
    auto text = co_await r->body().read_all();
    if (text) reply.events.emplace_back("plaintext", *text);
    co_return reply;
  }
  protocol::ResponseStream stream(protocol::Route::chat_completions, true,
                                  requester.accept_response(*salt).value());
  while (true) {
    auto chunk = co_await r->body().next();
    if (!chunk) {
      reply.end = chunk.error();
      break;
    }
    reply.end = chunk->empty() ? stream.finish() : stream.feed(*chunk);
    for (const auto& e : stream.events()) reply.events.emplace_back(e.type, e.data);
    stream.consume();
    if (!reply.end || chunk->empty()) break;
  }
  co_return reply;
}

// with_worker_on serves `model_routes` as the model and, in front of it, a
// worker on `store`, while body(worker, address) runs.
template <class Body>
void with_worker_on(http::Router model_routes, SecretStore& store, Body body) {
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

// with_worker: the same in front of the synthetic model.
template <class Body>
void with_worker(SecretStore& store, Body body) {
  SyntheticModel model;
  http::Router model_routes;
  model.add_routes(model_routes);
  with_worker_on(std::move(model_routes), store, std::move(body));
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

constexpr std::string_view kChat =
    R"({"model":"synthetic","stream":true,"messages":[{"role":"user","content":"two words"}]})";

TEST(WorkerOae, AStreamEndsWithItsSealedDone) {
  Fixture f;
  with_worker(f.store, [&](Worker& worker, SocketAddress at) -> Task<void> {
    worker.activate({});
    EXPECT_TRUE(co_await f.store.put(f.secret, seconds(60)));
    http::HttpClient client({.proxy = http::ProxySettings{}});
    auto reply = co_await send_oae(client, at, f.secret, kChat);
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.content_type, protocol::kEncryptedBodyType);
    EXPECT_TRUE(reply.end) << reply.end.error().message();
    EXPECT_GE(reply.events.size(), 3u);
    if (reply.events.size() < 3) co_return;
    EXPECT_NE(reply.events[0].second.find("\"two "), std::string::npos) << reply.events[0].second;
    EXPECT_EQ(reply.events.back().second, "[DONE]");
  });
}

// A model that sends one event and then `ending` (breaks off, or ends the
// stream without [DONE]).
http::Router faulty_model(bool break_off) {
  http::Router r;
  r.add(
      "POST", "/v1/chat/completions",
      [break_off](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
        (void)co_await request.body.read_all();
        if (!co_await writer.start(200, {{"Content-Type", "text/event-stream"}})) co_return;
        (void)co_await writer.write(R"(data: {"choices":[{"index":0,"delta":{"content":"half"}}]})"
                                    "\n\n");
        if (break_off) {
          writer.abort();
        } else {
          (void)co_await writer.finish();
        }
      });
  return r;
}

TEST(WorkerOae, AModelThatBreaksOffOrEndsEarlyIsSealedAsAnErrorEvent) {
  for (const bool break_off : {true, false}) {
    Fixture f;
    with_worker_on(
        faulty_model(break_off), f.store, [&](Worker& worker, SocketAddress at) -> Task<void> {
          worker.activate({});
          EXPECT_TRUE(co_await f.store.put(f.secret, seconds(60)));
          http::HttpClient client({.proxy = http::ProxySettings{}});
          auto reply = co_await send_oae(client, at, f.secret, kChat);
          EXPECT_EQ(reply.status, 200);
          // The stream is complete and authentic: its end is the
          // worker's sealed error, which the gateway cannot drop.
          EXPECT_TRUE(reply.end) << reply.end.error().message();
          EXPECT_EQ(reply.events.size(), 2u);
          if (reply.events.size() != 2) co_return;
          EXPECT_EQ(reply.events[1].first, "error");
          EXPECT_NE(reply.events[1].second.find(break_off ? "broke off" : "ended before [DONE]"),
                    std::string::npos)
              << reply.events[1].second;
        });
  }
}

TEST(WorkerOae, RefusesRequestsItCannotOpen) {
  Fixture f;
  with_worker(f.store, [&](Worker& worker, SocketAddress at) -> Task<void> {
    worker.activate({});
    EXPECT_TRUE(co_await f.store.put(f.secret, seconds(60)));
    http::HttpClient client({.proxy = http::ProxySettings{}});
    // A request stream without its final message.
    auto cut = co_await send_oae(client, at, f.secret, kChat, /*final_request=*/false);
    EXPECT_EQ(cut.status, 400);
    EXPECT_FALSE(cut.events.empty());
    if (cut.events.empty()) co_return;
    EXPECT_NE(cut.events[0].second.find("opening the request: "), std::string::npos)
        << cut.events[0].second;
    // Under another secret of the same ID.
    const auto other = std::make_shared<const protocol::InferenceSecret>(
        "test-secret-id", std::vector<std::byte>(32, std::byte{9}));
    auto forged = co_await send_oae(client, at, other, kChat);
    EXPECT_EQ(forged.status, 400);
    EXPECT_FALSE(forged.events.empty());
    if (forged.events.empty()) co_return;
    EXPECT_NE(forged.events[0].second.find("does not authenticate"), std::string::npos)
        << forged.events[0].second;
  });
}

}  // namespace
}  // namespace cipherline::backend
