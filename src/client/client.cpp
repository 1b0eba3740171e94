#include "cipherline/client/client.hpp"

#include <simdjson.h>

#include <algorithm>

#include "cipherline/client/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/oae.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/protocol/error_body.hpp"
#include "cipherline/protocol/form_cipher.hpp"
#include "cipherline/protocol/shard_key.hpp"
#include "cipherline/protocol/unstructured_cipher.hpp"
#include "cipherline/runtime/sleep.hpp"

namespace cipherline::client {

using namespace std::chrono;

struct InferenceResponse::State {
  std::optional<http::ClientResponse> response;
  std::optional<protocol::ResponseStream> stream;
  std::string prefetched;  // a plaintext error, already read
  std::string burst;       // body pieces that arrived together
  bool prefetched_pending = false;
  ClientCounters* counters = nullptr;
  bool done = false;
  std::optional<Error> failure;  // returned again by every later read()
};

InferenceResponse::InferenceResponse(InferenceResponse&&) noexcept = default;

std::optional<std::string_view> InferenceResponse::header(std::string_view name) const {
  if (!state_ || !state_->response) return std::nullopt;
  return state_->response->head().headers.get(name);
}
InferenceResponse::~InferenceResponse() = default;

namespace {

std::string random_salt() {
  std::array<std::byte, 32> salt;
  crypto::random_bytes(salt);
  return crypto::to_base64(salt);
}

// never_connected: the failure came before a connection to the gateway
// existed, so no byte of the request left this process (the HTTP client
// resolves and connects before it writes).
bool never_connected(const Error& e) {
  return e == std::errc::connection_refused || e == std::errc::network_unreachable ||
         e == std::errc::host_unreachable;
}

// not_forwarded: the gateway's plaintext refusal saying no worker got the
// request (every one refused its connection).
bool not_forwarded(int status, std::string_view body) {
  if (status != 502) return false;
  const auto parsed = protocol::parse_error_body(body);
  return parsed && parsed->code == protocol::kCodeNotForwarded;
}

Error invalid(std::string what) { return Error(errc::invalid_request, std::move(what)); }

Error unauthenticated(std::string what) {
  return Error(errc::unauthenticated_response, std::move(what));
}

}  // namespace

std::string_view InferenceResponse::text() const noexcept {
  const auto& s = *state_;
  if (!s.stream) return s.prefetched;
  return s.stream->output();
}

std::span<const protocol::StreamEvent> InferenceResponse::events() const noexcept {
  const auto& s = *state_;
  if (!s.stream) return {};
  return s.stream->events();
}

Task<Result<bool, Error>> InferenceResponse::read() {
  auto& s = *state_;
  if (s.failure) co_return *s.failure;
  if (s.done) co_return false;
  if (!s.stream) {
    s.done = true;
    co_return std::exchange(s.prefetched_pending, false);
  }
  auto& stream = *s.stream;
  stream.consume();
  const auto fail = [&s](Error e) {
    s.done = true;
    s.failure = e;
    return e;
  };
  while (true) {
    // What arrived together is opened together: one read() per burst.
    auto chunk = co_await s.response->body().next_burst(s.burst);
    if (!chunk) {
      co_return fail(Error(chunk.error().code(),
                           "the response was cut off (not resent: the backend had accepted the "
                           "request): " +
                               chunk.error().message()));
    }
    if (chunk->empty()) {
      s.done = true;
      if (auto r = stream.finish(); !r) co_return fail(r.error());
      s.counters->bytes_decrypted += stream.output().size();
      co_return !stream.output().empty();
    }
    if (auto r = stream.feed(*chunk); !r) co_return fail(r.error());
    if (!stream.event_stream()) continue;  // a body opens at its end
    s.counters->bytes_decrypted += stream.output().size();
    s.counters->events += stream.events().size();
    if (!stream.output().empty()) co_return true;
  }
}

Task<Result<std::string, Error>> InferenceResponse::read_all() {
  std::string all;
  while (true) {
    auto more = co_await read();
    if (!more) co_return more.error();
    if (!*more) co_return all;
    all += text();
  }
}

namespace {

// The session a Client makes for itself; its HTTP client carries only
// attestations and exchanges.
std::shared_ptr<SharedSession> own_session(const SessionOptions& options) {
  return std::make_shared<SharedSession>(options, nullptr,
                                         http::ClientOptions{.max_connections_per_origin = 4});
}

}  // namespace

Client::Client(ClientOptions options, std::shared_ptr<SharedSession> session)
    : options_(std::move(options)),
      owns_session_(session == nullptr),
      shared_(session ? std::move(session) : own_session(options_.session)),
      view_(*shared_) {
  http_ = std::make_unique<http::HttpClient>(http::ClientOptions{
      .max_connections_per_origin = options_.max_connections,
      .max_concurrent_connects = 16,
      .tls = shared_->tls_context(),
  });
  if (options_.shared_prompt_cache) {
    shared_salt_ = options_.prompt_cache_salt.empty() ? random_salt() : options_.prompt_cache_salt;
  }
}

Client::~Client() = default;

Task<Result<void, Error>> Client::connect() {
  auto r = co_await shared_->establish();
  if (r) start_rotation();
  co_return r;
}

void Client::start_rotation() {
  if (options_.keep_fresh) shared_->start_rotation();
}

Task<void> Client::close() {
  if (owns_session_) co_await shared_->close();
}

Result<Client::Prepared, Error> Client::prepare(protocol::Route route, std::string_view body,
                                                http::Headers& headers) const {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto e = parser.parse(body.data(), body.size()).get(root); e != simdjson::SUCCESS) {
    return invalid(std::string("the request body is not valid JSON: ") +
                   simdjson::error_message(e));
  }
  simdjson::dom::object object;
  if (root.get(object) != simdjson::SUCCESS)
    return invalid("the request body is not a JSON object");
  std::string_view model;
  if (auto e = object["model"].get(model); e != simdjson::SUCCESS) {
    return invalid(e == simdjson::NO_SUCH_FIELD ? "missing \"model\""
                                                : "\"model\" must be a string");
  }
  if (model.empty()) return invalid("\"model\" is empty");
  if (!http::header_value_allowed(model)) {
    return invalid("\"model\" holds a control character (CR, LF or NUL)");
  }
  headers.set(protocol::kTargetModelHeader, model);
  Prepared prepared;
  if (bool stream = false; object["stream"].get(stream) == simdjson::SUCCESS) {
    prepared.stream = stream;
  }
  if (route == protocol::Route::embeddings) {
    prepared.body = body;
    return prepared;
  }

