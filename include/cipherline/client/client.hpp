// Client: confidential inference from inside a C++ service — the attested
// Session plus the request and response ciphers, without a proxy hop.
//
//   client::Client client({.session = {.endpoint = gateway, .manifest = bytes,
//                                      .api_key = "…"}});
//   if (auto r = co_await client.connect(); !r) fail(r.error());   // attest, verify, exchange
//   auto answer = co_await client.chat(R"({"model":"synthetic","messages":[…]})");
//   auto deltas = client.stream_chat(request);
//   while (auto piece = co_await deltas.next()) use((*piece).value());   // decrypted chunk JSON
//   co_await client.close();
//
// Contract:
// - Requests: the body must be a JSON object with a string "model" (else
//   errc::invalid_request naming what is wrong). Chat, completions and
//   messages get a cache_salt unless they carry one (at least 32
//   characters): a fresh random one per request by default, or the shared
//   salt (`shared_prompt_cache`, `prompt_cache_salt`), which also sets the
//   Privatemode-Shard-Key header (spec §6.6). Every non-plain field is
//   encrypted (spec §5) under a fresh request nonce; the headers of spec §6.3
//   are added (secret ID, target model, OCSP policy and its MAC).
// - Transcriptions (Route::audio_transcriptions): the body is a
//   multipart/form-data form whose Content-Type the caller passes in the
//   extra headers; it needs a "model" value (invalid_request naming the
//   field otherwise), "stream" must be a boolean, and response_format, if
//   given, json or verbose_json (only JSON answers can be encrypted). The
//   form is rebuilt with its values and files sealed as spec §5.4 says
//   (protocol/form_cipher.hpp), under a new boundary.
// - Unstructured (spec §5.6, send_unstructured or Route::unstructured): the
//   whole body is one sealed message with its Content-Type kept; no model
//   header (the gateway picks the worker); the answer's top-level values
//   are each one message (unstructured_cipher.hpp).
// - Wire formats: chat completions go as OAE (privatemode-oae.md: the whole
//   body sealed, the response a stream of sealed messages) unless
//   `chat_format` is fields; the other routes use the v1.40 field format.
// - Responses are opened by one protocol::ResponseStream: read() takes one
//   upstream read and leaves its decrypted events in wire form (text()) and
//   as views (events()). A stream that ends before its end ([DONE],
//   message_stop, the OAE final message) is crypto::errc::stream_truncated;
//   nothing after [DONE] is believed. A response that does not decrypt is
//   an error, never passed on. `Privatemode-Encrypted: false` is honoured
//   only with a status of 400 or more, as the gateway's plaintext error; a
//   2xx so marked, or a response in another format than the one asked for,
//   is errc::unauthenticated_response.
// - Retries (spec §3.3, docs/protocol.md "When cipherline retries"): only
//   what provably did not reach a worker, once, with a new nonce or salt: a
//   500 saying `no secret for ID` (the worker refused it before opening it)
//   after a new key exchange; a connect that failed (refused, unreachable)
//   and the gateway's 502 with code `not_forwarded` (no worker took it),
//   after 50 ms. A connection reset or closed after the request was sent
//   is errc::response_cut_off, never resent: the model may have run it.
// - The session: a Client made with ClientOptions alone has a SharedSession
//   of its own (ClientOptions::session); made with a SharedSession it shares
//   that one's attestation, key and rotation with every other Client on it,
//   on any loop (shared_session.hpp), and ClientOptions::session is unused.
//   connect() establishes the session (joining an establishment in
//   progress, or none if it holds a secret) and starts the rotation, once
//   for the session; close() must be awaited before the Client is
//   destroyed, and stops the rotation of a session the Client made itself.
// - Thread affinity: a Client belongs to the loop it is used on (its HTTP
//   connections and counters are that loop's); one Client per loop, as many
//   loops as wanted on one SharedSession. Requests read the session's key
//   through the Client's SessionView: no lock, no cross-thread write.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>

#include "cipherline/client/session.hpp"
#include "cipherline/client/shared_session.hpp"
#include "cipherline/protocol/header_names.hpp"
#include "cipherline/protocol/json_fields.hpp"
#include "cipherline/protocol/oae_carriage.hpp"
#include "cipherline/protocol/ocsp_policy.hpp"
#include "cipherline/protocol/response_stream.hpp"
#include "cipherline/runtime/async_generator.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::client {

struct ClientOptions {
  SessionOptions session;
  // Privatemode's defaults: unknown accepted, revoked within 48 hours.
  protocol::OcspPolicy ocsp{.revoked_grace_period = std::chrono::hours(48), .allow_unknown = true};
  bool shared_prompt_cache = false;
  std::string prompt_cache_salt{};  // with shared_prompt_cache; empty: random per client
  bool keep_fresh = true;           // rotate keys in the background
  // Connections to the gateway; a stream holds one for its lifetime, so this
  // bounds the concurrent streams (a proxy of 10,000 streams holds 10,000).
  std::size_t max_connections = 16384;
  protocol::WireFormat chat_format = protocol::WireFormat::oae;  // chat completions
  std::string client_kind{protocol::kClientSdk};                 // Privatemode-Client
  protocol::ResponseLimits limits{};
};

