#include "cipherline/backend/roles.hpp"

#include <simdjson.h>

#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/nvgpu/spdm.hpp"
#include "cipherline/backend/attestation_agent.hpp"
#include "cipherline/backend/coordinator.hpp"
#include "cipherline/backend/dev_state.hpp"
#include "cipherline/backend/error.hpp"
#include "cipherline/backend/error_response.hpp"
#include "cipherline/backend/etcd_secret_store.hpp"
#include "cipherline/backend/gateway.hpp"
#include "cipherline/backend/secret_service.hpp"
#include "cipherline/backend/worker.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

Error config_error(std::string message) {
  return Error(errc::bad_configuration, std::move(message));
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s)); }

// A service's mesh identity, as the Coordinator issued it.
struct Identity {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
  crypto::Certificate mesh_ca;
  std::filesystem::path certificate_file, key_file, mesh_ca_file;
};

Result<http::Origin, Error> https_origin(std::string_view what, const std::string& url) {
  if (url.empty()) return config_error(std::string(what) + " is required (https://HOST:PORT)");
  auto origin = http::Origin::parse(url);
  if (!origin || origin->scheme != "https") {
    return config_error(std::string(what) + ": expected https://HOST:PORT, got \"" + url + "\"");
  }
  return *origin;
}

// The state a role other than the coordinator uses: it must exist already.
Result<DevState, Error> existing_state(const RoleOptions& o,
                                       const std::array<std::byte, 48>& measurement) {
  if (!std::filesystem::exists(o.state / "manifest.json")) {
    return config_error(o.state.string() +
                        " has no manifest.json: start the coordinator role first (it writes "
                        "the state directory)");
  }
  return DevState::open(o.state, measurement);
}

Task<Result<std::string, Error>> post_json(http::HttpClient& client, const http::Origin& origin,
                                           std::string target, std::string body) {
  auto response =
      co_await client.request(origin, {.method = "POST",
                                       .target = target,
                                       .headers = {{"Content-Type", "application/json"}},
                                       .body = std::move(body)});
  if (!response) co_return response.error();
  auto text = co_await response->body().read_all(1 << 20);
  if (!text) co_return text.error();
  if (response->status() != 200) {
    co_return Error(errc::admission_refused, origin.to_string() + target + ": status " +
                                                 std::to_string(response->status()) + ": " + *text);
  }
  co_return std::move(*text);
}

// admit proves this service to the Coordinator and takes its mesh identity.
Task<Result<Identity, Error>> admit(http::HttpClient& client, const http::Origin& coordinator,
                                    const DevState& state, const std::string& role,
                                    const std::string& name) {
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  if (!key) co_return key.error();
  auto evidence = issue_service_evidence(state.snp, state.measurement, DevState::policy_hash(role),
                                         key->public_key());
  if (!evidence) co_return evidence.error();
  attest::contrast::SnpEvidence wire;
  wire.report = evidence->report;
  wire.vcek_der = evidence->vcek.der();
  wire.product = state.snp.product;
  std::string body;
  json::JsonWriter(body)
      .begin_object()
      .key("Evidence")
      .string(crypto::to_base64(attest::contrast::encode_snp_attestation(wire)))
      .key("PublicKey")
      .string(crypto::to_base64(key->public_key().spki_der()))
      .end_object();
  auto reply = co_await post_json(client, coordinator, "/admit", std::move(body));
  if (!reply) co_return Error(reply.error().code(), "admission: " + reply.error().message());
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view certificate_pem, mesh_ca_pem;
  if (parser.parse(*reply).get(root) != simdjson::SUCCESS ||
      root["Certificate"].get(certificate_pem) != simdjson::SUCCESS ||
      root["MeshCA"].get(mesh_ca_pem) != simdjson::SUCCESS) {
    co_return Error(errc::admission_refused, "admission: the Coordinator's reply is malformed");
  }
  auto certificate = crypto::Certificate::from_pem(certificate_pem);
  auto mesh_ca = crypto::Certificate::from_pem(mesh_ca_pem);
  if (!certificate || !mesh_ca) {
    co_return Error(errc::admission_refused, "admission: the Coordinator sent no certificate");
  }
  auto files = state.write_identity("mesh-" + name, {*certificate}, *key);
  if (!files) co_return files.error();
  const auto ca_file = state.private_dir() / ("mesh-" + name + "-ca.pem");
  if (auto r = write_private_file(ca_file, bytes_of(mesh_ca_pem)); !r) co_return r.error();
  co_return Identity{std::move(*key), std::move(*certificate), std::move(*mesh_ca),
                     files->first,    files->second,           ca_file};
}

