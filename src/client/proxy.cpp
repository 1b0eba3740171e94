#include "cipherline/client/proxy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>

#include "cipherline/client/error.hpp"
#include "cipherline/client/verification_document.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "dashboard_page.hpp"

namespace cipherline::client {

using namespace std::chrono;

namespace {

// The proxy's own errors, in the shape of the caller's API (OpenAI, or
// Anthropic on /v1/messages). `may_have_run`: the request may have reached
// a worker, so the SDKs are told not to resend it (x-should-retry: false,
// which both official SDKs obey before their own retry rules).
Task<void> respond_json_error(const http::Request& request, http::ResponseWriter& writer,
                              int status, std::string_view message, std::string_view code = {},
                              bool may_have_run = false) {
  http::Headers headers{{"Content-Type", "application/json"}};
  if (may_have_run) headers.add("x-should-retry", "false");
  (void)co_await writer.respond(
      status, std::move(headers),
      protocol::error_body(protocol::error_dialect_for_path(request.head.path()),
                           protocol::error_type_for_status(status), message, code));
}

// RequestDump: one request's plaintext and its answer as two files in the
// --dump-requests directory, named <UTC time>_<sequence>_req.txt and
// _resp.txt so that they sort by time. Files are created 0600, never
// overwritten. Written on the loop thread: a debugging aid, not a hot path.
class RequestDump {
 public:
  RequestDump(const std::filesystem::path& dir, const http::Request& request,
              std::string_view body) {
    if (dir.empty()) return;
    static std::atomic<std::uint64_t> sequence{0};
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[64];
    const auto micros = duration_cast<microseconds>(now.time_since_epoch()).count() % 1000000;
    const auto n = strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%S", &tm);
    std::snprintf(stamp + n, sizeof stamp - n, ".%06lldZ_%06llu", static_cast<long long>(micros),
                  static_cast<unsigned long long>(sequence.fetch_add(1) % 1000000));
    const std::string base = (dir / stamp).string();
    if (std::FILE* req = open_new(base + "_req.txt")) {
      std::string head = request.head.method + " " + request.head.target + "\n";
      for (const auto& [name, value] : request.head.headers.fields()) {
        // Never the API key.
        if (http::header_name_equals(name, "Authorization") ||
            http::header_name_equals(name, "X-Api-Key") ||
            http::header_name_equals(name, "Proxy-Authorization") ||
            http::header_name_equals(name, "Cookie")) {
          continue;
        }
        head += name + ": " + value + "\n";
      }
      head += "\n";
      std::fwrite(head.data(), 1, head.size(), req);
      std::fwrite(body.data(), 1, body.size(), req);
      std::fclose(req);
    }
    response_ = open_new(base + "_resp.txt");
  }
  RequestDump(const RequestDump&) = delete;
  RequestDump& operator=(const RequestDump&) = delete;
  ~RequestDump() {
    if (response_) std::fclose(response_);
  }

  // status: the answer's status line and media type, once, before its text.
  void status(int status, std::string_view content_type) {
    if (!response_) return;
    std::fprintf(response_, "%d\nContent-Type: %.*s\n\n", status,
                 static_cast<int>(content_type.size()), content_type.data());
  }
  // text: the answer's (decrypted) bytes, as sent to the caller.
  void text(std::string_view bytes) {
    if (response_) std::fwrite(bytes.data(), 1, bytes.size(), response_);
  }
  // end: a note on how the answer ended, when it did not end as it should.
  void end(std::string_view why) {
    if (response_) std::fprintf(response_, "\n[%.*s]\n", static_cast<int>(why.size()), why.data());
  }

