// EtcdSecretStore against a real etcd (Debian's etcd-server, installed by
// scripts/setup-deps) started per test on free loopback ports: create-only
// puts, "no secret for ID", TTLs, the watch between two stores, restarts of
// the store and of etcd, a dead endpoint, and the etcd:// URL form.
#include "cipherline/backend/etcd_secret_store.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "etcd_process.hpp"

#include "cipherline/backend/error.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/tcp_listener.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono_literals;
using testing::Etcd;
using testing::free_port;
using testing::with_etcd;

SecretPtr secret(const std::string& id, std::uint8_t fill) {
  std::vector<std::byte> key(32, static_cast<std::byte>(fill));
  key[0] = std::byte{0xC3};  // not all the same byte, nor ASCII
  return std::make_shared<const protocol::InferenceSecret>(id, key);
}

bool same_key(const SecretPtr& a, const SecretPtr& b) {
  return a && b && std::ranges::equal(a->key().bytes(), b->key().bytes());
}

// A realistic ID: base64 with '+', '/' and '='.
std::string realistic_id(std::uint8_t seed) {
  std::vector<std::byte> public_key(64, static_cast<std::byte>(seed));
  return protocol::secret_id_for(public_key);
}

EtcdOptions options_for(const Etcd& etcd, std::string prefix = "inference-secrets/") {
  EtcdOptions o;
  o.endpoint = etcd.endpoint();
  o.prefix = std::move(prefix);
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  return o;
}

// poll awaits `done()` for up to `limit`, checking every 20 ms.
template <class Done>
Task<bool> poll(Done done, std::chrono::milliseconds limit) {
  for (auto waited = 0ms; waited < limit; waited += 20ms) {
    if (done()) co_return true;
    (void)co_await sleep_for(20ms);
  }
  co_return done();
}

TEST(EtcdSecretStore, PutThenGetCreateOnlyAndUnknownIds) {
  with_etcd([](Etcd& etcd) -> Task<void> {
    auto connected = co_await EtcdSecretStore::connect(options_for(etcd));
    EXPECT_TRUE(connected) << connected.error().message();
    if (!connected) co_return;
    auto& store = **connected;
    EXPECT_TRUE(store.server_version().starts_with("3.")) << store.server_version();

    const std::string id = realistic_id(1);
    const auto stored = secret(id, 0x11);
    auto put = co_await store.put(stored, 60s);
    EXPECT_TRUE(put) << put.error().message();
    auto got = co_await store.get(id);
    EXPECT_TRUE(got) << got.error().message();
    if (got) EXPECT_TRUE(same_key(*got, stored));

    auto again = co_await store.put(secret(id, 0x22), 60s);
    EXPECT_FALSE(again);
    if (!again) {
      EXPECT_EQ(again.error(), errc::secret_exists);
      EXPECT_EQ(again.error().message(), "secret \"" + id + "\" already exists");
    }

    auto missing = co_await store.get("unknown");
    EXPECT_FALSE(missing);
    if (!missing) {
      EXPECT_EQ(missing.error(), errc::no_secret);
      EXPECT_EQ(missing.error().message(), "no secret for ID \"unknown\"");
    }

    // A second store (no cache) reads etcd itself: the first key, unreplaced.
    auto other = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    EXPECT_EQ(other->cached(id), nullptr);
    auto read = co_await other->get(id);
    EXPECT_TRUE(read) << read.error().message();
    if (read) EXPECT_TRUE(same_key(*read, stored));
    EXPECT_NE(other->cached(id), nullptr);  // cached for the lease's time
    EXPECT_EQ((co_await other->put(secret(id, 0x33), 60s)).error(), errc::secret_exists);

    // Prefixes separate stores.
    auto elsewhere = (co_await EtcdSecretStore::connect(options_for(etcd, "other/"))).value();
    EXPECT_EQ((co_await elsewhere->get(id)).error(), errc::no_secret);
  });
}