  std::string_view salt;
  if (auto e = object[protocol::kCacheSaltField].get(salt); e == simdjson::SUCCESS) {
    if (salt.size() < protocol::kMinCacheSaltSize) {
      return invalid("\"cache_salt\" must have at least " +
                     std::to_string(protocol::kMinCacheSaltSize) + " characters");
    }
    prepared.body = body;
  } else if (e != simdjson::NO_SUCH_FIELD) {
    return invalid("\"cache_salt\" must be a string");
  } else {
    const std::string fresh = shared_salt_.empty() ? random_salt() : shared_salt_;
    const auto open = body.find('{');
    const bool empty = object.size() == 0;
    std::string& out = prepared.body;
    out.reserve(body.size() + fresh.size() + 20);
    out.append(body.substr(0, open + 1));
    out += "\"" + std::string(protocol::kCacheSaltField) + "\":\"" + fresh + "\"";
    if (!empty) out += ',';
    out.append(body.substr(open + 1));
    if (shared_salt_.empty()) return prepared;  // a one-off salt: no shard to find
    salt = shared_salt_;
  }
  // Shard key over the prompt-bearing fields, as raw JSON, in this order.
  std::string content;
  for (const std::string_view key : protocol::kShardKeyContentFields) {
    simdjson::dom::element value;
    if (object[key].get(value) == simdjson::SUCCESS) content += simdjson::minify(value);
  }
  auto shard = protocol::shard_key(salt, content);
  if (!shard) return invalid("shard key: " + shard.error().message());
  headers.set(protocol::kShardKeyHeader, *shard);
  return prepared;
}

Result<Client::Prepared, Error> Client::prepare_form(std::string_view content_type,
                                                     std::string_view body,
                                                     http::Headers& headers) const {
  auto form = protocol::OrderedForm::parse(content_type, body);
  if (!form) return invalid("the request body: " + form.error().message());
  const auto model = form->value("model");
  if (!model) return invalid("missing form field \"model\"");
  if (model->empty()) return invalid("form field \"model\" is empty");
  if (!http::header_value_allowed(*model)) {
    return invalid("form field \"model\" holds a control character (CR, LF or NUL)");
  }
  headers.set(protocol::kTargetModelHeader, *model);
  Prepared prepared;
  if (const auto stream = form->value("stream")) {
    const auto flag = protocol::parse_bool(*stream);
    if (!flag) return invalid("form field \"stream\" must be true or false");
    prepared.stream = *flag;
  }
  // Only JSON answers can be encrypted field by field (spec §5.4: the SDK
  // allows these two).
  if (const auto format = form->value("response_format");
      format && *format != "json" && *format != "verbose_json") {
    return invalid("form field \"response_format\" is \"" + std::string(*format) +
                   "\": an encrypted transcription answers JSON only (json or verbose_json)");
  }
  prepared.body = body;
  prepared.content_type = content_type;
  return prepared;
}

