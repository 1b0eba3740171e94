#include "cipherline/backend/etcd_secret_store.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <optional>

#include "cipherline/backend/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/runtime/sleep.hpp"

namespace cipherline::backend {
namespace {

constexpr std::size_t kKeySize = 32;
constexpr std::size_t kMaxReply = 16 * 1024 * 1024;
constexpr std::size_t kMaxWatchLine = 16 * 1024 * 1024;
// How many cache insertions between sweeps of expired entries.
constexpr std::uint64_t kSweepEvery = 64;

void wipe(std::string& s) noexcept {
  crypto::secure_wipe(std::as_writable_bytes(std::span(s.data(), s.size())));
}

// A string that may hold key material (a JSON answer, a base64 key): zeroed
// when it goes.
struct WipedString {
  std::string text;
  WipedString() = default;
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  ~WipedString() { wipe(text); }
};

struct WipedBytes {
  std::vector<std::byte> bytes;
  ~WipedBytes() { crypto::secure_wipe(bytes); }
};

Error no_secret(std::string_view id) {
  return Error(errc::no_secret, protocol::no_secret_message(id));
}

std::string b64(std::string_view s) { return crypto::to_base64(std::as_bytes(std::span(s))); }

// The end of etcd's range of keys that start with `prefix`.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(prefix.back());
    if (last < 0xff) {
      ++last;
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');  // every key
}

// etcd's gateway writes 64-bit integers as strings ("123") and leaves out
// fields at their default (zero, false, empty); numbers are accepted too.
std::optional<std::int64_t> int64_field(simdjson::dom::element object, const char* name) {
  simdjson::dom::element value;
  if (object[name].get(value) != simdjson::SUCCESS) return 0;
  std::string_view text;
  if (value.get(text) == simdjson::SUCCESS) {
    std::int64_t out = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc{} || ptr != text.data() + text.size()) return std::nullopt;
    return out;
  }
  std::int64_t out = 0;
  if (value.get(out) == simdjson::SUCCESS) return out;
  return std::nullopt;
}

bool bool_field(simdjson::dom::element object, const char* name) {
  bool out = false;
  return object[name].get(out) == simdjson::SUCCESS && out;
}

std::string_view string_field(simdjson::dom::element object, const char* name) {
  std::string_view out;
  if (object[name].get(out) != simdjson::SUCCESS) return {};
  return out;
}

// etcd's own words for a message: printable, and not too long.
std::string quote_server(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 200)) {
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (text.size() > 200) out += "…";
  return out;
}

http::ClientOptions client_options(const EtcdOptions& o, std::chrono::milliseconds body_timeout) {
  http::ClientOptions c;
  c.connect_timeout = o.request_timeout;
  c.head_timeout = o.request_timeout;
  c.body_timeout = body_timeout;
  c.max_response_body = kMaxReply;
  c.proxy = o.proxy;
  return c;
}

}  // namespace

// One parsed JSON answer; the text (which may hold key material) is wiped
// with it.
struct EtcdSecretStore::Reply {
  WipedString body;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
};

Result<std::string, Error> parse_etcd_url(std::string_view url) {
  const auto bad = [&](const std::string& why) {
    return Error(errc::bad_configuration,
                 "etcd URL \"" + std::string(url) + "\": " + why + " (expected etcd://host:port)");
  };
  constexpr std::string_view scheme = "etcd://";
  if (!url.starts_with(scheme)) return bad("not an etcd:// URL");
  const std::string_view authority = url.substr(scheme.size());
  if (authority.empty()) return bad("no host");
  if (authority.find_first_of("/?#@ ") != std::string_view::npos) {
    return bad("only host and port may follow etcd://");
  }
  const auto colon = authority.rfind(':');
  const auto bracket = authority.rfind(']');
  if (colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
    return bad("no port");
  }
  if (colon == 0) return bad("no host");
  const std::string endpoint = "http://" + std::string(authority);
  auto origin = http::Origin::parse(endpoint);
  if (!origin) {
    const std::string message = origin.error().message();
    const auto at = message.find("': ");
    return bad(at == std::string::npos ? message : message.substr(at + 3));
  }
  return origin->to_string();
}

EtcdSecretStore::EtcdSecretStore(std::unique_ptr<EtcdOptions> options, http::Origin origin)
    : options_(std::move(*options)),
      origin_(std::move(origin)),
      client_(client_options(options_, options_.request_timeout)),
      watch_client_(client_options(options_, options_.watch_idle_timeout)) {
  options_.endpoint = origin_.to_string();
}

EtcdSecretStore::~EtcdSecretStore() {
  if (watch_running_) {
    std::fprintf(stderr,
                 "cipherline: EtcdSecretStore for %s destroyed while its watch runs; stop and "
                 "await the watch first\n",
                 options_.endpoint.c_str());
    std::abort();
  }
}

