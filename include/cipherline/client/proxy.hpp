// Proxy: an OpenAI-compatible HTTP server that forwards every request
// through an attested, encrypted Client — `cipherline proxy` (spec §6).
//
//   ProxyMetrics metrics;
//   Proxy proxy(options, metrics);
//   http::HttpServer server(proxy.router());
//   scope.spawn(proxy.verify_until_ready());    // attest, verify, exchange; retried
//   co_await server.serve(listener);
//   co_await proxy.close();
//
// Contract:
// - Routes: POST /v1/chat/completions, /v1/completions, /v1/embeddings,
//   /v1/messages, /v1/audio/transcriptions (a multipart form, its
//   Content-Type passed on; streaming or not, as the request asks), POST
//   /unstructured/* (the body sealed whole), GET /v1/models and
//   /v1/models/{id} (the backend's answer; 404 for an unknown ID),
//   GET /healthz (200 "ok" once the backend verified, else 503 with the
//   reason), GET /metrics (Prometheus text), GET /verification (JSON: the
//   verified state, the Coordinator's evidence and report, the manifest,
//   the secret, the counters of /metrics, the last errors and per-second
//   series; see verification_document.hpp) and GET /dashboard (a
//   self-contained HTML page showing /verification, served with a strict
//   Content-Security-Policy and nosniff). Proxies on several loops share
//   one SharedSession (ProxyOptions::session): one attestation, one key
//   exchange and one rotation for the process; /verification shows it, and
//   the counters are shared.
// - Every route serves local callers only (`callers`, see LocalCallers): a
//   request whose Host is not one of the proxy's names (DNS rebinding) gets
//   421, one whose Origin is not allowed (a web page's request) 403, each
//   with a JSON error naming the header and its value, before anything else
//   happens.
// - Nothing is forwarded before verification succeeded: such requests get
//   503 with a JSON error saying why ("the backend is not verified:
//   manifest mismatch: …"). Without a configured API key, the first
//   request's bearer token is adopted for attestation and key exchange,
//   and every request is forwarded with its own bearer token (401 when it
//   has none): one user's key never serves another.
// - Errors are JSON in the shape the official SDKs parse (protocol/
//   error_body.hpp): {"error":{"message","type","code"}} on OpenAI routes,
//   {"type":"error","error":{"type","message"}} on /v1/messages, the type
//   from the status. Bad requests get 4xx naming the problem: 400 invalid
//   JSON, missing "model"; 413 bodies over `max_body` (router limit).
// - Backend failures are 502 with the reason; the gateway's plaintext
//   errors keep their status and code, the message prefixed "gateway
//   (unauthenticated): ". An error after the request may have reached a
//   worker carries `x-should-retry: false`, so SDKs do not run it twice. A
//   stream the backend breaks off is cut off for the client too (never
//   completed with made-up data).
// - Logs (one line per request: method, path, status, duration, bytes —
//   never content) go to `log`, if set.
// - Loop thread only; one Proxy per loop; metrics may be shared by loops.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "cipherline/client/client.hpp"
#include "cipherline/client/local_callers.hpp"
#include "cipherline/client/proxy_metrics.hpp"
#include "cipherline/http/router.hpp"

namespace cipherline::client {

struct ProxyOptions {
  ClientOptions client;
  // The session every loop's proxy shares; null: this proxy makes its own
  // from client.session (and stops its rotation in close()). A shared one's
  // SessionOptions::observe should be ProxyMetrics::observer().
  std::shared_ptr<SharedSession> session{};
  std::uint64_t max_body = 16 * 1024 * 1024;
  std::chrono::milliseconds retry_interval{2000};  // between verification attempts
  // Whom the proxy serves; set it listening_on() the bound address.
  LocalCallers callers{};
  std::function<void(std::string_view line)> log{};
  // Called once per process (the first proxy to see the backend verified),
  // on the session's owner loop.
  std::function<void(Session&)> on_verified{};
  // Non-empty: every forwarded request and its answer are written here in
  // PLAINTEXT (prompts, answers, streams as decrypted event text; not the
  // Authorization header), one <UTC time>_<n>_req.txt / _resp.txt pair per
  // request, names sorting by time. Off by default; the directory must
  // exist. Only `cipherline proxy --dump-requests DIR` sets it, with a
  // warning on stderr; no environment variable does.
  std::filesystem::path dump_requests{};
};

class Proxy {
 public:
  Proxy(ProxyOptions options, ProxyMetrics& metrics);

  http::Router router();
  // verify_until_ready: establishes the session (if an API key is known),
  // retrying every retry_interval until it succeeds or the task is stopped;
  // a manifest mismatch is not retried.
  Task<void> verify_until_ready();
  Task<void> close() { return client_.close(); }

  // verified: the session (shared by every loop's proxy) was verified once.
  bool verified() const noexcept { return client_.shared_session().verified(); }
  const std::string& failure() const noexcept { return failure_; }
  Client& client() noexcept { return client_; }

 private:
  // ensure_verified: 0 once the backend is verified, else the status to
  // refuse the request with (401 when its own key was tried and the gateway
  // refused it, else 503), failure_ saying why.
  Task<int> ensure_verified(const http::Request& request);
  // admit: whether `request` may be forwarded: the backend is verified and,
  // without a configured key, the request brings its own (put into
  // `extra`). If not, it is answered (401 or 503, with the reason) and logged.
  Task<bool> admit(const http::Request& request, http::ResponseWriter& writer,
                   std::chrono::steady_clock::time_point started, http::Headers& extra);
  // verify_once: route is the request that asked for it (none: background).
  // With `api_key`, that key is tried (a request's own, adopted).
  Task<Result<void, Error>> verify_once(std::string route,
                                        std::optional<std::string> api_key = std::nullopt);
  // verification: the GET /verification document.
  Task<std::string> verification();
  // serve_local: `handler`'s answer for a local caller, else the refusal.
  Task<void> serve_local(const http::Handler& handler, http::Request& request,
                         http::ResponseWriter& writer);
  Task<void> forward(protocol::Route route, http::Request& request, http::ResponseWriter& writer);
  Task<void> forward_models(http::Request& request, http::ResponseWriter& writer);
  void log_request(const http::Request& request, int status,
                   std::chrono::steady_clock::time_point started, std::uint64_t bytes);

  ProxyOptions options_;
  ProxyMetrics& metrics_;
  Client client_;
  const bool key_per_request_;  // no --api-key: every request brings its own
  bool api_key_known_;
  bool adopting_ = false;  // a request's key is being tried
  std::uint64_t retries_reported_ = 0;
  std::string failure_ = "verification has not run yet";
};

}  // namespace cipherline::client