http::Headers Client::gateway_headers(const http::Headers& extra) const {
  http::Headers headers = view_.current().base_headers;
  headers.set(protocol::kClientHeader, options_.client_kind);
  for (const auto& [name, value] : extra.fields()) headers.set(name, value);
  return headers;
}

Task<Result<InferenceResponse, Error>> Client::send(protocol::Route route, std::string body,
                                                    http::Headers extra) {
  return send_to(route, std::string(protocol::path_of(route)), std::move(body), std::move(extra));
}

Task<Result<InferenceResponse, Error>> Client::send_unstructured(std::string target,
                                                                 std::string body,
                                                                 http::Headers extra) {
  if (!target.starts_with(protocol::kUnstructuredPrefix)) {
    return [](std::string t) -> Task<Result<InferenceResponse, Error>> {
      co_return invalid("\"" + t + "\" is not under " + std::string(protocol::kUnstructuredPrefix));
    }(std::move(target));
  }
  return send_to(protocol::Route::unstructured, std::move(target), std::move(body),
                 std::move(extra));
}

Task<Result<InferenceResponse, Error>> Client::send_to(protocol::Route route, std::string target,
                                                       std::string body, http::Headers extra) {
  ++counters_.requests;
  http::Headers headers = gateway_headers(extra);
  // A transcription is a form: its Content-Type (with the boundary) comes
  // from the caller, and the sealed form gets a new one.
  const bool form = route == protocol::Route::audio_transcriptions;
  const bool unstructured = route == protocol::Route::unstructured;
  const std::string form_type(form ? extra.get("Content-Type").value_or("") : "");
  headers.set("Content-Type", protocol::kJsonType);
  Result<Prepared, Error> prepared = Prepared{};
  if (form) {
    prepared = prepare_form(form_type, body, headers);
  } else if (unstructured) {
    // The raw body, sealed whole, with the caller's Content-Type.
    if (auto type = extra.get("Content-Type")) headers.set("Content-Type", *type);
    prepared->body = std::move(body);
  } else {
    prepared = prepare(route, body, headers);
  }
  if (!prepared) co_return prepared.error();
  const bool oae = route == protocol::Route::chat_completions &&
                   options_.chat_format == protocol::WireFormat::oae;
  if (oae) headers.set("Content-Type", protocol::kEncryptedBodyType);
  const auto plain = protocol::plain_request_fields(route);

  for (int attempt = 0;; ++attempt) {
    auto secret = co_await shared_->secret(view_);
    if (!secret) co_return secret.error();
    http::Headers h = headers;
    std::string sealed;
    sealed.reserve(oae ? prepared->body.size() + 64 : prepared->body.size() * 2 + 256);
    std::optional<crypto::OaeRequester> requester;
    std::unique_ptr<protocol::RequestCipher> cipher;
    Result<void, Error> sealing;
    if (oae) {
      requester.emplace(protocol::oae_secret(**secret));
      sealing = protocol::seal_frame(requester->request(), prepared->body, true, sealed);
      h.set(protocol::kOaeRequestHeader, protocol::oae_header_value(requester->request_header()));
    } else if (unstructured) {
      cipher = std::make_unique<protocol::RequestCipher>(*secret);
      sealing = cipher->seal(prepared->body, sealed);
    } else if (form) {
      cipher = std::make_unique<protocol::RequestCipher>(*secret);
      auto ordered = protocol::OrderedForm::parse(prepared->content_type, prepared->body);
      auto type = ordered ? protocol::seal_form(
                                *ordered, plain,
                                [c = cipher.get()](std::string_view raw, std::string& out) {
                                  return c->seal(raw, out);
                                },
                                sealed)
                          : Result<std::string, Error>(ordered.error());
      if (type) {
        h.set("Content-Type", *type);
      } else {
        sealing = type.error();
      }
    } else {
      cipher = std::make_unique<protocol::RequestCipher>(*secret);
      sealing = protocol::seal_json_fields(
          prepared->body, plain,
          [c = cipher.get()](std::string_view raw, std::string& out) { return c->seal(raw, out); },
          sealed);
    }
    if (!sealing) {
      co_return Error(errc::invalid_request,
                      "encrypting the request: " + sealing.error().message());
    }
    counters_.bytes_encrypted += prepared->body.size();
    h.set(protocol::kSecretIdHeader, (*secret)->id());
    const auto policy = protocol::ocsp_policy_header(options_.ocsp, system_clock::now());
    h.set(protocol::kOcspPolicyHeader, policy);
    h.set(protocol::kOcspPolicyMacHeader, protocol::ocsp_policy_mac(**secret, policy));

    auto response = co_await http_->request(
        shared_->options().endpoint,
        {.method = "POST", .target = target, .headers = std::move(h), .body = std::move(sealed)});
    if (!response) {
      // Resent only when the request provably never left: the connect
      // failed. Anything later (a reset, the connection closed before an
      // answer, no answer in time) may come after a worker took the request,
      // and resending it would run the inference twice.
      if (attempt == 0 && never_connected(response.error())) {
        ++counters_.retries;
        (void)co_await sleep_for(milliseconds(50));
        continue;
      }
      if (response.error() == std::errc::connection_reset ||
          response.error() == http::errc::incomplete_message ||
          response.error() == std::errc::broken_pipe ||
          response.error() == cipherline::errc::end_of_stream) {
        co_return Error(errc::response_cut_off,
                        "the response was cut off before it began (" + response.error().message() +
                            "); the request may have reached a worker, so it was not resent");
      }
      co_return response.error();
    }
    InferenceResponse out;
    out.state_ = std::make_unique<InferenceResponse::State>();
    auto& state = *out.state_;
    state.counters = &counters_;
    out.status_ = response->status();
    out.format_ = oae ? protocol::WireFormat::oae : protocol::WireFormat::fields;
    const auto& head = response->head().headers;
    out.encrypted_ = head.get(protocol::kEncryptedHeader) != "false";
    out.content_type_ = std::string(head.get("Content-Type").value_or(""));
    const bool sealed_body = out.content_type_.starts_with(protocol::kEncryptedBodyType);
    if (!out.encrypted_) {
      // Only the gateway's own errors travel in plaintext: a 2xx so marked
      // could be anything the gateway likes.
      if (out.status_ < 400) {
        co_return unauthenticated("the gateway marked a status " + std::to_string(out.status_) +
                                  " answer as unencrypted (Privatemode-Encrypted: false); only "
                                  "errors may be, so it was refused");
      }
      auto text = co_await response->body().read_all(1 << 20);
      if (!text) co_return text.error();
      if (attempt == 0 && out.status_ == 500 && protocol::names_unknown_secret(*text)) {
        ++counters_.retries;
        if (auto r = co_await shared_->force_refresh(); !r) co_return r.error();
        continue;
      }
      if (attempt == 0 && not_forwarded(out.status_, *text)) {
        ++counters_.retries;
        (void)co_await sleep_for(milliseconds(50));
        continue;
      }
      state.prefetched = std::move(*text);
      state.prefetched_pending = true;
      state.response.emplace(std::move(*response));
      co_return std::move(out);
    }
    // The request, which the gateway cannot change, decides whether the
    // answer is a stream.
    out.event_stream_ = prepared->stream && out.status_ / 100 == 2;
    if (oae) {
      if (!sealed_body) {
        co_return unauthenticated("an OAE request was answered with Content-Type \"" +
                                  out.content_type_ + "\", not an encrypted body");
      }
      auto salt =
          protocol::parse_oae_header_value(head.get(protocol::kOaeResponseHeader).value_or(""));
      if (!salt) {
        co_return unauthenticated(std::string(protocol::kOaeResponseHeader) + ": " +
                                  salt.error().message());
      }
      auto opener = requester->accept_response(*salt);
      if (!opener) co_return opener.error();
      out.content_type_ =
          std::string(out.event_stream_ ? protocol::kEventStreamType : protocol::kJsonType);
      state.stream.emplace(route, out.event_stream_, std::move(*opener), options_.limits);
    } else {
      if (sealed_body) {
        co_return unauthenticated("a field-format request was answered with an OAE body");
      }
      // A media type that disagrees with the request is the gateway's doing.
      if (out.event_stream_ != out.content_type_.starts_with(protocol::kEventStreamType)) {
        co_return unauthenticated("the answer's Content-Type \"" + out.content_type_ +
                                  "\" does not match the request (" +
                                  (prepared->stream ? "a stream" : "no stream") + " asked for)");
      }
      state.stream.emplace(route, out.event_stream_, std::move(cipher), options_.limits);
    }
    state.response.emplace(std::move(*response));
    co_return std::move(out);
  }
}

