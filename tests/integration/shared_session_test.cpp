// One SharedSession for several event loops: one attestation and one key
// exchange however many loops connect, one background rotation that every
// loop's requests follow, and the proxies of several loops on one session.
#include "cipherline/client/shared_session.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>

#include "cipherline/client/proxy.hpp"
#include "cipherline/runtime/loop_group.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using namespace std::chrono;
using testing::chat_request;
using testing::client_options;
using testing::Relay;
using testing::with_backend;
using testing::with_proxy;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

constexpr std::size_t kLoops = 3;  // loop 0 serves the backend and is a client too

// Polls `done` every 10 ms for at most `limit`.
template <class F>
Task<bool> poll(F done, milliseconds limit) {
  for (auto waited = milliseconds(0); waited < limit; waited += milliseconds(10)) {
    if (done()) co_return true;
    (void)co_await sleep_for(milliseconds(10));
  }
  co_return done();
}

struct Steps {
  std::atomic<int> attestations{0}, exchanges{0};
};

TEST(SharedSession, LoopsShareOneAttestationOneExchangeAndOneRotation) {
  LoopGroup group(kLoops);
  Steps steps;
  std::shared_ptr<client::SharedSession> shared;
  client::ClientOptions options;
  std::atomic<bool> ready{false}, backend_done{false};
  std::atomic<int> clients_done{0};
  std::mutex ids_mutex;
  std::set<std::string> before_rotation, after_rotation;  // secret IDs the loops used

  // Each loop: a Client on the shared session connects, chats, waits for
  // the rotation and chats again.
  auto client_loop = [&](std::size_t index) -> Task<void> {
    EXPECT_TRUE(co_await poll([&] { return ready.load(); }, milliseconds(30'000)));
    if (!ready) co_return;
    client::Client client(options, shared);
    auto connected = co_await client.connect();
    EXPECT_TRUE(connected) << index << ": " << (connected ? "" : connected.error().message());
    client::SessionView view(*shared);
    auto chat_and_note = [&](std::set<std::string>& ids) -> Task<void> {
      auto answer = co_await client.chat(chat_request("loop " + std::to_string(index)));
      EXPECT_TRUE(answer) << index << ": " << (answer ? "" : answer.error().message());
      auto secret = co_await shared->secret(view);
      EXPECT_TRUE(secret);
      if (!secret) co_return;
      std::lock_guard lock(ids_mutex);
      ids.insert((*secret)->id());
    };
    co_await chat_and_note(before_rotation);
    // Every loop has connected: still the one attestation and exchange.
    ++clients_done;
    EXPECT_TRUE(co_await poll([&] { return clients_done.load() >= int(kLoops); }, 30'000ms));
    EXPECT_EQ(steps.attestations.load(), 1);
    EXPECT_EQ(steps.exchanges.load(), 1);
    // The rotation (at 2 s of a 4 s key) happens once, on the owner.
    EXPECT_TRUE(co_await poll([&] { return steps.exchanges.load() >= 2; }, 10'000ms));
    co_await chat_and_note(after_rotation);
    co_await client.close();
    ++clients_done;
  };

  group.run([&](std::size_t index) -> Task<void> {
    if (index != 0) {
      co_await client_loop(index);
      co_return;
    }
    co_await with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
      options = client_options(b);
      options.session.usable_for = seconds(4);
      options.session.refresh_margin = seconds(2);
      options.session.observe = [&steps](std::string_view step, microseconds) {
        ++(step == "attest" ? steps.attestations : steps.exchanges);
      };
      shared = std::make_shared<client::SharedSession>(options.session, &group.loop(1));
      ready = true;
      co_await client_loop(0);
      EXPECT_TRUE(co_await poll([&] { return clients_done.load() >= int(2 * kLoops); }, 60'000ms));
      co_await shared->close();
      // The rotation happened once for all loops: one exchange at connect,
      // one (or, at most, one more if a loop lagged behind a second
      // rotation) in the background; never one per loop.
      const int exchanges = steps.exchanges.load();
      EXPECT_GE(exchanges, 2);
      EXPECT_LT(exchanges, int(kLoops) + 1);
      EXPECT_EQ(steps.attestations.load(), 1);
      const auto on_owner =
          co_await shared->with_session([](client::Session& s) { return s.exchanges(); });
      EXPECT_EQ(on_owner, static_cast<std::uint64_t>(exchanges));
      backend_done = true;
    });
  });
  shared.reset();  // on loop 0's thread, its loops still alive
  EXPECT_TRUE(backend_done.load());
  // Every loop used the same key before the rotation, and the same new one
  // after it.
  EXPECT_EQ(before_rotation.size(), 1u);
  EXPECT_EQ(after_rotation.size(), 1u);
  if (!before_rotation.empty() && !after_rotation.empty()) {
    EXPECT_NE(*before_rotation.begin(), *after_rotation.begin());
  }
}

// Requests from a loop that is not the owner see a rotation without a hop:
// the snapshot's epoch moves and the view picks the new key up.
TEST(SharedSession, AViewFollowsTheEpoch) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto options = client_options(b);
              client::SharedSession shared(options.session);
              client::SessionView view(shared);
              EXPECT_EQ(view.current().secret, nullptr);
              const auto empty = shared.epoch();
              EXPECT_TRUE(co_await shared.establish());
              EXPECT_GT(shared.epoch(), empty);
              const auto first = view.current().secret;
              EXPECT_NE(first, nullptr);
              if (!first) co_return;
              EXPECT_NE(view.current().base_headers.get("Authorization"), std::nullopt);
              const auto epoch = shared.epoch();
              EXPECT_TRUE(co_await shared.force_refresh());
              EXPECT_GT(shared.epoch(), epoch);
              const auto second = view.current().secret;
              EXPECT_NE(second, nullptr);
              if (!second) co_return;
              EXPECT_NE(first->id(), second->id());
              auto got = co_await shared.secret(view);
              EXPECT_TRUE(got);
              if (got) EXPECT_EQ((*got)->id(), second->id());
              // establish() on an established session changes nothing.
              EXPECT_TRUE(co_await shared.establish(std::string("another-key")));
              EXPECT_EQ(view.current().secret->id(), second->id());
              EXPECT_EQ(view.current().base_headers.get("Authorization"),
                        std::optional<std::string_view>("Bearer dev"));
              co_await shared.close();
            }));
}

// The status a proxy answers a chat with, the caller bringing `key`.
Task<int> chat_status(http::HttpClient& http, SocketAddress proxy, std::string key) {
  http::Headers h{{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
  auto r = co_await http.request(http::Origin::parse("http://" + proxy.to_string()).value(),
                                 {.method = "POST",
                                  .target = "/v1/chat/completions",
                                  .headers = std::move(h),
                                  .body = chat_request("whose key")});
  if (!r) co_return 0;
  (void)co_await r->body().read_all();
  co_return r->status();
}

// Two loops' proxies on one session, keys from the callers. Once a key
// worked, another caller's key never replaces it, even while the session
// has lost its attestation: a refused key on one loop must not lock the
// callers of every loop out.
TEST(SharedSession, AKeyThatWorkedIsNotReplacedByAnotherCallersKey) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        bool refuse = false;  // the gateway fails attestation and exchange
        Relay relay{.inject = [&](std::string_view path) -> std::optional<Relay::Injected> {
          if (refuse && (path == "/privatemode/v1/attest" || path == "/privatemode/v1/secret")) {
            return Relay::Injected{503};
          }
          return std::nullopt;
        }};
        co_await relay.run(b, [&](client::ClientOptions options) -> Task<void> {
          options.session.api_key.clear();
          auto shared = std::make_shared<client::SharedSession>(options.session);
          const client::ProxyOptions proxy_options{.client = options, .session = shared};
          co_await with_proxy(proxy_options, [&](client::Proxy&, SocketAddress one) -> Task<void> {
            co_await with_proxy(
                proxy_options, [&](client::Proxy&, SocketAddress two) -> Task<void> {
                  http::HttpClient http;
                  EXPECT_EQ(co_await chat_status(http, one, "dev"), 200);
                  refuse = true;
                  EXPECT_FALSE(co_await shared->force_refresh());  // the attestation is lost
                  refuse = false;
                  EXPECT_EQ(co_await chat_status(http, two, "not-a-key"), 401);
                  EXPECT_EQ(co_await chat_status(http, one, "dev"), 200);
                  EXPECT_EQ(co_await chat_status(http, two, "dev"), 200);
                  // Nor does a direct establish() with another key.
                  refuse = true;
                  EXPECT_FALSE(co_await shared->force_refresh());
                  refuse = false;
                  EXPECT_TRUE(co_await shared->establish(std::string("not-a-key")));
                  EXPECT_EQ(co_await chat_status(http, one, "dev"), 200);
                });
          });
          co_await shared->close();
        });
      }));
}

// With attest_every_request and no key of its own, the proxy adopts its
// caller's key for the attestations it makes.
TEST(SharedSession, AttestEveryRequestAdoptsTheCallersKey) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto options = client_options(b);
              options.session.api_key.clear();
              options.session.attest_every_request = true;
              co_await with_proxy({.client = options},
                                  [&](client::Proxy&, SocketAddress proxy) -> Task<void> {
                                    http::HttpClient http;
                                    EXPECT_EQ(co_await chat_status(http, proxy, "dev"), 200);
                                    EXPECT_EQ(co_await chat_status(http, proxy, "dev"), 200);
                                  });
            }));
}

// Attempts that overlap (attest_every_request runs them side by side, each
// reading the key as it sends) are never given another key under them: the
// second caller's key is not adopted while the first caller's attempt runs.
TEST(SharedSession, AKeyIsNotSwappedUnderARunningAttempt) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto options = client_options(b);
              options.session.api_key.clear();
              options.session.attest_every_request = true;
              client::SharedSession shared(options.session);
              auto [first, second] = co_await when_all(shared.establish(std::string("dev")),
                                                       shared.establish(std::string("not-a-key")));
              EXPECT_TRUE(first);
              EXPECT_TRUE(second);
              client::SessionView view(shared);
              EXPECT_EQ(view.current().base_headers.get("Authorization"),
                        std::optional<std::string_view>("Bearer dev"));
              EXPECT_TRUE(co_await shared.establish(std::string("not-a-key")));
              co_await shared.close();
            }));
}

}  // namespace
}  // namespace cipherline
