#include "cipherline/backend/worker.hpp"

#include "cipherline/backend/error.hpp"
#include "cipherline/backend/error_response.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "cipherline/http/sse_writer.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/protocol/event_fields.hpp"
#include "cipherline/protocol/field_cipher.hpp"
#include "cipherline/protocol/form_cipher.hpp"
#include "cipherline/protocol/header_names.hpp"
#include "cipherline/protocol/oae_carriage.hpp"
#include "cipherline/protocol/request_cipher.hpp"
#include "cipherline/protocol/unstructured_cipher.hpp"

namespace cipherline::backend {
namespace {

// The secret ID a request names: its header, else its first encrypted field.
std::optional<std::string> secret_id_of(const http::Request& request, std::string_view body,
                                        const protocol::PlainFields& plain) {
  if (auto id = request.head.headers.get(protocol::kSecretIdHeader)) return std::string(*id);
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

// The secret ID a form request names: its header, else its first sealed part.
std::optional<std::string> secret_id_of(const http::Request& request,
                                        const protocol::OrderedForm& form,
                                        const protocol::PlainFields& plain) {
  if (auto id = request.head.headers.get(protocol::kSecretIdHeader)) return std::string(*id);
  if (const auto first = form.first_sealed(plain)) {
    if (auto parsed = protocol::parse_field(*first)) return std::string(parsed->secret_id);
  }
  return std::nullopt;
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
                           protocol::Route::embeddings, protocol::Route::messages,
                           protocol::Route::audio_transcriptions}) {
    router.add("POST", std::string(protocol::path_of(route)),
               [this, route](http::Request& request, http::ResponseWriter& writer) {
                 return serve(route, request, writer);
               },
               {.max_body = route == protocol::Route::audio_transcriptions
                                ? protocol::sealed_form_limit(options_.max_body)
                                : options_.max_body});
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
  router.add_prefix("POST", std::string(protocol::kUnstructuredPrefix),
                    [this](http::Request& request, http::ResponseWriter& writer) {
                      return serve(protocol::Route::unstructured, request, writer);
                    },
                    {.max_body = options_.max_body});
  router.add("GET", "/v1/models", [this](http::Request& request, http::ResponseWriter& writer) {
    return list_models(request, writer);
  });
  router.add_prefix("GET", "/v1/models/",
                    [this](http::Request& request, http::ResponseWriter& writer) {
                      return list_models(request, writer);
                    });
}

Task<void> Worker::list_models(http::Request& request, http::ResponseWriter& writer) {
  // The list, or one model (/v1/models/{id}): the model server's answer.
  const std::string_view target = request.head.target;
  constexpr std::string_view kOne = "/v1/models/";
  if (target.starts_with(kOne) && !protocol::is_plain_path_tail(target.substr(kOne.size()))) {
    co_await respond_error(
        request, writer, 400,
        "not a model ID: \"" + std::string(target.substr(kOne.size(), 200)) + "\"");
    co_return;
  }
  auto response = co_await client_.request(
      options_.model, {.method = "GET", .target = std::string(request.head.path())});
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
  std::string burst;
  while (true) {
    auto chunk = co_await response->body().next_burst(burst);
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
  // The route's own limit has been applied; a sealed form may be larger.
  auto body = co_await request.body.read_all(protocol::sealed_form_limit(options_.max_body));
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  const auto& headers = request.head.headers;
  const bool oae =
      headers.get("Content-Type").value_or("").starts_with(protocol::kEncryptedBodyType);
  const auto plain_request = protocol::plain_request_fields(route);
  // A transcription is a form (spec §5.4): its parts, not JSON fields, are
  // sealed, and it has no OAE carriage.
  const bool form = route == protocol::Route::audio_transcriptions;
  // Unstructured: the whole body is one sealed message (spec §5.6).
  const bool whole_body = route == protocol::Route::unstructured;
  if (whole_body &&
      !protocol::is_plain_path_tail(
          std::string_view(request.head.target).substr(protocol::kUnstructuredPrefix.size()))) {
    co_await respond_error(request, writer, 400,
                           "not an unstructured route: \"" + request.head.target.substr(0, 200) +
                               "\" (plain path segments only, no query)");
    co_return;
  }
  std::optional<protocol::OrderedForm> ordered;
  if ((form || whole_body) && oae) {
    co_await respond_error(request, writer, 400,
                           "an encrypted body is not accepted on " +
                               std::string(form ? protocol::path_of(route) : request.head.path()) +
                               ": it has a format of its own");
    co_return;
  }
  if (form) {
    auto parsed = protocol::OrderedForm::parse(headers.get("Content-Type").value_or(""), *body);
    if (!parsed) {
      co_await respond_error(request, writer, 400, "the request: " + parsed.error().message());
      co_return;
    }
    ordered.emplace(std::move(*parsed));
  }
  std::optional<std::string> id;
  if (form) {
    id = secret_id_of(request, *ordered, plain_request);
  } else if (whole_body) {
    if (auto named = headers.get(protocol::kSecretIdHeader)) {
      id = std::string(*named);
    } else if (auto parsed = protocol::parse_field(*body)) {
      id = std::string(parsed->secret_id);
    }
  } else if (!oae) {
    id = secret_id_of(request, *body, plain_request);
  } else if (auto named = headers.get(protocol::kSecretIdHeader)) {
    id = std::string(*named);
  }
  if (!id) {
    co_await respond_error(
        request, writer, 400,
        oae ? "an encrypted body must name its secret in " + std::string(protocol::kSecretIdHeader)
            : std::string("the request has no encrypted field, so its "
                          "response cannot be encrypted"));
    co_return;
  }
  auto secret = co_await secrets_.get(*id);
  if (!secret) {
    const bool unknown = secret.error() == errc::no_secret;
    co_await respond_error(request, writer, unknown ? 500 : 503, secret.error().message(),
                           unknown ? protocol::kCodeUnknownSecret : std::string_view());
    co_return;
  }
  // Unstructured routes involve no GPU, so no OCSP check (spec §5.6).
  auto accepted = whole_body ? Result<protocol::AcceptedOcsp, Error>(protocol::AcceptedOcsp{})
                             : protocol::check_ocsp_policy(
                                   headers.get(protocol::kOcspPolicyHeader),
                                   headers.get(protocol::kOcspPolicyMacHeader), **secret);
  if (accepted && !whole_body) {
    if (auto gpus = check_gpus(*accepted, statuses_); !gpus) accepted = gpus.error();
  }
  if (!accepted) {
    co_await respond_error(request, writer, 500, accepted.error().message());
    co_return;
  }

  // Open the request: the whole body (OAE) or its fields.
  std::string plaintext;
  plaintext.reserve(body->size());
  std::optional<crypto::OaeResponder> responder;
  std::optional<protocol::ResponseCipher> cipher;
  std::string model_type(protocol::kJsonType);
  std::string model_target(protocol::path_of(route));
  if (whole_body) {
    cipher.emplace(*secret);
    if (auto r = cipher->open(*body, plaintext); !r) {
      co_await respond_error(request, writer, 500,
                             "forwarding request: mutating request: " + r.error().message());
      co_return;
    }
    model_type = std::string(headers.get("Content-Type").value_or(protocol::kJsonType));
    model_target = request.head.target;
  } else if (form) {
    cipher.emplace(*secret);
    auto type = protocol::open_form(
        *ordered, plain_request,
        [&cipher](std::string_view field, std::string& out) { return cipher->open(field, out); },
        plaintext);
    if (!type) {
      co_await respond_error(request, writer, 500,
                             "forwarding request: mutating request: " + type.error().message());
      co_return;
    }
    model_type = std::move(*type);
    if (!cipher->has_nonce()) {
      co_await respond_error(request, writer, 400,
                             "the request has no encrypted field, so its response cannot be "
                             "encrypted");
      co_return;
    }
  } else if (oae) {
    auto opened = open_oae_request(headers.get(protocol::kOaeRequestHeader).value_or(""), **secret,
                                   *body, plaintext);
    if (!opened) {
      co_await respond_error(request, writer, 400,
                             "opening the request: " + opened.error().message());
      co_return;
    }
    responder.emplace(std::move(*opened));
  } else {
    cipher.emplace(*secret);
    if (auto r = protocol::open_json_fields(
            *body, plain_request,
            [&cipher](std::string_view field, std::string& out) {
              return cipher->open(field, out);
            },
            plaintext);
        !r) {
      co_await respond_error(request, writer, 500,
                             "forwarding request: mutating request: " + r.error().message());
      co_return;
    }
    if (!cipher->has_nonce()) {
      co_await respond_error(request, writer, 400,
                             "the request has no encrypted field, so its response cannot be "
                             "encrypted");
      co_return;
    }
  }

  auto response = co_await client_.request(options_.model,
                                           {.method = "POST",
                                            .target = std::move(model_target),
                                            .headers = {{"Content-Type", std::move(model_type)}},
                                            .body = std::move(plaintext)});
  if (!response) {
    co_await respond_error(request, writer, 502, "model server: " + response.error().message());
    co_return;
  }
  if (oae) {
    co_await reply_oae(route, *responder, *response, writer);
  } else {
    co_await reply_fields(route, *cipher, *response, request, writer);
  }
}

Result<crypto::OaeResponder, Error> Worker::open_oae_request(
    std::string_view header_value, const protocol::InferenceSecret& secret, std::string_view body,
    std::string& plaintext) const {
  auto salt = protocol::parse_oae_header_value(header_value);
  if (!salt) {
    return Error(salt.error().code(),
                 std::string(protocol::kOaeRequestHeader) + ": " + salt.error().message());
  }
  auto responder = crypto::OaeResponder::create(protocol::oae_secret(secret), *salt);
  if (!responder) return responder.error();
  protocol::FrameReader frames(options_.max_body);
  frames.feed(std::as_bytes(std::span(body)));
  while (true) {
    auto message = frames.next();
    if (!message) return message.error();
    if (!*message) break;
    if (auto r = responder->request().open(**message, plaintext); !r) return r.error();
  }
  if (frames.partial()) {
    return Error(crypto::errc::stream_truncated, "the request body ends inside a frame");
  }
  if (auto r = responder->request().finish(); !r) return r.error();
  return responder;
}

Task<void> Worker::reply_fields(protocol::Route route, protocol::ResponseCipher& cipher,
                                http::ClientResponse& response, http::Request& request,
                                http::ResponseWriter& writer) {
  const auto seal = [&cipher](std::string_view raw, std::string& out) {
    return cipher.seal(raw, out);
  };
  const auto plain_response = protocol::plain_response_fields(route);
  const auto type = response.head().headers.get("Content-Type").value_or("");
  http::Headers out_headers;
  if (!type.empty()) out_headers.add("Content-Type", type);

  if (!type.starts_with(protocol::kEventStreamType)) {
    auto answer = co_await response.body().read_all(128 * 1024 * 1024);
    if (!answer) {
      co_await respond_error(request, writer, 502, "model server: " + answer.error().message());
      co_return;
    }
    std::string sealed;
    sealed.reserve(answer->size() * 2 + 256);
    auto r = route == protocol::Route::unstructured
                 ? protocol::seal_json_values(*answer, seal, sealed)
                 : protocol::seal_json_fields(*answer, plain_response, seal, sealed);
    if (!r) {
      co_await respond_error(request, writer, 500,
                             "encrypting the response: " + r.error().message());
      co_return;
    }
    (void)co_await writer.respond(response.status(), std::move(out_headers), sealed);
    co_return;
  }

  // A stream: seal event by event, writing what one read of the model's
  // body brought in one chunk.
  out_headers.add("Cache-Control", "no-cache");
  if (!co_await writer.start(response.status(), std::move(out_headers))) co_return;
  http::SseReader events;
  std::string sealed, burst;
  while (true) {
    auto chunk = co_await response.body().next_burst(burst);
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

Task<void> Worker::reply_oae(protocol::Route route, crypto::OaeResponder& responder,
                             http::ClientResponse& response, http::ResponseWriter& writer) {
  auto& sealer = responder.response();
  http::Headers out_headers{{"Content-Type", std::string(protocol::kEncryptedBodyType)},
                            {std::string(protocol::kOaeResponseHeader),
                             protocol::oae_header_value(responder.response_header())}};
  const auto type = response.head().headers.get("Content-Type").value_or("");
  std::string sealed;
  if (!type.starts_with(protocol::kEventStreamType)) {
    // A whole answer, the model's errors included, is one final message.
    auto answer = co_await response.body().read_all(128 * 1024 * 1024);
    const std::string body =
        answer ? std::move(*answer)
               : protocol::error_body(protocol::error_dialect_for_path(protocol::path_of(route)),
                                      protocol::ErrorType::api,
                                      "model server: " + answer.error().message());
    (void)protocol::seal_frame(sealer, body, true, sealed);
    (void)co_await writer.respond(answer ? response.status() : 502, std::move(out_headers), sealed);
    co_return;
  }
  // A stream: one message per event, written once per read of the model's
  // body. Whatever ends it — [DONE], the model's end, the model breaking
  // off — is sealed as the final message, so the gateway can neither cut
  // the answer short unnoticed nor forge its end.
  out_headers.add("Cache-Control", "no-cache");
  if (!co_await writer.start(response.status(), std::move(out_headers))) co_return;
  http::SseReader events;
  std::string event_text;
  bool message_stop = false;
  // One event's wire form, as the OAE carriage seals it.
  const auto frame_event = [&event_text](std::string_view type, std::string_view data) {
    event_text.clear();
    http::SseWriter::format_event(event_text, data, type == "message" ? "" : type);
  };
  const auto seal_error = [&](std::string_view why) {
    frame_event("error",
                protocol::error_body(protocol::error_dialect_for_path(protocol::path_of(route)),
                                     protocol::ErrorType::api, why));
    (void)protocol::seal_frame(sealer, event_text, true, sealed);
  };
  std::string burst;
  while (!sealer.closed()) {
    sealed.clear();
    auto chunk = co_await response.body().next_burst(burst);
    if (!chunk) {
      seal_error("model server: the stream broke off: " + chunk.error().message());
    } else if (chunk->empty()) {
      if (route == protocol::Route::messages && message_stop) {
        (void)protocol::seal_frame(sealer, std::string_view(), true, sealed);
      } else {
        seal_error("model server: the stream ended before [DONE]");
      }
    } else {
      events.feed(*chunk);
      while (!sealer.closed()) {
        auto event = events.next();
        if (!event) {
          seal_error("model server: " + event.error().message());
          break;
        }
        if (!*event) break;
        const auto& e = **event;
        if (e.data.find('\n') != std::string_view::npos) {
          seal_error("model server: an event with several data lines");
          break;
        }
        message_stop = e.type == "message_stop";
        frame_event(e.type, e.data);
        (void)protocol::seal_frame(sealer, event_text, protocol::is_done_event(e.data), sealed);
      }
    }
    if (!sealed.empty() && !co_await writer.write(sealed)) co_return;
  }
  (void)co_await writer.finish();
}

}  // namespace cipherline::backend