// The client a service uses towards the Coordinator: TLS trusting the
// development CA only.
Result<std::unique_ptr<http::HttpClient>, Error> coordinator_client(const DevState& state) {
  auto tls = http::TlsClientConfig{.use_system_roots = false,
                                   .ca_file = (state.dir / "dev-ca.pem").string()}
                 .build();
  if (!tls) return tls.error();
  return std::make_unique<http::HttpClient>(
      http::ClientOptions{.tls = *tls, .proxy = http::ProxySettings{}});
}

Result<std::unique_ptr<http::HttpClient>, Error> mesh_client(const Identity& id) {
  auto tls = http::TlsClientConfig{.use_system_roots = false,
                                   .ca_file = id.mesh_ca_file.string(),
                                   .certificate_file = id.certificate_file.string(),
                                   .key_file = id.key_file.string()}
                 .build();
  if (!tls) return tls.error();
  return std::make_unique<http::HttpClient>(http::ClientOptions{
      .max_connections_per_origin = kHopConnections, .tls = *tls, .proxy = http::ProxySettings{}});
}

Result<std::shared_ptr<http::TlsServerContext>, Error> mesh_server(const Identity& id) {
  return http::TlsServerContext::create({.certificate_file = id.certificate_file.string(),
                                         .key_file = id.key_file.string(),
                                         .client_ca_file = id.mesh_ca_file.string()});
}

// Serves `router` on options.listen until stopped (TLS unless `tls` is null).
Task<Result<void, Error>> serve(const RoleOptions& o, http::Router router,
                                std::shared_ptr<http::TlsServerContext> tls,
                                TaskScope* background = nullptr) {
  std::unique_ptr<TcpListener> listener;
  std::string bind_error;
  try {
    listener = std::make_unique<TcpListener>(TcpListener::bind(o.listen));
  } catch (const std::system_error& e) {
    bind_error = "listening on " + o.listen.to_string() + ": " + e.what();
  }
  if (!listener) {
    if (background != nullptr) {  // its tasks end before the error is returned
      background->request_stop();
      co_await background->join();
    }
    co_return config_error(bind_error);
  }
  if (o.announce) {
    o.announce(o.role + " on " + (tls ? "https://" : "http://") +
               listener->local_address().to_string());
  }
  http::HttpServer server(std::move(router), backend_server_options());
  if (tls) {
    co_await server.serve_tls(*listener, tls);
  } else {
    co_await server.serve(*listener);
  }
  if (background != nullptr) {
    background->request_stop();
    co_await background->join();
  }
  co_return Result<void, Error>{};
}

// forward_to relays a request's body to `target` at `origin` and its answer
// back (the gateway's key-setup hops).
http::Handler forward_to(http::HttpClient& client, http::Origin origin, std::string target) {
  return [&client, origin, target](http::Request& request,
                                   http::ResponseWriter& writer) -> Task<void> {
    auto body = co_await request.body.read_all(64 * 1024);
    if (!body) {
      co_await respond_error(request, writer, 400,
                             "reading the request: " + body.error().message());
      co_return;
    }
    auto response = co_await client.request(
        origin, {.method = "POST", .target = target, .body = std::move(*body)});
    auto answer = response ? co_await response->body().read_all(4 << 20)
                           : Result<std::string, Error>(response.error());
    if (!answer) {
      co_await respond_error(request, writer, 502,
                             origin.to_string() + ": " + answer.error().message());
      co_return;
    }
    http::Headers headers;
    for (const char* name : {"Content-Type", "Privatemode-Encrypted", "X-Content-Type-Options"}) {
      if (auto v = response->head().headers.get(name)) headers.add(name, *v);
    }
    (void)co_await writer.respond(response->status(), std::move(headers), *answer);
  };
}

Task<Result<std::unique_ptr<EtcdSecretStore>, Error>> etcd_store(const RoleOptions& o) {
  if (o.etcd_endpoint.empty()) {
    co_return config_error("--role " + o.role +
                           " shares secrets through etcd: pass --secret-store etcd://HOST:PORT");
  }
  co_return co_await EtcdSecretStore::connect({.endpoint = o.etcd_endpoint});
}

// What the agent signs to activate a worker: the nonce the worker's GPU
// evidence answered and the statuses it activates with.
std::vector<std::byte> activation_message(std::string_view nonce_b64, std::string_view statuses) {
  const std::string text =
      "cipherline activate\n" + std::string(nonce_b64) + "\n" + std::string(statuses);
  const auto b = bytes_of(text);
  return {b.begin(), b.end()};
}

// ---- the roles ----