TEST(EtcdSecretStore, WatchDeliversAnotherStoresSecrets) {
  with_etcd([](Etcd& etcd) -> Task<void> {
    auto a = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    auto b = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    TaskScope background;
    background.spawn(b->watch());
    EXPECT_TRUE(co_await poll([&] { return b->watching(); }, 5'000ms)) << b->last_watch_error();

    const std::string id = realistic_id(2);
    const auto stored = secret(id, 0x44);
    EXPECT_TRUE(co_await a->put(stored, 60s));
    // B never asked etcd for it: only the watch can have put it in B's cache.
    EXPECT_TRUE(co_await poll([&] { return b->cached(id) != nullptr; }, 5'000ms))
        << b->last_watch_error();
    EXPECT_TRUE(same_key(b->cached(id), stored));
    EXPECT_GE(b->watch_events(), 1u);
    // Keys outside the prefix are not the store's business.
    auto outside = (co_await EtcdSecretStore::connect(options_for(etcd, "other/"))).value();
    EXPECT_TRUE(co_await outside->put(secret("x", 1), 60s));

    background.request_stop();
    co_await background.join();
    EXPECT_FALSE(b->watching());
    EXPECT_EQ(b->cached("x"), nullptr);
  });
}

TEST(EtcdSecretStore, SecretsExpireWithTheirLease) {
  with_etcd([](Etcd& etcd) -> Task<void> {
    auto a = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    auto b = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    TaskScope background;
    background.spawn(b->watch());
    EXPECT_TRUE(co_await poll([&] { return b->watching(); }, 5'000ms));

    // etcd raises a 1 s TTL to its minimum (2 s with default timings).
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(co_await a->put(secret("short", 5), 1s));
    EXPECT_TRUE(co_await a->get("short"));
    EXPECT_TRUE(co_await poll([&] { return b->cached("short") != nullptr; }, 5'000ms));
    const auto events = b->watch_events();

    bool gone = false;
    while (!gone && std::chrono::steady_clock::now() - started < 10s) {
      auto r = co_await a->get("short");
      gone = !r && r.error() == errc::no_secret;
      if (!gone) (void)co_await sleep_for(100ms);
    }
    EXPECT_TRUE(gone) << "still there after 10 s";
    EXPECT_GE(std::chrono::steady_clock::now() - started, 900ms);
    // etcd revoked the lease: the ID is free again, and B saw the DELETE.
    EXPECT_TRUE(co_await poll([&] { return b->watch_events() > events; }, 5'000ms));
    EXPECT_EQ(b->cached("short"), nullptr);
    auto fresh = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    EXPECT_EQ((co_await fresh->get("short")).error(), errc::no_secret);
    EXPECT_TRUE(co_await fresh->put(secret("short", 6), 60s));

    background.request_stop();
    co_await background.join();
  });
}

TEST(EtcdSecretStore, ARestartedStoreSeesEarlierSecrets) {
  with_etcd([](Etcd& etcd) -> Task<void> {
    const std::string id = realistic_id(3);
    const auto stored = secret(id, 0x55);
    {
      auto first = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
      EXPECT_TRUE(co_await first->put(stored, 60s));
    }
    auto second = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    auto got = co_await second->get(id);
    EXPECT_TRUE(got) << got.error().message();
    if (got) EXPECT_TRUE(same_key(*got, stored));
    EXPECT_EQ((co_await second->put(secret(id, 0x66), 60s)).error(), errc::secret_exists);
  });
}

TEST(EtcdSecretStore, TheWatchReconnectsAfterEtcdRestarts) {
  with_etcd([](Etcd& etcd) -> Task<void> {
    auto a = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    auto b = (co_await EtcdSecretStore::connect(options_for(etcd))).value();
    TaskScope background;
    background.spawn(b->watch());
    EXPECT_TRUE(co_await poll([&] { return b->watching(); }, 5'000ms));

    etcd.stop();
    EXPECT_TRUE(co_await poll([&] { return !b->watching(); }, 5'000ms));
    // While etcd is down, requests fail with store_failed naming it.
    auto down = co_await a->get("anything");
    EXPECT_FALSE(down);
    if (!down) {
      EXPECT_EQ(down.error(), errc::store_failed);
      EXPECT_NE(down.error().message().find(etcd.endpoint()), std::string::npos)
          << down.error().message();
    }
    const std::string restarted = co_await etcd.start(/*same_ports=*/true);
    EXPECT_EQ(restarted, "");
    EXPECT_TRUE(co_await poll([&] { return b->watching(); }, 10'000ms)) << b->last_watch_error();
    EXPECT_FALSE(b->last_watch_error().empty());

    const auto stored = secret("after-restart", 0x77);
    EXPECT_TRUE(co_await a->put(stored, 60s));
    EXPECT_TRUE(co_await poll([&] { return b->cached("after-restart") != nullptr; }, 5'000ms))
        << b->last_watch_error();
    EXPECT_TRUE(same_key(b->cached("after-restart"), stored));

    background.request_stop();
    co_await background.join();
  });
}

TEST(EtcdSecretStore, ADeadEndpointIsStoreFailedNamingIt) {
  Loop loop;
  sync_wait(loop, []() -> Task<void> {
    const std::string endpoint = "http://127.0.0.1:" + std::to_string(free_port());
    auto store = co_await EtcdSecretStore::connect({.endpoint = endpoint});
    EXPECT_FALSE(store);
    if (store) co_return;
    EXPECT_EQ(store.error(), errc::store_failed);
    EXPECT_TRUE(store.error().message().starts_with("etcd " + endpoint +
                                                    "/v3/maintenance/status: connecting to "))
        << store.error().message();

    auto bad = co_await EtcdSecretStore::connect({.endpoint = "127.0.0.1:2379"});
    EXPECT_FALSE(bad);
    if (!bad) EXPECT_EQ(bad.error(), errc::bad_configuration);
  }());
}

TEST(EtcdSecretStore, ParsesEtcdUrls) {
  EXPECT_EQ(parse_etcd_url("etcd://127.0.0.1:2379").value(), "http://127.0.0.1:2379");
  EXPECT_EQ(parse_etcd_url("etcd://etcd.internal:32379").value(), "http://etcd.internal:32379");
  EXPECT_EQ(parse_etcd_url("etcd://[::1]:2379").value(), "http://[::1]:2379");
  for (const char* bad :
       {"http://127.0.0.1:2379", "etcd://", "etcd://host", "etcd://[::1]", "etcd://:2379",
        "etcd://host:99999", "etcd://host:2379/path", "etcd://user@host:2379", "etcd://host:x"}) {
    auto r = parse_etcd_url(bad);
    EXPECT_FALSE(r) << bad;
    if (r) continue;
    EXPECT_EQ(r.error(), errc::bad_configuration) << bad;
    EXPECT_NE(r.error().message().find(bad), std::string::npos) << r.error().message();
    EXPECT_NE(r.error().message().find("etcd://host:port"), std::string::npos)
        << r.error().message();
  }
  EXPECT_EQ(parse_etcd_url("etcd://host").error().message(),
            "etcd URL \"etcd://host\": no port (expected etcd://host:port)");
}

}  // namespace
}  // namespace cipherline::backend
