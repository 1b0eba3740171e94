// EtcdSecretStore: the SecretStore that machines share (spec §3.3) — the
// secrets live in an etcd cluster (v3 API through its JSON gateway, /v3/…),
// each under a lease that etcd revokes when the TTL runs out; every store
// keeps a local cache that a watch on the key prefix fills.
//
//   auto store = (co_await EtcdSecretStore::connect({.endpoint = "http://127.0.0.1:2379",
//                                                    .prefix = "inference-secrets/"}))
//                    .value();                         // store_failed: the cluster did not answer
//   TaskScope background;
//   background.spawn(store->watch());                  // until the scope is stopped
//   if (auto r = co_await store->put(secret, protocol::kSecretStoredFor); !r) ...  // secret_exists
//   auto s = co_await store->get(id);   // backend::errc::no_secret: "no secret for ID \"<id>\""
//   background.request_stop();
//   co_await background.join();                        // before the store is destroyed
//
// Contract (SecretStore's, and):
// - connect checks that the cluster answers (POST /v3/maintenance/status)
//   and remembers its revision: the watch delivers what changed after it
//   (earlier secrets reach the cache through get). An endpoint that
//   is not an http(s) URL is backend::errc::bad_configuration;
//   `parse_etcd_url` turns the CLI's `etcd://host:port` into one.
// - Layout: key `<prefix><id>`, value the 32 raw key bytes (base64 only in
//   the JSON transport, as etcd's gateway encodes bytes), attached to a lease
//   granted with the TTL (etcd may round a TTL up to its minimum, about 2 s).
// - put grants the lease (POST /v3/lease/grant), then writes in one
//   transaction (POST /v3/kv/txn) that succeeds only if the key does not exist
//   (create_revision == 0): create-only across all machines. If the key
//   exists, the unused lease is revoked and the result is secret_exists,
//   "secret \"<id>\" already exists".
// - get answers from the cache while the entry lives, else with a range
//   request (POST /v3/kv/range) and caches what it found for the lease's
//   remaining time (POST /v3/lease/timetolive). Cache lifetimes are measured
//   from before the request that reported them and rounded down by etcd, so
//   an entry never outlives its lease.
// - watch streams POST /v3/watch on the prefix (one JSON result per line) and
//   applies each event to the cache: a PUT is cached for its lease's time, a
//   DELETE (a lease's expiry, or anyone's delete) removes the entry. It
//   resumes from the last revision seen when the stream breaks, after a
//   backoff from `reconnect_min` doubling to `reconnect_max` (none after an
//   idle stream reached `watch_idle_timeout`), and returns only when the
//   awaiting task is stopped (the runtime's cancellation; a TaskScope's
//   request_stop). One watch at a time per store.
// - Lifetimes: the store must outlive every task it returned; destroying it
//   while `watch` runs is a lifetime bug and aborts with a message.
// - Errors: etcd's answers other than 200, malformed JSON and network
//   failures are backend::errc::store_failed with a message naming the
//   endpoint, the API path and what went wrong ("etcd
//   http://127.0.0.1:2379/v3/kv/range: HTTP 503: …"). Key material is never
//   put in a message.
// - Cancellation: stopping the awaiting task cancels the request in flight
//   (the result is cipherline::errc::operation_cancelled). A put that fails
//   or is cancelled after its lease was granted revokes the lease (that
//   request is not cancelled; it takes at most `request_timeout`), which also
//   removes the key if the transaction did reach etcd: a failed put leaves
//   nothing behind.
// - Requests go direct unless `proxy` names one (etcd is cluster-internal;
//   pass http::ProxySettings::from_environment() to route as curl would).
// - Loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "cipherline/backend/secret_store.hpp"
#include "cipherline/http/client.hpp"

namespace cipherline::backend {

struct EtcdOptions {
  std::string endpoint = "http://127.0.0.1:2379";
  std::string prefix = "inference-secrets/";  // not empty
  // Bounds each request's connect, response head and body chunks.
  std::chrono::milliseconds request_timeout{5'000};
  // A watch stream quiet for this long is reopened (etcd sends nothing while
  // nothing changes).
  std::chrono::milliseconds watch_idle_timeout{300'000};
  std::chrono::milliseconds reconnect_min{100};
  std::chrono::milliseconds reconnect_max{5'000};
  http::ProxySettings proxy{};  // direct by default
};

// parse_etcd_url turns "etcd://host:port" (IPv6 hosts in brackets) into the
// endpoint "http://host:port"; anything else is bad_configuration naming
// the input.
Result<std::string, Error> parse_etcd_url(std::string_view url);

class EtcdSecretStore final : public SecretStore {
 public:
  static Task<Result<std::unique_ptr<EtcdSecretStore>, Error>> connect(EtcdOptions options);

  EtcdSecretStore(const EtcdSecretStore&) = delete;
  EtcdSecretStore& operator=(const EtcdSecretStore&) = delete;
  ~EtcdSecretStore() override;

  Task<Result<void, Error>> put(SecretPtr secret, std::chrono::seconds ttl) override;
  Task<Result<SecretPtr, Error>> get(std::string_view id) override;

  // watch keeps the cache in step with etcd until the awaiting task is
  // stopped.
  [[nodiscard]] Task<void> watch();

  // cached looks in the local cache only (no request): the secret if an
  // unexpired entry is there, else null.
  SecretPtr cached(std::string_view id);
  // Whether a watch stream is established, and how many events it applied.
  bool watching() const noexcept { return watching_; }
  std::uint64_t watch_events() const noexcept { return watch_events_; }
  // Why the watch stream last broke (for diagnostics); empty if it never did.
  const std::string& last_watch_error() const noexcept { return last_watch_error_; }
  const std::string& endpoint() const noexcept { return options_.endpoint; }
  // The cluster's version, as reported when connecting ("3.4.23").
  const std::string& server_version() const noexcept { return server_version_; }

 private:
  using Clock = std::chrono::steady_clock;
  struct Reply;
  struct Entry {
    SecretPtr secret;
    Clock::time_point expires;
  };

  EtcdSecretStore(std::unique_ptr<EtcdOptions> options, http::Origin origin);
  static Task<Result<std::unique_ptr<EtcdSecretStore>, Error>> open(
      std::unique_ptr<EtcdOptions> options);

  // Whether a call may be resent after a stale keep-alive connection failed
  // it (http::ClientRequest::idempotent): reads, lease calls and watches may
  // (a duplicate lease expires unused); the create-only put may not, since a
  // resent put that had gone through would answer "exists".
  enum class Resend : bool { never, allowed };
  Task<Result<std::unique_ptr<Reply>, Error>> call(const char* path, std::string body,
                                                   Resend resend = Resend::allowed);
  Task<Result<std::int64_t, Error>> lease_remaining(std::int64_t lease);
  Task<void> revoke(std::int64_t lease);
  // Streams one watch until it breaks; `established` says whether it got as
  // far as etcd's "created" (so the backoff starts again).
  Task<Result<void, Error>> watch_once(bool& established);
  void remember(SecretPtr secret, Clock::time_point expires);
  Error failure(std::string_view path, const std::string& what) const;

  EtcdOptions options_;
  http::Origin origin_;
  http::HttpClient client_;
  http::HttpClient watch_client_;
  std::string server_version_;
  std::int64_t next_revision_ = 0;  // where the watch resumes
  bool watch_running_ = false;
  bool watching_ = false;
  std::uint64_t watch_events_ = 0;
  std::uint64_t inserts_ = 0;
  std::string last_watch_error_;
  std::map<std::string, Entry, std::less<>> cache_;
};

}  // namespace cipherline::backend
