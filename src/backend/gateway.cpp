#include "cipherline/backend/gateway.hpp"

#include <optional>

#include "cipherline/backend/error_response.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/protocol/form_cipher.hpp"
#include "cipherline/protocol/header_names.hpp"
#include "cipherline/protocol/json_fields.hpp"

namespace cipherline::backend {
namespace {

bool travels(std::string_view name) {
  return http::header_name_equals(name, "Content-Type") ||
         http::header_name_equals(name, "Accept") ||
         (name.size() > 12 && http::header_name_equals(name.substr(0, 12), "Privatemode-"));
}

}  // namespace

bool Gateway::authorized(const http::Request& request, std::string& why,
                         std::string_view& code) const {
  const auto header = request.head.headers.get("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!header || header->size() <= kBearer.size() ||
      !http::header_name_equals(header->substr(0, kBearer.size()), kBearer)) {
    why = "missing API key: send \"Authorization: Bearer <key>\"";
    code = protocol::kCodeMissingApiKey;
    return false;
  }
  const auto key = std::as_bytes(std::span(header->substr(kBearer.size())));
  bool match = false;
  for (const auto& k : options_.api_keys) {
    const auto candidate = std::as_bytes(std::span(k));
    match |= candidate.size() == key.size() && crypto::constant_time_equal(candidate, key);
  }
  if (!match) {
    why = "invalid API key";
    code = protocol::kCodeInvalidApiKey;
  }
  return match;
}

http::Router Gateway::router() {
  http::Router router;
  const auto guarded = [this](auto inner) {
    return [this, inner](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
      std::string why;
      std::string_view code;
      if (!authorized(request, why, code)) {
        co_await respond_error(request, writer, 401, why, code);
        co_return;
      }
      co_await inner(request, writer);
    };
  };
  router.add("GET", "/healthz", [](http::Request&, http::ResponseWriter& writer) -> Task<void> {
    (void)co_await writer.respond(200, {{"Content-Type", "text/plain"}}, "ok\n");
  });
  router.add("POST", "/privatemode/v1/attest",
             guarded([this](http::Request& r, http::ResponseWriter& w) { return attest_(r, w); }),
             {.max_body = 4096});
  router.add("POST", "/privatemode/v1/secret",
             guarded([this](http::Request& r, http::ResponseWriter& w) { return secret_(r, w); }),
             {.max_body = 64 * 1024});
  for (const auto route : {protocol::Route::chat_completions, protocol::Route::completions,
                           protocol::Route::embeddings, protocol::Route::messages,
                           protocol::Route::audio_transcriptions}) {
    router.add("POST", std::string(protocol::path_of(route)),
               guarded([this](http::Request& r, http::ResponseWriter& w) {
                 return route_inference(r, w);
               }),
               {.max_body = route == protocol::Route::audio_transcriptions
                                ? protocol::sealed_form_limit(options_.max_body)
                                : options_.max_body});
  }
  if (options_.plaintext_routes) {
    for (const auto route : {protocol::Route::chat_completions, protocol::Route::completions,
                             protocol::Route::embeddings, protocol::Route::messages}) {
      router.add("POST", "/plain" + std::string(protocol::path_of(route)),
                 guarded([this](http::Request& r, http::ResponseWriter& w) {
                   return route_inference(r, w);
                 }),
                 {.max_body = options_.max_body});
    }
  }
  // What names no model goes to any worker: the model list, one model
  // (GET /v1/models/{id}) and unstructured documents (spec §5.6).
  const auto any_worker = [this](http::Request& r, http::ResponseWriter& w) -> Task<void> {
    if (workers_.empty()) {
      co_await respond_error(r, w, 503, "no worker is registered");
      co_return;
    }
    co_await relay(r, w, workers_.begin()->second);
  };
  router.add_prefix("POST", "/unstructured/", guarded(any_worker), {.max_body = options_.max_body});
  router.add("GET", "/v1/models", guarded(any_worker));
  router.add_prefix("GET", "/v1/models/", guarded(any_worker));
  return router;
}

Task<void> Gateway::route_inference(http::Request& request, http::ResponseWriter& writer) {
  const auto model = request.head.headers.get(protocol::kTargetModelHeader);
  if (!model || model->empty()) {
    co_await respond_error(request, writer, 400, "missing Privatemode-Target-Model header");
    co_return;
  }
  const auto pool = workers_.find(*model);
  if (pool == workers_.end() || pool->second.origins.empty()) {
    // 400, as for any other bad field of the request: the SDKs' BadRequestError.
    co_await respond_error(request, writer, 400,
                           "model \"" + std::string(*model) + "\" is not served here",
                           protocol::kCodeModelNotFound);
    co_return;
  }
  co_await relay(request, writer, pool->second);
}

Task<void> Gateway::relay(http::Request& request, http::ResponseWriter& writer, Pool& pool) {
  // The route's own limit has been applied; a sealed form may be larger.
  auto body = co_await request.body.read_all(protocol::sealed_form_limit(options_.max_body));
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  const std::string path(request.head.path());
  if (options_.tap) options_.tap("request", path, *body);
  http::ClientRequest forward{.method = request.head.method, .target = request.head.target};
  for (const auto& [name, value] : request.head.headers.fields()) {
    if (travels(name)) forward.headers.add(name, value);
  }
  // Round robin; a worker that refuses the connection (restarting, gone)
  // passes the request to the next one, each tried once.
  std::optional<Result<http::ClientResponse, Error>> response;
  std::string tried;
  for (std::size_t attempt = 0; attempt < pool.origins.size(); ++attempt) {
    const auto& worker = pool.origins[pool.next++ % pool.origins.size()];
    http::ClientRequest copy = forward;
    copy.body = attempt + 1 < pool.origins.size() ? *body : std::move(*body);
    response.emplace(co_await client_.request(worker, std::move(copy)));
    if (*response || (*response).error() != std::errc::connection_refused) break;
    tried +=
        (tried.empty() ? "" : "; ") + worker.to_string() + ": " + (*response).error().message();
  }
  if (!*response) {
    // Every worker refused the connection: the request went nowhere, which
    // the code says, so a client may send it again. Any other failure came
    // after a worker may have taken the request: not to be resent.
    const bool refused = (*response).error() == std::errc::connection_refused;
    co_await respond_error(request, writer, 502,
                           refused ? "no worker answered; the request was not forwarded: " + tried
                                   : "worker: " + (*response).error().message(),
                           refused ? protocol::kCodeNotForwarded : protocol::kCodeBadGateway);
    co_return;
  }
  auto& answered = **response;
  http::Headers headers;
  for (const auto& [name, value] : answered.head().headers.fields()) {
    if (travels(name) || http::header_name_equals(name, "Cache-Control")) headers.add(name, value);
  }
  if (answered.head().content_length) {
    auto answer = co_await answered.body().read_all(128 * 1024 * 1024);
    if (!answer) {
      co_await respond_error(request, writer, 502, "worker: " + answer.error().message());
      co_return;
    }
    if (options_.tap) options_.tap("response", path, *answer);
    (void)co_await writer.respond(answered.status(), std::move(headers), *answer);
    co_return;
  }
  if (!co_await writer.start(answered.status(), std::move(headers))) co_return;
  std::string burst;  // what arrived together leaves in one write
  while (true) {
    auto text = co_await answered.body().next_burst(burst);
    if (!text) {
      writer.abort();  // the worker broke off: so does the client's response
      co_return;
    }
    if (text->empty()) break;
    if (options_.tap) options_.tap("response", path, *text);
    if (!co_await writer.write(*text)) co_return;
  }
  (void)co_await writer.finish();
}

}  // namespace cipherline::backend