Task<Result<std::unique_ptr<EtcdSecretStore>, Error>> EtcdSecretStore::connect(
    EtcdOptions options) {
  // Not a coroutine itself: coroutines here take no aggregates by value
  // (docs/conventions.md).
  return open(std::make_unique<EtcdOptions>(std::move(options)));
}

Task<Result<std::unique_ptr<EtcdSecretStore>, Error>> EtcdSecretStore::open(
    std::unique_ptr<EtcdOptions> options) {
  auto origin = http::Origin::parse(options->endpoint);
  if (!origin) {
    co_return Error(errc::bad_configuration,
                    "etcd endpoint \"" + options->endpoint + "\": " + origin.error().message());
  }
  if (options->prefix.empty()) {
    co_return Error(errc::bad_configuration, "etcd key prefix must not be empty");
  }
  if (options->reconnect_min.count() <= 0 || options->reconnect_max < options->reconnect_min) {
    co_return Error(errc::bad_configuration,
                    "etcd reconnect backoff: need 0 < reconnect_min <= reconnect_max");
  }
  std::unique_ptr<EtcdSecretStore> store(new EtcdSecretStore(std::move(options), *origin));
  auto status = co_await store->call("/v3/maintenance/status", "{}");
  if (!status) co_return status.error();
  const auto root = (*status)->root;
  store->server_version_ = std::string(string_field(root, "version"));
  simdjson::dom::element header;
  const auto revision = root["header"].get(header) == simdjson::SUCCESS
                            ? int64_field(header, "revision")
                            : std::nullopt;
  if (!revision || store->server_version_.empty()) {
    co_return store->failure("/v3/maintenance/status",
                             "the answer lacks the cluster's version and revision");
  }
  store->next_revision_ = *revision + 1;
  co_return std::move(store);
}

Error EtcdSecretStore::failure(std::string_view path, const std::string& what) const {
  return Error(errc::store_failed, "etcd " + options_.endpoint + std::string(path) + ": " + what);
}

Task<Result<std::unique_ptr<EtcdSecretStore::Reply>, Error>> EtcdSecretStore::call(const char* path,
                                                                                   std::string body,
                                                                                   Resend resend) {
  http::ClientRequest request;
  request.method = "POST";
  request.target = path;
  request.idempotent = resend == Resend::allowed;
  request.headers.add("Content-Type", "application/json");
  request.body = std::move(body);
  auto response = co_await client_.request(origin_, std::move(request));
  if (!response) {
    if (response.error() == cipherline::errc::operation_cancelled) co_return response.error();
    co_return failure(path, response.error().message());
  }
  auto reply = std::make_unique<Reply>();
  auto text = co_await response->body().read_all(kMaxReply);
  if (!text) {
    if (text.error() == cipherline::errc::operation_cancelled) co_return text.error();
    co_return failure(path, "reading the answer: " + text.error().message());
  }
  reply->body.text = std::move(*text);
  const std::string& json = reply->body.text;
  const auto parsed = reply->parser.parse(json.data(), json.size()).get(reply->root);
  if (response->status() != 200) {
    std::string what = "HTTP " + std::to_string(response->status());
    if (parsed == simdjson::SUCCESS) {
      if (const auto message = string_field(reply->root, "message"); !message.empty()) {
        what += ": " + quote_server(message);
      }
    }
    co_return failure(path, what);
  }
  if (parsed != simdjson::SUCCESS) {
    co_return failure(path,
                      std::string("malformed JSON answer: ") + simdjson::error_message(parsed));
  }
  if (!reply->root.is_object()) co_return failure(path, "the answer is not a JSON object");
  co_return std::move(reply);
}

Task<Result<std::int64_t, Error>> EtcdSecretStore::lease_remaining(std::int64_t lease) {
  std::string body;
  json::JsonWriter(body).begin_object().key("ID").string(std::to_string(lease)).end_object();
  auto reply = co_await call("/v3/lease/timetolive", std::move(body));
  if (!reply) co_return reply.error();
  const auto ttl = int64_field((*reply)->root, "TTL");
  if (!ttl) co_return failure("/v3/lease/timetolive", "TTL is not a number");
  co_return *ttl;
}

Task<void> EtcdSecretStore::revoke(std::int64_t lease) {
  std::string body;
  json::JsonWriter(body).begin_object().key("ID").string(std::to_string(lease)).end_object();
  // Best effort: a lease that is not revoked expires with its TTL. Not
  // cancelled with the put that failed: the clean-up is bounded by
  // request_timeout.
  (void)co_await with_stop_token(call("/v3/lease/revoke", std::move(body)), std::stop_token());
}

