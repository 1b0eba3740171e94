#include "cipherline/backend/worker.hpp"

#include "cipherline/backend/error.hpp"
#include "cipherline/backend/error_response.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "cipherline/protocol/event_fields.hpp"
#include "cipherline/protocol/field_cipher.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::backend {
namespace {

// The secret ID a request names: its header, else its first encrypted field.
std::optional<std::string> secret_id_of(const http::Request& request, std::string_view body,
                                        const protocol::PlainFields& plain) {
  if (auto id = request.head.headers.get("Privatemode-Secret-ID")) return std::string(*id);
  std::optional<std::string> id;
  std::string ignored;
  (void)protocol::open_json_fields(
      body, plain,
      [&](std::string_view field, std::string&) -> Result<void, Error> {
        if (auto parsed = protocol::parse_field(field)) {
          id = std::string(parsed->secret_id);
        }
        // Stop at the first field either way.
        return Error(crypto::errc::cipher_state, "found");
      },
      ignored);
  return id;
}

Result<void, Error> check_gpus(const protocol::AcceptedOcsp& accepted,
                               const std::vector<GpuOcspStatus>& statuses) {
  for (const auto& gpu : statuses) {
    const std::pair<const char*, const protocol::OcspStatus*> parts[] = {
        {"driver", &gpu.driver}, {"GPU", &gpu.gpu}, {"VBIOS", &gpu.vbios}};
    for (const auto& [what, status] : parts) {
      if (!accepted.accepts(*status)) {
        return Error(crypto::errc::signature_invalid,
                     std::string("GPU attestation returned a ") + what +
                         " OCSP status that is not accepted by the client: " +
                         std::string(protocol::to_string(status->value)));
      }
    }
  }
  return {};
}

}  // namespace

void Worker::add_routes(http::Router& router) {
  for (const auto route : {protocol::Route::chat_completions, protocol::Route::completions,
                           protocol::Route::embeddings, protocol::Route::messages}) {
    router.add("POST", std::string(protocol::path_of(route)),
               [this, route](http::Request& request, http::ResponseWriter& writer) {
                 return serve(route, request, writer);
               },
               {.max_body = options_.max_body});
  }
  if (options_.plaintext_routes) {
    for (const auto route : {protocol::Route::chat_completions, protocol::Route::completions,
                             protocol::Route::embeddings, protocol::Route::messages}) {
      router.add("POST", "/plain" + std::string(protocol::path_of(route)),
                 [this, route](http::Request& request, http::ResponseWriter& writer) {
                   return serve_plaintext(route, request, writer);
                 },
                 {.max_body = options_.max_body});
    }
  }
  router.add("GET", "/v1/models", [this](http::Request& request, http::ResponseWriter& writer) {
    return list_models(request, writer);
  });
}

Task<void> Worker::list_models(http::Request& request, http::ResponseWriter& writer) {
  auto response =
      co_await client_.request(options_.model, {.method = "GET", .target = "/v1/models"});
  auto body = response ? co_await response->body().read_all(1 << 20)
                       : Result<std::string, Error>(response.error());
  if (!body) {
    co_await respond_error(request, writer, 502, "model server: " + body.error().message());
    co_return;
  }
  http::Headers headers;
  if (auto type = response->head().headers.get("Content-Type")) headers.add("Content-Type", *type);
  (void)co_await writer.respond(response->status(), std::move(headers), *body);
}

Task<void> Worker::serve_plaintext(protocol::Route route, http::Request& request,
                                   http::ResponseWriter& writer) {
  auto body = co_await request.body.read_all(options_.max_body);
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  auto response =
      co_await client_.request(options_.model, {.method = "POST",
                                                .target = std::string(protocol::path_of(route)),
                                                .headers = {{"Content-Type", "application/json"}},
                                                .body = std::move(*body)});
  if (!response) {
    co_await respond_error(request, writer, 502, "model server: " + response.error().message());
    co_return;
  }
  http::Headers headers;
  if (auto type = response->head().headers.get("Content-Type")) headers.add("Content-Type", *type);
  if (!co_await writer.start(response->status(), std::move(headers))) co_return;
  while (true) {
    auto chunk = co_await response->body().next();
    if (!chunk) {
      writer.abort();
      co_return;
    }
    if (chunk->empty()) break;
    if (!co_await writer.write(*chunk)) co_return;
  }
  (void)co_await writer.finish();
}