Task<Result<ModelsAnswer, Error>> Client::models(std::string id, http::Headers extra) {
  if (id.find_first_of("/?#% ") != std::string::npos) {
    co_return invalid("model ID \"" + id + "\" has a character a path cannot carry");
  }
  const std::string target = id.empty() ? "/v1/models" : "/v1/models/" + id;
  // A GET changes nothing: resent after a refused connect like any request.
  for (int attempt = 0;; ++attempt) {
    auto response = co_await http_->request(
        shared_->options().endpoint,
        {.method = "GET", .target = target, .headers = gateway_headers(extra)});
    if (!response) {
      if (attempt == 0 && never_connected(response.error())) {
        (void)co_await sleep_for(milliseconds(50));
        continue;
      }
      co_return response.error();
    }
    auto body = co_await response->body().read_all(1 << 20);
    if (!body) co_return body.error();
    co_return ModelsAnswer{response->status(), std::move(*body)};
  }
}

Task<Result<std::string, Error>> Client::list_models(http::Headers extra) {
  co_return co_await model_answer("", std::move(extra));
}

Task<Result<std::string, Error>> Client::retrieve_model(std::string id) {
  if (id.empty()) co_return invalid("retrieve_model needs a model ID");
  co_return co_await model_answer(std::move(id), {});
}