void EtcdSecretStore::remember(SecretPtr secret, Clock::time_point expires) {
  if (++inserts_ % kSweepEvery == 0) {
    const auto now = Clock::now();
    std::erase_if(cache_, [now](const auto& e) { return e.second.expires <= now; });
  }
  const std::string id = secret->id();
  cache_.insert_or_assign(id, Entry{std::move(secret), expires});
}

SecretPtr EtcdSecretStore::cached(std::string_view id) {
  const auto it = cache_.find(id);
  if (it == cache_.end()) return nullptr;
  if (it->second.expires <= Clock::now()) {
    cache_.erase(it);
    return nullptr;
  }
  return it->second.secret;
}

Task<Result<void, Error>> EtcdSecretStore::put(SecretPtr secret, std::chrono::seconds ttl) {
  const std::string id = secret->id();
  if (ttl.count() < 1) {
    co_return failure("/v3/lease/grant", "secret \"" + id + "\": a TTL must be at least 1 s");
  }
  const std::string key = b64(options_.prefix + id);

  const auto before = Clock::now();
  std::string grant_body;
  json::JsonWriter(grant_body).begin_object().key("TTL").number(ttl.count()).end_object();
  auto grant = co_await call("/v3/lease/grant", std::move(grant_body));
  if (!grant) co_return grant.error();
  const auto lease = int64_field((*grant)->root, "ID");
  const auto granted = int64_field((*grant)->root, "TTL");
  if (!lease || *lease == 0 || !granted || *granted <= 0) {
    co_return failure("/v3/lease/grant", "the answer lacks the lease's ID and TTL");
  }

  std::string txn_body;
  {
    WipedString value;
    value.text = crypto::to_base64(secret->key().bytes());
    json::JsonWriter(txn_body)
        .begin_object()
        .key("compare")
        .begin_array()
        .begin_object()
        .key("key")
        .string(key)
        .key("target")
        .string("CREATE")
        .key("result")
        .string("EQUAL")
        .key("create_revision")
        .string("0")
        .end_object()
        .end_array()
        .key("success")
        .begin_array()
        .begin_object()
        .key("request_put")
        .begin_object()
        .key("key")
        .string(key)
        .key("value")
        .string(value.text)
        .key("lease")
        .string(std::to_string(*lease))
        .end_object()
        .end_object()
        .end_array()
        .end_object();
  }
  auto txn = co_await call("/v3/kv/txn", std::move(txn_body), Resend::never);
  if (!txn) {
    co_await revoke(*lease);
    co_return txn.error();
  }
  if (!bool_field((*txn)->root, "succeeded")) {
    co_await revoke(*lease);
    co_return Error(errc::secret_exists, "secret \"" + id + "\" already exists");
  }
  remember(std::move(secret), before + std::chrono::seconds(*granted));
  co_return Result<void, Error>{};
}

Task<Result<SecretPtr, Error>> EtcdSecretStore::get(std::string_view id_view) {
  const std::string id(id_view);
  if (auto hit = cached(id)) co_return hit;

  std::string body;
  json::JsonWriter(body).begin_object().key("key").string(b64(options_.prefix + id)).end_object();
  auto range = co_await call("/v3/kv/range", std::move(body));
  if (!range) co_return range.error();
  simdjson::dom::array kvs;
  simdjson::dom::element kv;
  if ((*range)->root["kvs"].get(kvs) != simdjson::SUCCESS ||
      kvs.at(0).get(kv) != simdjson::SUCCESS) {
    co_return no_secret(id);
  }
  WipedBytes key;
  if (auto decoded = crypto::from_base64(string_field(kv, "value")); decoded) {
    key.bytes = std::move(*decoded);
  }
  if (key.bytes.size() != kKeySize) {
    co_return failure("/v3/kv/range", "the value for secret \"" + id + "\" is not a 32-byte key");
  }
  auto secret = std::make_shared<const protocol::InferenceSecret>(id, key.bytes);
  const auto lease = int64_field(kv, "lease");
  if (lease && *lease != 0) {
    const auto before = Clock::now();
    auto remaining = co_await lease_remaining(*lease);
    if (remaining) {
      // The lease ran out and etcd has yet to delete the key.
      if (*remaining <= 0) co_return no_secret(id);
      remember(secret, before + std::chrono::seconds(*remaining));
    }
  }
  co_return secret;
}

Task<void> EtcdSecretStore::watch() {
  if (watch_running_) throw std::logic_error("EtcdSecretStore::watch: a watch already runs");
  struct Running {
    EtcdSecretStore* store;
    explicit Running(EtcdSecretStore* s) : store(s) { store->watch_running_ = true; }
    ~Running() {
      store->watch_running_ = false;
      store->watching_ = false;
    }
  } running(this);

  const std::stop_token token = co_await get_stop_token();
  auto delay = options_.reconnect_min;
  while (!token.stop_requested()) {
    bool established = false;
    auto streamed = co_await watch_once(established);
    watching_ = false;
    if (token.stop_requested()) break;
    if (established) delay = options_.reconnect_min;
    if (!streamed) last_watch_error_ = streamed.error().message();
    // A stream that was quiet for watch_idle_timeout is reopened at once.
    if (established && !streamed && streamed.error() == http::errc::request_timeout) continue;
    if (!co_await sleep_for(delay)) break;
    delay = std::min(delay * 2, options_.reconnect_max);
  }
}