 private:
  static std::FILE* open_new(const std::string& path) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return nullptr;
    std::FILE* f = ::fdopen(fd, "wb");
    if (!f) ::close(fd);
    return f;
  }
  std::FILE* response_ = nullptr;
};

// The reason label of a failure: the part before the first ':'.
std::string reason_of(const Error& e) {
  const std::string message = e.message();
  return message.substr(0, message.find(':'));
}

constexpr std::string_view kNoKey =
    "no API key: start the proxy with --api-key, or send \"Authorization: Bearer <key>\" (or "
    "\"X-Api-Key: <key>\")";

// The caller's API key: "Authorization: Bearer <key>" (OpenAI's SDKs), else
// "X-Api-Key: <key>" (Anthropic's).
std::string bearer_of(const http::Request& request) {
  const auto h = request.head.headers.get("Authorization");
  if (!h || h->size() <= 7 || !http::header_name_equals(h->substr(0, 7), "Bearer ")) {
    const auto key = request.head.headers.get("X-Api-Key");
    return key ? std::string(*key) : std::string();
  }
  return std::string(h->substr(7));
}

}  // namespace

Proxy::Proxy(ProxyOptions options, ProxyMetrics& metrics)
    : options_([&] {
        options.client.session.observe = metrics.observer();
        options.client.client_kind = protocol::kClientProxy;
        return std::move(options);
      }()),
      metrics_(metrics),
      client_(options_.client, options_.session),
      key_per_request_(options_.client.session.api_key.empty()),
      api_key_known_(!key_per_request_) {}

Task<Result<void, Error>> Proxy::verify_once(std::string route,
                                             std::optional<std::string> api_key) {
  auto r = co_await client_.shared_session().establish(std::move(api_key));
  if (r) {
    client_.start_rotation();                  // once per session, whoever asks
    if (metrics_.verified.exchange(1) == 0) {  // the first loop to see it
      if (options_.log) options_.log("backend verified; secret exchanged");
      if (options_.on_verified) {
        (void)co_await client_.shared_session().with_session([this](Session& s) {
          options_.on_verified(s);
          return true;
        });
      }
    }
  } else {
    failure_ = r.error().message();
    metrics_.failure(reason_of(r.error()), route);
    if (options_.log) options_.log("verification failed: " + failure_);
  }
  co_return r;
}

Task<void> Proxy::verify_until_ready() {
  while (!verified()) {
    if (api_key_known_) {
      auto r = co_await verify_once({});
      if (!r && r.error() == errc::manifest_mismatch) co_return;  // never retried
    }
    if (verified()) break;
    if (!co_await sleep_for(options_.retry_interval)) co_return;
  }
}

Task<int> Proxy::ensure_verified(const http::Request& request) {
  if (verified()) co_return 0;
  if (!api_key_known_) {
    const std::string key = bearer_of(request);
    if (key.empty()) {
      failure_ = kNoKey;
      co_return 503;
    }
    // One key at a time: a request arriving while another's key is being
    // tried joins that attempt instead of swapping the key under it
    // (SharedSession::establish does the same across loops).
    std::optional<std::string> adopt;
    if (!adopting_) adopt = key;
    adopting_ = true;
    auto r = co_await verify_once(std::string(request.head.path()), std::move(adopt));
    adopting_ = false;
    if (r) {
      api_key_known_ = true;
      co_return 0;
    }
    // The caller's key was refused: theirs to fix (spec §3.4).
    if (r.error() == errc::unauthorized) co_return 401;
  }
  co_return 503;
}

Task<bool> Proxy::admit(const http::Request& request, http::ResponseWriter& writer,
                        steady_clock::time_point started, http::Headers& extra) {
  int refused = co_await ensure_verified(request);
  std::string why =
      refused == 401 ? "trying API key: " + failure_ : "the backend is not verified: " + failure_;
  std::string_view code = refused == 401       ? protocol::kCodeInvalidApiKey
                          : failure_ == kNoKey ? protocol::kCodeMissingApiKey
                                               : protocol::kCodeNotVerified;
  if (refused == 0 && key_per_request_) {
    if (const std::string key = bearer_of(request); key.empty()) {
      refused = 401;
      why = kNoKey;
      code = protocol::kCodeMissingApiKey;
    } else {
      extra.add("Authorization", "Bearer " + key);
    }
  }
  if (refused == 0) co_return true;
  co_await respond_json_error(request, writer, refused, why, code);
  log_request(request, refused, started, 0);
  co_return false;
}