// The gateway's answer to GET /v1/models or /v1/models/{id}, unencrypted
// (spec §5.5), as it came.
struct ModelsAnswer {
  int status = 0;
  std::string body;
};

// Counters for metrics (bytes of plaintext encrypted and decrypted).
struct ClientCounters {
  std::uint64_t requests = 0, retries = 0, bytes_encrypted = 0, bytes_decrypted = 0, events = 0;
};

// One response, decrypted as it is read.
class InferenceResponse {
 public:
  int status() const noexcept { return status_; }
  bool encrypted() const noexcept { return encrypted_; }
  bool event_stream() const noexcept { return event_stream_; }
  const std::string& content_type() const noexcept { return content_type_; }
  // header: a header of the gateway's response (Retry-After, X-Request-ID…).
  std::optional<std::string_view> header(std::string_view name) const;

  protocol::WireFormat wire_format() const noexcept { return format_; }

  // read: the next upstream read, opened. True with text() and events()
  // holding what it brought (for a body: the whole body, once); false once
  // the response has ended as it should. Views stay valid until the next
  // read().
  Task<Result<bool, Error>> read();
  // text: the decrypted bytes of the last read, events in SSE wire form
  // ("event: x\ndata: {…}\n\n") or the body.
  std::string_view text() const noexcept;
  // events: the last read's events (empty for a body).
  std::span<const protocol::StreamEvent> events() const noexcept;
  // read_all: the rest, concatenated.
  Task<Result<std::string, Error>> read_all();

  InferenceResponse(InferenceResponse&&) noexcept;
  ~InferenceResponse();

 private:
  friend class Client;
  InferenceResponse() = default;
  struct State;
  std::unique_ptr<State> state_;
  int status_ = 0;
  bool encrypted_ = true;
  bool event_stream_ = false;
  protocol::WireFormat format_ = protocol::WireFormat::fields;
  std::string content_type_;
};

class Client {
 public:
  // Without `session`, the Client makes its own from options.session.
  explicit Client(ClientOptions options, std::shared_ptr<SharedSession> session = nullptr);
  ~Client();

  Task<Result<void, Error>> connect();
  // start_rotation: the background key rotation connect() starts, for
  // callers that established the session themselves (once).
  void start_rotation();
  Task<void> close();

  // send: one encrypted request on `route` with the plaintext JSON `body`;
  // for audio_transcriptions a multipart/form-data body, its Content-Type
  // (with the boundary) in `extra`.
  Task<Result<InferenceResponse, Error>> send(protocol::Route route, std::string body,
                                              http::Headers extra = {});
  // send_unstructured: POST `target` (a path under /unstructured/, query
  // allowed) with the raw `body` sealed whole; its Content-Type, if any, in
  // `extra` (default application/json).
  Task<Result<InferenceResponse, Error>> send_unstructured(std::string target, std::string body,
                                                           http::Headers extra = {});
  // list_models: GET /v1/models (not encrypted); `extra` headers as for send.
  Task<Result<std::string, Error>> list_models(http::Headers extra = {});
  // retrieve_model: GET /v1/models/{id}; a status other than 200 (404 for
  // an unknown ID) is errc::bad_status carrying the backend's message.
  Task<Result<std::string, Error>> retrieve_model(std::string id);
  // models: GET /v1/models (empty id) or /v1/models/{id}, whatever the
  // status; an id with '/', '?', '#', '%' or a space is errc::invalid_request.
  Task<Result<ModelsAnswer, Error>> models(std::string id, http::Headers extra = {});

  // chat: the whole decrypted response of a chat completion; a status other
  // than 200 is an error carrying the (decrypted) message.
  Task<Result<std::string, Error>> chat(std::string request);
  // stream_chat: the decrypted data payload of each streamed chunk (without
  // [DONE]); sets "stream": true itself.
  AsyncGenerator<Result<std::string, Error>> stream_chat(std::string request);

  // session: the Session itself, for its owner loop only (see
  // shared_session.hpp); shared_session() from any loop.
  Session& session() noexcept { return shared_->session(); }
  SharedSession& shared_session() noexcept { return *shared_; }
  const SharedSession& shared_session() const noexcept { return *shared_; }
  const ClientCounters& counters() const noexcept { return counters_; }

 private:
  // gateway_headers: the session's headers, `extra` overriding them.
  http::Headers gateway_headers(const http::Headers& extra) const;
  struct Prepared {
    std::string body;
    bool stream = false;       // the request asks for an event stream
    std::string content_type;  // a form's, with its boundary
  };
  Task<Result<std::string, Error>> model_answer(std::string id, http::Headers extra);
  Result<Prepared, Error> prepare(protocol::Route route, std::string_view body,
                                  http::Headers& headers) const;
  Result<Prepared, Error> prepare_form(std::string_view content_type, std::string_view body,
                                       http::Headers& headers) const;
  Task<Result<InferenceResponse, Error>> send_to(protocol::Route route, std::string target,
                                                 std::string body, http::Headers extra);

  ClientOptions options_;
  std::unique_ptr<http::HttpClient> http_;
  const bool owns_session_;  // made by this Client: close() stops its rotation
  std::shared_ptr<SharedSession> shared_;
  mutable SessionView view_;  // a cache of the session's snapshot
  std::string shared_salt_;
  ClientCounters counters_;
};

}  // namespace cipherline::client