Task<Result<void, Error>> EtcdSecretStore::watch_once(bool& established) {
  constexpr const char* path = "/v3/watch";
  std::string body;
  json::JsonWriter(body)
      .begin_object()
      .key("create_request")
      .begin_object()
      .key("key")
      .string(b64(options_.prefix))
      .key("range_end")
      .string(b64(prefix_end(options_.prefix)))
      .key("start_revision")
      .string(std::to_string(next_revision_))
      .end_object()
      .end_object();
  http::ClientRequest request;
  request.method = "POST";
  request.target = path;
  request.idempotent = true;
  request.headers.add("Content-Type", "application/json");
  request.body = std::move(body);
  auto response = co_await watch_client_.request(origin_, std::move(request));
  if (!response) co_return failure(path, response.error().message());
  if (response->status() != 200) {
    co_return failure(path, "HTTP " + std::to_string(response->status()));
  }

  WipedString carry;
  while (true) {
    auto chunk = co_await response->body().next();
    if (!chunk) {
      if (chunk.error() == http::errc::request_timeout) co_return chunk.error();
      co_return failure(path, "the stream broke: " + chunk.error().message());
    }
    if (chunk->empty()) co_return failure(path, "etcd ended the stream");
    carry.text.append(as_string(*chunk));
    std::size_t newline;
    while ((newline = carry.text.find('\n')) != std::string::npos) {
      Reply line;
      line.body.text = carry.text.substr(0, newline);
      carry.text.erase(0, newline + 1);
      const std::string& json = line.body.text;
      if (json.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (const auto err = line.parser.parse(json.data(), json.size()).get(line.root); err) {
        co_return failure(
            path, std::string("malformed JSON in the stream: ") + simdjson::error_message(err));
      }
      simdjson::dom::element result;
      if (line.root["result"].get(result) != simdjson::SUCCESS) {
        simdjson::dom::element error;
        std::string_view message;
        if (line.root["error"].get(error) == simdjson::SUCCESS)
          message = string_field(error, "message");
        co_return failure(path, "etcd reported: " + (message.empty() ? std::string("no result")
                                                                     : quote_server(message)));
      }
      if (bool_field(result, "created")) {
        established = true;
        watching_ = true;
      }
      if (bool_field(result, "canceled")) {
        // Compacted past the revision asked for: resume from the oldest kept.
        if (const auto compacted = int64_field(result, "compact_revision");
            compacted && *compacted > 0) {
          next_revision_ = *compacted;
        }
        co_return failure(path, "etcd cancelled the watch: " +
                                    quote_server(string_field(result, "cancel_reason")));
      }
      simdjson::dom::array events;
      if (result["events"].get(events) != simdjson::SUCCESS) continue;
      for (const auto event : events) {
        simdjson::dom::element kv;
        if (event["kv"].get(kv) != simdjson::SUCCESS) continue;
        const auto revision = int64_field(kv, "mod_revision");
        if (revision) next_revision_ = std::max(next_revision_, *revision + 1);
        ++watch_events_;
        std::string name;
        if (auto decoded = crypto::from_base64(string_field(kv, "key")); decoded) {
          name.assign(reinterpret_cast<const char*>(decoded->data()), decoded->size());
        }
        if (!name.starts_with(options_.prefix)) continue;
        const std::string id = name.substr(options_.prefix.size());
        if (string_field(event, "type") == "DELETE") {
          cache_.erase(id);
          continue;
        }
        const auto lease = int64_field(kv, "lease");
        if (!lease || *lease == 0) continue;  // no lifetime to cache it for
        WipedBytes key;
        if (auto decoded = crypto::from_base64(string_field(kv, "value")); decoded) {
          key.bytes = std::move(*decoded);
        }
        if (key.bytes.size() != kKeySize) continue;
        auto secret = std::make_shared<const protocol::InferenceSecret>(id, key.bytes);
        const auto before = Clock::now();
        auto remaining = co_await lease_remaining(*lease);
        if (remaining && *remaining > 0) {
          remember(std::move(secret), before + std::chrono::seconds(*remaining));
        }
      }
    }
    if (carry.text.size() > kMaxWatchLine) {
      co_return failure(path,
                        "a stream line longer than " + std::to_string(kMaxWatchLine) + " bytes");
    }
  }
}

}  // namespace cipherline::backend
