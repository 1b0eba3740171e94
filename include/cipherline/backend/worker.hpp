// Worker: the inference proxy in front of one model server (Privatemode's
// inference-proxy; spec §7). It is the only backend component that sees
// prompts and tokens in plaintext.
//
//   Worker worker({.name = "worker-0", .model = model_origin, .models = {"synthetic"}},
//                 secrets, client);
//   agent.activate(worker, gpu_statuses);     // nothing is served before this
//   worker.add_routes(router);                // /v1/chat/completions, /v1/completions,
//                                             // /v1/embeddings, /v1/messages,
//                                             // /v1/audio/transcriptions, /v1/models
//
// Contract, per request on an inference route:
// - Not activated (its GPUs not attested): 503 "worker <name> is not
//   activated: its GPU attestation has not passed".
// - The secret is found by the Privatemode-Secret-ID header or else the
//   first encrypted field's ID; unknown: 500 `no secret for ID "<id>"`
//   (clients match on these words).
// - The OCSP policy headers are checked against the secret and every GPU
//   status the agent recorded (spec §6.5): 500 naming the refused status.
// - Two wire formats, both served at once. An encrypted body
//   (Content-Type application/vnd.privatemode.encrypted-body) is an OAE
//   request (privatemode-oae.md): the secret named by its header, the body
//   one sealed stream that must end with its final message (else 400). Any
//   other request is the v1.40 field format: its non-plain fields are
//   decrypted in sorted order (spec §4.3); a request with no encrypted
//   field is refused (400): its response could not be encrypted. The
//   plaintext goes over HTTP to the model. Transcriptions are forms (spec
//   §5.4, protocol/form_cipher.hpp): their values and files are opened in
//   the form's order, stream=true forces the usage flags, the opened form
//   goes to the model under a new boundary; a form that does not parse is
//   400 naming the part, an OAE body there 400. /unstructured/* (spec
//   §5.6): the body is one sealed message, opened and sent to the model at
//   the same path with the same Content-Type, without an OCSP check; the
//   answer's array elements are sealed one by one.
// - OAE answers: a whole body is one final message; a stream one message
//   per event, and its end — [DONE], message_stop then the model's end, or
//   an error event when the model breaks off or ends early — is the final
//   message, so no one between can cut or end it unnoticed.
// - The model's answer goes back with every non-plain field sealed: whole
//   JSON bodies at once, event streams event by event with one sequence
//   counter (spec §5.7), written as they arrive. Only Content-Type is kept
//   from the model's headers. Model errors are encrypted like answers.
// - Errors the worker makes itself use respond_error (plaintext, marked
//   Privatemode-Encrypted: false) and never carry prompt text.
// - /v1/models and /v1/models/{id} pass through unencrypted (health probes).
// - With `plaintext_routes` (benchmarks only: it defeats the point), the
//   same inference routes under /plain/ forward without any cryptography,
//   so one run can measure what encryption costs.
// - Loop thread only; the store and client are borrowed.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "cipherline/backend/secret_store.hpp"
#include "cipherline/crypto/oae.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/http/router.hpp"
#include "cipherline/protocol/json_fields.hpp"
#include "cipherline/protocol/ocsp_policy.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::backend {

// The OCSP statuses of one GPU's certificates, as the agent records them.
struct GpuOcspStatus {
  protocol::OcspStatus gpu, vbios, driver;
};

struct WorkerOptions {
  std::string name = "worker";
  http::Origin model;               // the model server (plaintext HTTP, local)
  std::vector<std::string> models;  // served model names
  std::uint64_t max_body = 16 * 1024 * 1024;
  bool plaintext_routes = false;
};

class Worker {
 public:
  Worker(WorkerOptions options, SecretStore& secrets, http::HttpClient& model_client)
      : options_(std::move(options)), secrets_(secrets), client_(model_client) {}

  void add_routes(http::Router& router);

  // activate: the agent attested this worker's GPUs; `statuses` are their
  // OCSP statuses, enforced per request against the client's policy.
  void activate(std::vector<GpuOcspStatus> statuses) {
    statuses_ = std::move(statuses);
    active_ = true;
  }
  bool active() const noexcept { return active_; }
  const WorkerOptions& options() const noexcept { return options_; }

  Task<void> serve(protocol::Route route, http::Request& request, http::ResponseWriter& writer);
  Task<void> list_models(http::Request& request, http::ResponseWriter& writer);
  Task<void> serve_plaintext(protocol::Route route, http::Request& request,
                             http::ResponseWriter& writer);

 private:
  Result<crypto::OaeResponder, Error> open_oae_request(std::string_view header_value,
                                                       const protocol::InferenceSecret& secret,
                                                       std::string_view body,
                                                       std::string& plaintext) const;
  Task<void> reply_fields(protocol::Route route, protocol::ResponseCipher& cipher,
                          http::ClientResponse& response, http::Request& request,
                          http::ResponseWriter& writer);
  Task<void> reply_oae(protocol::Route route, crypto::OaeResponder& responder,
                       http::ClientResponse& response, http::ResponseWriter& writer);

  WorkerOptions options_;
  SecretStore& secrets_;
  http::HttpClient& client_;
  std::vector<GpuOcspStatus> statuses_;
  bool active_ = false;
};

}  // namespace cipherline::backend
