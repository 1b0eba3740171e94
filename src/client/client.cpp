#include "cipherline/client/client.hpp"

#include <simdjson.h>

#include "cipherline/client/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/protocol/event_fields.hpp"
#include "cipherline/protocol/shard_key.hpp"
#include "cipherline/runtime/sleep.hpp"

namespace cipherline::client {

using namespace std::chrono;

struct InferenceResponse::State {
  protocol::Route route;
  std::optional<http::ClientResponse> response;
  std::unique_ptr<protocol::RequestCipher> cipher;
  http::SseReader events;
  std::optional<std::string> prefetched;  // a body already read (a plaintext error)
  ClientCounters* counters = nullptr;
  bool done = false;
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

bool is_reset(const Error& e) {
  return e == std::errc::connection_reset || e == http::errc::incomplete_message;
}

Error invalid(std::string what) { return Error(errc::invalid_request, std::move(what)); }

}  // namespace

Task<Result<std::optional<std::string>, Error>> InferenceResponse::next() {
  auto& s = *state_;
  if (s.done) co_return std::optional<std::string>();
  if (s.prefetched) {
    s.done = true;
    co_return std::move(s.prefetched);
  }
  const auto plain = protocol::plain_response_fields(s.route);
  const auto open = [&s](std::string_view field, std::string& out) {
    return s.cipher->open(field, out);
  };
  if (!event_stream_) {
    s.done = true;
    auto body = co_await s.response->body().read_all(128 * 1024 * 1024);
    if (!body) co_return body.error();
    if (!encrypted_) co_return std::optional<std::string>(std::move(*body));
    std::string plaintext;
    plaintext.reserve(body->size() / 2);
    if (auto r = protocol::open_json_fields(*body, plain, open, plaintext); !r) {
      co_return Error(r.error().code(), "decrypting the response: " + r.error().message());
    }
    s.counters->bytes_decrypted += plaintext.size();
    co_return std::optional<std::string>(std::move(plaintext));
  }
  while (true) {
    auto event = s.events.next();
    if (!event) co_return event.error();
    if (*event) {
      const auto& e = **event;
      std::string out;
      if (e.type != "message") {
        out += "event: ";
        out += e.type;
        out += '\n';
      }
      out += "data: ";
      const auto start = out.size();
      if (!encrypted_) {
        out += e.data;
      } else if (auto r = protocol::open_event_data(e.data, plain, open, out); !r) {
        s.done = true;
        co_return Error(r.error().code(), "decrypting a streamed event: " + r.error().message());
      }
      s.counters->bytes_decrypted += out.size() - start;
      ++s.counters->events;
      out += "\n\n";
      co_return std::optional<std::string>(std::move(out));
    }
    auto chunk = co_await s.response->body().next();
    if (!chunk) {
      s.done = true;
      co_return chunk.error();
    }
    if (chunk->empty()) {
      s.done = true;
      co_return std::optional<std::string>();
    }
    s.events.feed(*chunk);
  }
}

Task<Result<std::string, Error>> InferenceResponse::read_all() {
  std::string all;
  while (true) {
    auto piece = co_await next();
    if (!piece) co_return piece.error();
    if (!*piece) co_return all;
    all += **piece;
  }
}

Client::Client(ClientOptions options) : options_(std::move(options)) {
  auto tls = tls_config(options_.session).build();
  http_ = std::make_unique<http::HttpClient>(http::ClientOptions{
      .max_connections_per_origin = options_.max_connections,
      .max_concurrent_connects = 16,
      .tls = tls ? *tls : nullptr,
  });
  session_ = std::make_unique<Session>(options_.session, *http_);
  if (options_.shared_prompt_cache) {
    shared_salt_ = options_.prompt_cache_salt.empty() ? random_salt() : options_.prompt_cache_salt;
  }
}

Client::~Client() = default;

Task<Result<void, Error>> Client::connect() {
  if (auto r = tls_config(options_.session).build(); !r) {
    co_return Error(errc::bad_configuration, "TLS settings: " + r.error().message());
  }
  auto r = co_await session_->establish();
  if (r) start_rotation();
  co_return r;
}

void Client::start_rotation() {
  if (rotating_ || !options_.keep_fresh) return;
  rotating_ = true;
  background_.spawn(with_stop_token(session_->keep_fresh(), stop_.get_token()));
}

Task<void> Client::close() {
  stop_.request_stop();
  co_await background_.join();
}

Result<std::string, Error> Client::prepare(protocol::Route route, std::string_view body,
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
  headers.set("Privatemode-Target-Model", model);
  if (route == protocol::Route::embeddings) return std::string(body);

  std::string_view salt;
  std::string prepared;
  if (auto e = object["cache_salt"].get(salt); e == simdjson::SUCCESS) {
    if (salt.size() < 32) return invalid("\"cache_salt\" must have at least 32 characters");
    prepared = body;
  } else if (e != simdjson::NO_SUCH_FIELD) {
    return invalid("\"cache_salt\" must be a string");
  } else {
    const std::string fresh = shared_salt_.empty() ? random_salt() : shared_salt_;
    const auto open = body.find('{');
    const bool empty = object.size() == 0;
    prepared.reserve(body.size() + fresh.size() + 20);
    prepared.append(body.substr(0, open + 1));
    prepared += "\"cache_salt\":\"" + fresh + "\"";
    if (!empty) prepared += ',';
    prepared.append(body.substr(open + 1));
    if (shared_salt_.empty()) return prepared;  // a one-off salt: no shard to find
    salt = shared_salt_;
  }
  // Shard key over the prompt-bearing fields, as raw JSON, in this order.
  std::string content;
  for (const char* key : {"system", "tools", "messages", "prompt", "suffix"}) {
    simdjson::dom::element value;
    if (object[key].get(value) == simdjson::SUCCESS) content += simdjson::minify(value);
  }
  auto shard = protocol::shard_key(salt, content);
  if (!shard) return invalid("shard key: " + shard.error().message());
  headers.set("Privatemode-Shard-Key", *shard);
  return prepared;
}

http::Headers Client::gateway_headers(const http::Headers& extra) const {
  http::Headers headers = session_->base_headers();
  for (const auto& [name, value] : extra.fields()) headers.set(name, value);
  return headers;
}

Task<Result<InferenceResponse, Error>> Client::send(protocol::Route route, std::string body,
                                                    http::Headers extra) {
  ++counters_.requests;
  http::Headers headers = gateway_headers(extra);
  headers.set("Content-Type", "application/json");
  auto prepared = prepare(route, body, headers);
  if (!prepared) co_return prepared.error();
  const auto plain = protocol::plain_request_fields(route);

  for (int attempt = 0;; ++attempt) {
    auto secret = co_await session_->secret();
    if (!secret) co_return secret.error();
    auto cipher = std::make_unique<protocol::RequestCipher>(*secret);
    std::string sealed;
    sealed.reserve(prepared->size() * 2 + 256);
    if (auto r = protocol::seal_json_fields(
            *prepared, plain,
            [&cipher](std::string_view raw, std::string& out) { return cipher->seal(raw, out); },
            sealed);
        !r) {
      co_return Error(errc::invalid_request, "encrypting the request: " + r.error().message());
    }
    counters_.bytes_encrypted += prepared->size();
    http::Headers h = headers;
    h.set("Privatemode-Secret-ID", (*secret)->id());
    const auto policy = protocol::ocsp_policy_header(options_.ocsp, system_clock::now());
    h.set("Privatemode-NVIDIA-OCSP-Policy", policy);
    h.set("Privatemode-NVIDIA-OCSP-Policy-MAC", protocol::ocsp_policy_mac(**secret, policy));

    auto response = co_await http_->request(options_.session.endpoint,
                                            {.method = "POST",
                                             .target = std::string(protocol::path_of(route)),
                                             .headers = std::move(h),
                                             .body = std::move(sealed)});
    if (!response) {
      if (attempt == 0 && is_reset(response.error())) {
        ++counters_.retries;
        (void)co_await sleep_for(milliseconds(50));
        continue;
      }
      co_return response.error();
    }
    InferenceResponse out;
    out.state_ = std::make_unique<InferenceResponse::State>();
    auto& state = *out.state_;
    state.route = route;
    state.counters = &counters_;
    out.status_ = response->status();
    out.encrypted_ = response->head().headers.get("Privatemode-Encrypted") != "false";
    out.content_type_ = std::string(response->head().headers.get("Content-Type").value_or(""));
    out.event_stream_ = out.content_type_.starts_with("text/event-stream");
    if (!out.encrypted_ && out.status_ >= 400) {
      auto text = co_await response->body().read_all(1 << 20);
      if (!text) co_return text.error();
      if (attempt == 0 && out.status_ == 500 &&
          text->find("no secret for ID") != std::string::npos) {
        ++counters_.retries;
        if (auto r = co_await session_->force_refresh(); !r) co_return r.error();
        continue;
      }
      state.prefetched = std::move(*text);
    }
    state.response.emplace(std::move(*response));
    state.cipher = std::move(cipher);
    co_return std::move(out);
  }
}

Task<Result<std::string, Error>> Client::list_models(http::Headers extra) {
  auto response = co_await http_->request(
      options_.session.endpoint,
      {.method = "GET", .target = "/v1/models", .headers = gateway_headers(extra)});
  if (!response) co_return response.error();
  auto body = co_await response->body().read_all(1 << 20);
  if (!body) co_return body.error();
  if (response->status() != 200) {
    co_return Error(errc::bad_status,
                    "/v1/models: status " + std::to_string(response->status()) + ": " + *body);
  }
  co_return std::move(*body);
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
    auto piece = co_await response->next();
    if (!piece) {
      co_yield Result<std::string, Error>(piece.error());
      co_return;
    }
    if (!*piece) co_return;
    std::string_view event = **piece;
    const auto data = event.find("data: ");
    if (data == std::string_view::npos) continue;
    event = event.substr(data + 6);
    while (!event.empty() && event.back() == '\n') event.remove_suffix(1);
    if (protocol::is_done_event(event)) co_return;
    co_yield Result<std::string, Error>(std::string(event));
  }
}

}  // namespace cipherline::client