Task<Result<void, Error>> run_coordinator(const RoleOptions& o,
                                          const std::array<std::byte, 48>& measurement) {
  auto state = DevState::open(o.state, measurement);
  if (!state) co_return state.error();
  auto coordinator = Coordinator::create(
      {.manifest = state->manifest, .tee = state->snp, .measurement = measurement});
  if (!coordinator) co_return coordinator.error();
  http::Router router;
  coordinator->add_routes(router);
  auto tls =
      http::TlsServerContext::create({.certificate_file = state->gateway_certificate_file.string(),
                                      .key_file = state->gateway_key_file.string()});
  if (!tls) co_return tls.error();
  co_return co_await serve(o, std::move(router), *tls);
}

Task<Result<void, Error>> run_model(const RoleOptions& o) {
  SyntheticModel model(o.model);
  http::Router router;
  model.add_routes(router);
  co_return co_await serve(o, std::move(router), nullptr);
}

Task<Result<void, Error>> run_secret_service(const RoleOptions& o, const DevState& state,
                                             http::HttpClient& coordinator_http,
                                             const http::Origin& coordinator) {
  auto store = co_await etcd_store(o);
  if (!store) co_return store.error();
  auto id =
      co_await admit(coordinator_http, coordinator, state, "secret-service", "secret-service");
  if (!id) co_return id.error();
  auto tls = mesh_server(*id);
  if (!tls) co_return tls.error();
  SecretService service(id->key, id->certificate, **store);
  http::Router router;
  service.add_routes(router);
  co_return co_await serve(o, std::move(router), *tls);
}