void Proxy::log_request(const http::Request& request, int status, steady_clock::time_point started,
                        std::uint64_t bytes) {
  metrics_.request(request.head.path(), status);
  if (!options_.log) return;
  char line[512];
  std::snprintf(
      line, sizeof line, "%s %.*s %d %.3f ms %llu bytes", request.head.method.c_str(),
      static_cast<int>(std::min<std::size_t>(request.head.path().size(), 200)),
      request.head.path().data(), status,
      static_cast<double>(duration_cast<microseconds>(steady_clock::now() - started).count()) /
          1000.0,
      static_cast<unsigned long long>(bytes));
  options_.log(line);
}

Task<void> Proxy::serve_local(const http::Handler& handler, http::Request& request,
                              http::ResponseWriter& writer) {
  if (auto refusal = options_.callers.check(request.head.headers)) {
    const auto started = steady_clock::now();
    co_await respond_json_error(request, writer, refusal->status, refusal->message,
                                protocol::kCodeLocalCallersOnly);
    log_request(request, refusal->status, started, 0);
    co_return;
  }
  co_await handler(request, writer);
}

http::Router Proxy::router() {
  // Every route below is for local callers only.
  const auto local = [this](http::Handler handler) -> http::Handler {
    return [this, handler = std::move(handler)](http::Request& r, http::ResponseWriter& w) {
      return serve_local(handler, r, w);
    };
  };
  http::Router router;
  for (const auto route : {protocol::Route::chat_completions, protocol::Route::completions,
                           protocol::Route::embeddings, protocol::Route::messages,
                           protocol::Route::audio_transcriptions}) {
    router.add("POST", std::string(protocol::path_of(route)),
               local([this, route](http::Request& r, http::ResponseWriter& w) {
                 return forward(route, r, w);
               }),
               {.max_body = options_.max_body});
  }
  router.add_prefix("POST", "/unstructured/",
                    local([this](http::Request& r, http::ResponseWriter& w) {
                      return forward(protocol::Route::unstructured, r, w);
                    }),
                    {.max_body = options_.max_body});
  // The model list and GET /v1/models/{id}, passed through (spec §5.5).
  const auto models =
      local([this](http::Request& r, http::ResponseWriter& w) { return forward_models(r, w); });
  router.add("GET", "/v1/models", models);
  router.add_prefix("GET", "/v1/models/", models);
  router.add("GET", "/healthz",
             local([this](http::Request&, http::ResponseWriter& writer) -> Task<void> {
               if (verified()) {
                 (void)co_await writer.respond(200, {{"Content-Type", "text/plain"}}, "ok\n");
               } else {
                 (void)co_await writer.respond(503, {{"Content-Type", "text/plain"}},
                                               "not verified: " + failure_ + "\n");
               }
             }));
  router.add("GET", "/metrics",
             local([this](http::Request&, http::ResponseWriter& writer) -> Task<void> {
               (void)co_await writer.respond(200, {{"Content-Type", "text/plain; version=0.0.4"}},
                                             metrics_.to_prometheus());
             }));
  router.add("GET", "/verification",
             local([this](http::Request&, http::ResponseWriter& writer) -> Task<void> {
               (void)co_await writer.respond(200,
                                             {{"Content-Type", "application/json"},
                                              {"Cache-Control", "no-store"},
                                              {"X-Content-Type-Options", "nosniff"}},
                                             co_await verification());
             }));
  router.add("GET", "/dashboard",
             local([](http::Request&, http::ResponseWriter& writer) -> Task<void> {
               (void)co_await writer.respond(
                   200,
                   {{"Content-Type", "text/html; charset=utf-8"},
                    {"Content-Security-Policy", std::string(internal::dashboard_csp())},
                    {"X-Content-Type-Options", "nosniff"},
                    {"Referrer-Policy", "no-referrer"},
                    {"Cache-Control", "no-store"}},
                   internal::dashboard_page());
             }));
  return router;
}