Task<void> Worker::serve(protocol::Route route, http::Request& request,
                         http::ResponseWriter& writer) {
  if (!active_) {
    co_await respond_error(
        request, writer, 503,
        "worker " + options_.name + " is not activated: its GPU attestation has not passed");
    co_return;
  }
  auto body = co_await request.body.read_all(options_.max_body);
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  const auto plain_request = protocol::plain_request_fields(route);
  const auto id = secret_id_of(request, *body, plain_request);
  if (!id) {
    co_await respond_error(request, writer, 400,
                           "the request has no encrypted field, so its response cannot be "
                           "encrypted");
    co_return;
  }
  auto secret = co_await secrets_.get(*id);
  if (!secret) {
    co_await respond_error(request, writer, secret.error() == errc::no_secret ? 500 : 503,
                           secret.error().message());
    co_return;
  }
  const auto& headers = request.head.headers;
  auto accepted =
      protocol::check_ocsp_policy(headers.get("Privatemode-NVIDIA-OCSP-Policy"),
                                  headers.get("Privatemode-NVIDIA-OCSP-Policy-MAC"), **secret);
  if (accepted) {
    if (auto gpus = check_gpus(*accepted, statuses_); !gpus) accepted = gpus.error();
  }
  if (!accepted) {
    co_await respond_error(request, writer, 500, accepted.error().message());
    co_return;
  }

  protocol::ResponseCipher cipher(*secret);
  const auto open = [&cipher](std::string_view field, std::string& out) {
    return cipher.open(field, out);
  };
  const auto seal = [&cipher](std::string_view raw, std::string& out) {
    return cipher.seal(raw, out);
  };
  std::string plaintext;
  plaintext.reserve(body->size());
  if (auto r = protocol::open_json_fields(*body, plain_request, open, plaintext); !r) {
    co_await respond_error(request, writer, 500,
                           "forwarding request: mutating request: " + r.error().message());
    co_return;
  }
  if (!cipher.has_nonce()) {
    co_await respond_error(request, writer, 400,
                           "the request has no encrypted field, so its response cannot be "
                           "encrypted");
    co_return;
  }

  auto response =
      co_await client_.request(options_.model, {.method = "POST",
                                                .target = std::string(protocol::path_of(route)),
                                                .headers = {{"Content-Type", "application/json"}},
                                                .body = std::move(plaintext)});
  if (!response) {
    co_await respond_error(request, writer, 502, "model server: " + response.error().message());
    co_return;
  }
  const auto plain_response = protocol::plain_response_fields(route);
  const auto type = response->head().headers.get("Content-Type").value_or("");
  http::Headers out_headers;
  if (!type.empty()) out_headers.add("Content-Type", type);

  if (!type.starts_with("text/event-stream")) {
    auto answer = co_await response->body().read_all(128 * 1024 * 1024);
    if (!answer) {
      co_await respond_error(request, writer, 502, "model server: " + answer.error().message());
      co_return;
    }
    std::string sealed;
    sealed.reserve(answer->size() * 2 + 256);
    if (auto r = protocol::seal_json_fields(*answer, plain_response, seal, sealed); !r) {
      co_await respond_error(request, writer, 500,
                             "encrypting the response: " + r.error().message());
      co_return;
    }
    (void)co_await writer.respond(response->status(), std::move(out_headers), sealed);
    co_return;
  }

  // A stream: seal event by event, writing what one read of the model's
  // body brought in one chunk.
  out_headers.add("Cache-Control", "no-cache");
  if (!co_await writer.start(response->status(), std::move(out_headers))) co_return;
  http::SseReader events;
  std::string sealed;
  while (true) {
    auto chunk = co_await response->body().next();
    if (!chunk) {  // the model broke off: so does the stream
      writer.abort();
      co_return;
    }
    if (chunk->empty()) break;
    events.feed(*chunk);
    sealed.clear();
    bool broken = false;
    while (true) {
      auto event = events.next();
      if (!event) broken = true;
      if (!event || !*event) break;
      const auto complete = sealed.size();
      if (!protocol::seal_event((*event)->type, (*event)->data, plain_response, seal, sealed)) {
        sealed.resize(complete);
        broken = true;
        break;
      }
    }
    // A stream the model broke is cut off unfinished, so the client sees it
    // end early rather than a plaintext event it could not authenticate.
    if (broken) {
      if (!sealed.empty()) (void)co_await writer.write(sealed);
      writer.abort();
      co_return;
    }
    if (!sealed.empty() && !co_await writer.write(sealed)) co_return;
  }
  (void)co_await writer.finish();
}

}  // namespace cipherline::backend