Task<Result<void, Error>> run_worker(const RoleOptions& o, const DevState& state,
                                     http::HttpClient& coordinator_http,
                                     const http::Origin& coordinator) {
  if (o.upstream.empty()) {
    co_return config_error(
        "--role worker needs --upstream http://HOST:PORT (a model server, "
        "such as --role model)");
  }
  auto model = http::Origin::parse(o.upstream);
  if (!model) co_return config_error("--upstream: " + model.error().message());
  auto store = co_await etcd_store(o);
  if (!store) co_return store.error();
  const std::string name = "worker-" + std::to_string(o.listen.port());
  auto id = co_await admit(coordinator_http, coordinator, state, "worker", name);
  if (!id) co_return id.error();
  auto tls = mesh_server(*id);
  if (!tls) co_return tls.error();
  http::HttpClient model_client(
      {.max_connections_per_origin = kHopConnections, .proxy = http::ProxySettings{}});
  Worker worker({.name = name, .model = *model, .models = {o.model_name}}, **store, model_client);
  http::Router router;
  worker.add_routes(router);

  // The agent's side door: GPU evidence for a nonce, then activation.
  std::string pending_nonce;
  router.add("POST", "/internal/gpu-evidence",
             [&](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
               auto body = co_await request.body.read_all(4096);
               simdjson::dom::parser parser;
               simdjson::dom::element root;
               std::string_view nonce_b64;
               auto nonce = body && parser.parse(*body).get(root) == simdjson::SUCCESS &&
                                    root["Nonce"].get(nonce_b64) == simdjson::SUCCESS
                                ? crypto::from_base64(nonce_b64)
                                : Result<std::vector<std::byte>, Error>(
                                      config_error("expected {\"Nonce\": base64}"));
               if (!nonce || nonce->size() != 32) {
                 co_await respond_error(request, writer, 400,
                                        "GPU evidence: the nonce must be 32 bytes of base64");
                 co_return;
               }
               auto report =
                   attest::sim::issue_gpu_report(state.gpu, attest::sim::GpuState{},
                                                 std::span<const std::byte, 32>(nonce->data(), 32));
               if (!report) {
                 co_await respond_error(request, writer, 500, report.error().message());
                 co_return;
               }
               pending_nonce = std::string(nonce_b64);
               std::string chain;
               for (const auto& c : state.gpu.certificate_chain()) chain += crypto::to_pem(c);
               std::string out;
               json::JsonWriter(out)
                   .begin_object()
                   .key("Report")
                   .string(crypto::to_base64(report->raw))
                   .key("Chain")
                   .string(chain)
                   .end_object();
               (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
             });
  router.add(
      "POST", "/internal/activate",
      [&](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
        auto body = co_await request.body.read_all(64 * 1024);
        simdjson::dom::parser parser;
        simdjson::dom::element root;
        std::string_view nonce, statuses, certificate_pem, signature_b64;
        if (!body || parser.parse(*body).get(root) != simdjson::SUCCESS ||
            root["Nonce"].get(nonce) != simdjson::SUCCESS ||
            root["Statuses"].get(statuses) != simdjson::SUCCESS ||
            root["Certificate"].get(certificate_pem) != simdjson::SUCCESS ||
            root["Signature"].get(signature_b64) != simdjson::SUCCESS) {
          co_await respond_error(request, writer, 400, "activation: malformed body");
          co_return;
        }
        // Only the attestation agent, for the evidence it just checked.
        auto certificate = crypto::Certificate::from_pem(certificate_pem);
        auto signature = crypto::from_base64(signature_b64);
        std::string why;
        if (pending_nonce.empty() || nonce != pending_nonce) {
          why = "not the nonce of the last GPU evidence";
        } else if (!certificate || !signature) {
          why = "no certificate or signature";
        } else if (!crypto::verify_chain(*certificate, {}, std::span(&id->mesh_ca, 1),
                                         system_clock::now())) {
          why = "the certificate is not from the mesh CA";
        } else if (certificate->subject().find("CN=attestation-agent") == std::string::npos) {
          why = "the certificate is not the attestation agent's";
        } else if (auto key = certificate->public_key(); !key) {
          why = key.error().message();
        } else if (!crypto::verify_ecdsa(*key, crypto::Hash::sha256,
                                         activation_message(nonce, statuses), *signature)) {
          why = "invalid signature";
        }
        auto parsed = why.empty() ? parse_ocsp_status_json(statuses)
                                  : Result<std::vector<GpuOcspStatus>, Error>(config_error(why));
        if (!parsed) {
          co_await respond_error(request, writer, 403,
                                 "activation refused: " + parsed.error().message());
          co_return;
        }
        pending_nonce.clear();
        worker.activate(std::move(*parsed));
        (void)co_await writer.respond(200, {{"Content-Type", "application/json"}},
                                      "{\"Active\":true}");
      });
  router.add("GET", "/internal/status",
             [&worker](http::Request&, http::ResponseWriter& writer) -> Task<void> {
               (void)co_await writer.respond(
                   200, {{"Content-Type", "application/json"}},
                   worker.active() ? "{\"Active\":true}" : "{\"Active\":false}");
             });
  TaskScope background;
  background.spawn((*store)->watch());
  co_return co_await serve(o, std::move(router), *tls, &background);
}

// One attestation of one worker by the agent: evidence for a fresh nonce,
// verified, then a signed activation.
Task<Result<attest::VerificationReport, Error>> attest_worker(AttestationAgent& agent,
                                                              http::HttpClient& mesh,
                                                              const Identity& id,
                                                              const http::Origin& worker) {
  const auto nonce = AttestationAgent::fresh_nonce();
  const std::string nonce_b64 = crypto::to_base64(nonce);
  auto reply = co_await post_json(mesh, worker, "/internal/gpu-evidence",
                                  R"({"Nonce":")" + nonce_b64 + R"("})");
  if (!reply) co_return reply.error();
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view report_b64, chain_pem;
  if (parser.parse(*reply).get(root) != simdjson::SUCCESS ||
      root["Report"].get(report_b64) != simdjson::SUCCESS ||
      root["Chain"].get(chain_pem) != simdjson::SUCCESS) {
    co_return config_error(worker.to_string() + ": malformed GPU evidence");
  }
  auto raw = crypto::from_base64(report_b64);
  auto report = raw ? attest::nvgpu::parse_report(*raw)
                    : Result<attest::nvgpu::AttestationReport, Error>(raw.error());
  auto chain = crypto::Certificate::all_from_pem(chain_pem);
  attest::VerificationReport verified("GPUs of " + worker.to_string());
  std::vector<GpuOcspStatus> statuses;
  if (!report || !chain) {
    verified.check("GPU evidence", "an SPDM report and its chain",
                   (!report ? report.error() : chain.error()).message(), false);
    co_return verified;
  }
  verified = agent.verify("worker-" + std::to_string(worker.port), {{*report, *chain, {}}}, nonce,
                          statuses);
  if (!verified.passed()) co_return verified;
  const std::string statuses_json = ocsp_status_json(statuses);
  auto signature =
      id.key.sign_ecdsa(crypto::Hash::sha256, activation_message(nonce_b64, statuses_json),
                        crypto::SignatureFormat::der);
  if (!signature) co_return signature.error();
  std::string body;
  json::JsonWriter(body)
      .begin_object()
      .key("Nonce")
      .string(nonce_b64)
      .key("Statuses")
      .string(statuses_json)
      .key("Certificate")
      .string(crypto::to_pem(id.certificate))
      .key("Signature")
      .string(crypto::to_base64(*signature))
      .end_object();
  auto activated = co_await post_json(mesh, worker, "/internal/activate", std::move(body));
  if (!activated) co_return activated.error();
  co_return verified;
}

Task<Result<void, Error>> run_agent(const RoleOptions& o, const DevState& state,
                                    http::HttpClient& coordinator_http,
                                    const http::Origin& coordinator) {
  std::vector<http::Origin> workers;
  for (const auto& w : o.workers) {
    auto origin = https_origin("--worker", w);
    if (!origin) co_return origin.error();
    workers.push_back(*origin);
  }
  if (workers.empty()) co_return config_error("--role agent needs --worker https://HOST:PORT");
  auto id = co_await admit(coordinator_http, coordinator, state, "attestation-agent",
                           "attestation-agent");
  if (!id) co_return id.error();
  auto mesh = mesh_client(*id);
  if (!mesh) co_return mesh.error();
  AttestationAgent agent({.trusted_root = state.gpu.trusted_root(),
                          .reference = development_gpu_reference(),
                          .status_dir = state.private_dir() / "ocsp"});
  if (o.announce) o.announce("agent attesting " + std::to_string(workers.size()) + " worker(s)");
  // Attest every worker that is (again) inactive; look again every second.
  while (true) {
    for (const auto& w : workers) {
      auto status = co_await (*mesh)->request(w, {.method = "GET", .target = "/internal/status"});
      auto text = status ? co_await status->body().read_all(4096)
                         : Result<std::string, Error>(status.error());
      if (!text || text->find("\"Active\":false") == std::string::npos) continue;
      auto verified = co_await attest_worker(agent, **mesh, *id, w);
      if (verified && o.report) o.report(*verified);
      if (!verified && o.announce) o.announce("agent: " + verified.error().message());
    }
    if (!co_await sleep_for(seconds(1))) co_return Result<void, Error>{};
  }
}

Task<Result<void, Error>> run_gateway(const RoleOptions& o, const DevState& state,
                                      http::HttpClient& coordinator_http,
                                      const http::Origin& coordinator) {
  auto secret_service = https_origin("--secret-service", o.secret_service);
  if (!secret_service) co_return secret_service.error();
  auto id = co_await admit(coordinator_http, coordinator, state, "gateway", "gateway");
  if (!id) co_return id.error();
  auto mesh = mesh_client(*id);
  if (!mesh) co_return mesh.error();
  Gateway gateway({.api_keys = o.api_keys}, **mesh);
  gateway.set_attest(forward_to(coordinator_http, coordinator, "/privatemode/v1/attest"));
  gateway.set_secret(forward_to(**mesh, *secret_service, "/privatemode/v1/secret"));
  for (const auto& w : o.workers) {
    const auto eq = w.find('=');
    const std::string model = eq == std::string::npos ? o.model_name : w.substr(0, eq);
    auto origin = https_origin("--worker", eq == std::string::npos ? w : w.substr(eq + 1));
    if (!origin) co_return origin.error();
    gateway.add_worker(model, *origin);
  }
  if (o.workers.empty())
    co_return config_error("--role gateway needs --worker [MODEL=]https://HOST:PORT");
  auto tls =
      http::TlsServerContext::create({.certificate_file = state.gateway_certificate_file.string(),
                                      .key_file = state.gateway_key_file.string()});
  if (!tls) co_return tls.error();
  co_return co_await serve(o, gateway.router(), *tls);
}

}  // namespace

Task<Result<void, Error>> run_role(RoleOptions o) {
  if (o.role == "model") co_return co_await run_model(o);
  auto measurement = running_binary_measurement();
  if (!measurement) co_return measurement.error();
  if (o.role == "coordinator") co_return co_await run_coordinator(o, *measurement);

  auto state = existing_state(o, *measurement);
  if (!state) co_return state.error();
  auto coordinator = https_origin("--coordinator", o.coordinator);
  if (!coordinator) co_return coordinator.error();
  auto client = coordinator_client(*state);
  if (!client) co_return client.error();
  if (o.role == "secret-service") {
    co_return co_await run_secret_service(o, *state, **client, *coordinator);
  }
  if (o.role == "worker") co_return co_await run_worker(o, *state, **client, *coordinator);
  if (o.role == "agent") co_return co_await run_agent(o, *state, **client, *coordinator);
  if (o.role == "gateway") co_return co_await run_gateway(o, *state, **client, *coordinator);
  co_return config_error("unknown role \"" + o.role +
                         "\": coordinator, secret-service, agent, worker, gateway or model");
}

}  // namespace cipherline::backend