Task<std::string> Proxy::verification() {
  // Read on the session's loop: this loop's state goes along as copies.
  co_return co_await client_.shared_session().with_session(
      [verified = verified(), failure = failure_, this](Session& session) {
        return verification_document({.proxy_verified = verified,
                                      .failure = failure,
                                      .session = session,
                                      .metrics = metrics_,
                                      .rotating = options_.client.keep_fresh},
                                     system_clock::now(), steady_clock::now());
      });
}

Task<void> Proxy::forward_models(http::Request& request, http::ResponseWriter& writer) {
  const auto started = steady_clock::now();
  http::Headers extra;
  if (!co_await admit(request, writer, started, extra)) co_return;
  const std::string_view path = request.head.path();
  const std::string id(path.size() > 11 ? path.substr(11) : std::string_view());  // /v1/models/
  RequestDump dump(options_.dump_requests, request, {});
  auto answer = co_await client_.models(id, std::move(extra));
  if (!answer) {
    const bool bad = answer.error() == errc::invalid_request;
    dump.end(answer.error().message());
    co_await respond_json_error(request, writer, bad ? 400 : 502,
                                (bad ? "" : "backend: ") + answer.error().message(),
                                bad ? std::string_view() : protocol::kCodeBadGateway);
    log_request(request, bad ? 400 : 502, started, 0);
    co_return;
  }
  if (answer->status != 200) {
    // The backend's error (404 for an unknown ID), in the caller's shape.
    const auto parsed = protocol::parse_error_body(answer->body);
    dump.status(answer->status, protocol::kJsonType);
    dump.text(answer->body);
    co_await respond_json_error(
        request, writer, answer->status,
        parsed ? parsed->message : "backend: status " + std::to_string(answer->status),
        parsed ? std::string_view(parsed->code) : std::string_view());
    log_request(request, answer->status, started, 0);
    co_return;
  }
  dump.status(200, protocol::kJsonType);
  dump.text(answer->body);
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, answer->body);
  log_request(request, 200, started, answer->body.size());
}