Task<Result<std::string, Error>> Client::model_answer(std::string id, http::Headers extra) {
  const std::string target = id.empty() ? "/v1/models" : "/v1/models/" + id;
  auto answer = co_await models(std::move(id), std::move(extra));
  if (!answer) co_return answer.error();
  if (answer->status != 200) {
    const auto parsed = protocol::parse_error_body(answer->body);
    co_return Error(errc::bad_status, target + ": status " + std::to_string(answer->status) + ": " +
                                          (parsed ? parsed->message : answer->body));
  }
  co_return std::move(answer->body);
}

Task<Result<std::string, Error>> Client::chat(std::string request) {
  auto response = co_await send(protocol::Route::chat_completions, std::move(request));
  if (!response) co_return response.error();
  auto body = co_await response->read_all();
  if (!body) co_return body.error();
  if (response->status() != 200) {
    co_return Error(errc::bad_status,
                    "chat: status " + std::to_string(response->status()) + ": " + *body);
  }
  co_return std::move(*body);
}

AsyncGenerator<Result<std::string, Error>> Client::stream_chat(std::string request) {
  // "stream": true, inserted unless the request says it already; a request
  // that says false is refused. Invalid JSON goes on to send(), which names
  // the problem.
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(request).get(object) == simdjson::SUCCESS) {
    bool stream = false;
    const auto field = object["stream"];
    if (field.error() == simdjson::NO_SUCH_FIELD) {
      request.insert(request.find('{') + 1,
                     object.size() == 0 ? "\"stream\":true" : "\"stream\":true,");
    } else if (field.get(stream) != simdjson::SUCCESS || !stream) {
      co_yield Result<std::string, Error>(
          invalid("stream_chat needs \"stream\": true, or no \"stream\""));
      co_return;
    }
  }
  auto response = co_await send(protocol::Route::chat_completions, std::move(request));
  if (!response) {
    co_yield Result<std::string, Error>(response.error());
    co_return;
  }
  if (response->status() != 200 || !response->event_stream()) {
    auto body = co_await response->read_all();
    co_yield Result<std::string, Error>(
        Error(errc::bad_status, "chat: status " + std::to_string(response->status()) + ": " +
                                    (body ? *body : body.error().message())));
    co_return;
  }
  while (true) {
    auto more = co_await response->read();
    if (!more) {
      co_yield Result<std::string, Error>(more.error());
      co_return;
    }
    if (!*more) co_return;
    for (const auto& event : response->events()) {
      if (event.is_done()) co_return;
      if (event.is_error()) {
        co_yield Result<std::string, Error>(
            Error(errc::bad_status, "the stream carried an error: " + std::string(event.data)));
        co_return;
      }
      co_yield Result<std::string, Error>(std::string(event.data));
    }
  }
}

}  // namespace cipherline::client