Task<void> Proxy::forward(protocol::Route route, http::Request& request,
                          http::ResponseWriter& writer) {
  const auto started = steady_clock::now();
  http::Headers extra;
  if (!co_await admit(request, writer, started, extra)) co_return;
  auto body = co_await request.body.read_all(options_.max_body);
  if (!body) {
    const bool too_large = body.error() == http::errc::body_too_large;
    co_await respond_json_error(request, writer, too_large ? 413 : 400,
                                "reading the request: " + body.error().message(),
                                too_large ? protocol::kCodeBodyTooLarge : std::string_view());
    log_request(request, too_large ? 413 : 400, started, 0);
    co_return;
  }
  if (auto accept = request.head.headers.get("Accept")) extra.add("Accept", *accept);
  // A form's boundary, an unstructured body's type (JSON routes set their own).
  const bool unstructured = route == protocol::Route::unstructured;
  if (route == protocol::Route::audio_transcriptions || unstructured) {
    if (auto type = request.head.headers.get("Content-Type")) extra.add("Content-Type", *type);
  }
  const auto plaintext_bytes = body->size();
  RequestDump dump(options_.dump_requests, request, *body);
  auto sending = unstructured ? client_.send_unstructured(request.head.target, std::move(*body),
                                                          std::move(extra))
                              : client_.send(route, std::move(*body), std::move(extra));
  auto response = co_await std::move(sending);
  // The client's retries since the last request (its count is per loop,
  // the metrics are shared by all).
  metrics_.retries += client_.counters().retries - retries_reported_;
  retries_reported_ = client_.counters().retries;
  if (response) metrics_.bytes_encrypted += plaintext_bytes;
  if (!response) {
    const bool bad_request = response.error() == errc::invalid_request;
    const bool cut_off = response.error() == errc::response_cut_off;
    const std::string message = (bad_request ? "" : "backend: ") + response.error().message();
    metrics_.failure(reason_of(response.error()), request.head.path());
    dump.end(message);
    co_await respond_json_error(request, writer, bad_request ? 400 : 502, message,
                                bad_request ? protocol::kCodeInvalidJson
                                : cut_off   ? protocol::kCodeResponseCutOff
                                            : protocol::kCodeBadGateway,
                                // Anything but a request refused before it was sent may have run.
                                !bad_request && response.error() != std::errc::connection_refused);
    log_request(request, bad_request ? 400 : 502, started, 0);
    co_return;
  }
  if (response->wire_format() == protocol::WireFormat::oae) ++metrics_.oae_responses;
  if (!response->encrypted()) {
    // The gateway's own error, in plaintext: passed on as the proxy's error
    // in its own shape, never with the gateway's bytes or media type, so
    // nothing unauthenticated can pass for an answer.
    auto text = co_await response->read_all();
    metrics_.failure("gateway error", request.head.path());
    const auto parsed = text ? protocol::parse_error_body(*text) : std::nullopt;
    const std::string message =
        "gateway (unauthenticated): " + (parsed ? parsed->message.substr(0, 4096)
                                         : text ? text->substr(0, 4096)
                                                : text.error().message());
    const std::string code = parsed ? parsed->code : "";
    dump.status(response->status(), protocol::kJsonType);
    dump.text(text ? *text : text.error().message());
    co_await respond_json_error(request, writer, response->status(), message, code,
                                response->status() >= 500 && code != protocol::kCodeNotForwarded);
    log_request(request, response->status(), started, 0);
    co_return;
  }
  http::Headers headers;
  if (!response->content_type().empty()) headers.add("Content-Type", response->content_type());
  // An encrypted answer came from a worker, whatever its status says (and
  // the status is not authenticated): the model may have run, so the SDKs
  // must not resend it.
  if (response->status() >= 400) headers.add("x-should-retry", "false");
  if (!response->event_stream()) {
    auto answer = co_await response->read_all();
    if (!answer) {
      metrics_.failure(reason_of(answer.error()), request.head.path());
      dump.end(answer.error().message());
      co_await respond_json_error(request, writer, 502, "backend: " + answer.error().message(),
                                  protocol::kCodeResponseCutOff, true);
      log_request(request, 502, started, 0);
      co_return;
    }
    dump.status(response->status(), response->content_type());
    dump.text(*answer);
    metrics_.bytes_decrypted += answer->size();
    (void)co_await writer.respond(response->status(), std::move(headers), *answer);
    log_request(request, response->status(), started, answer->size());
    co_return;
  }
  ++metrics_.streams;
  dump.status(response->status(), response->content_type());
  headers.add("Cache-Control", "no-cache");
  if (!co_await writer.start(response->status(), std::move(headers))) co_return;
  std::uint64_t bytes = 0;
  auto previous = steady_clock::now();  // the last read that carried events
  while (true) {
    auto more = co_await response->read();
    if (!more) {
      // Cut, forged or undecryptable: the caller's stream is cut too, so
      // it can never take what arrived for a complete answer.
      metrics_.failure(reason_of(more.error()), request.head.path());
      if (options_.log) options_.log("stream broken off: " + more.error().message());
      dump.end("stream broken off: " + more.error().message());
      writer.abort();
      break;
    }
    if (!*more) {
      (void)co_await writer.finish();
      break;
    }
    if (const auto n = response->events().size(); n > 0) {
      const auto now = steady_clock::now();
      metrics_.events += n;
      metrics_.stream_read(n, duration_cast<microseconds>(now - previous));
      previous = now;
    }
    dump.text(response->text());
    bytes += response->text().size();
    metrics_.bytes_decrypted += response->text().size();
    if (!co_await writer.write(response->text())) break;
    // An error the worker sealed ends the stream: the caller's stream is
    // cut off after it, not finished as if the answer were complete.
    const auto events = response->events();
    if (!events.empty() && events.back().is_error()) {
      metrics_.failure("stream error", request.head.path());
      writer.abort();
      break;
    }
  }
  log_request(request, response->status(), started, bytes);
}

}  // namespace cipherline::client
