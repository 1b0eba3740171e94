#include "cipherline/backend/dev_backend.hpp"

#include <deque>

#include "cipherline/backend/attestation_agent.hpp"
#include "cipherline/backend/coordinator.hpp"
#include "cipherline/backend/dev_state.hpp"
#include "cipherline/backend/error.hpp"
#include "cipherline/backend/gateway.hpp"
#include "cipherline/backend/secret_service.hpp"
#include "cipherline/backend/worker.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/runtime/task_scope.hpp"

namespace cipherline::backend {

struct MeshIdentity {
  crypto::PrivateKey key;
  crypto::Certificate certificate;
  std::filesystem::path certificate_file, key_file;
};

struct DevBackend::Parts {
  DevBackendOptions options;
  std::optional<DevState> state_storage;
  DevState& state() { return *state_storage; }
  std::vector<attest::VerificationReport> reports;
  std::unique_ptr<Coordinator> coordinator;
  std::filesystem::path mesh_ca_file;
  std::shared_ptr<SecretStore> store;
  std::unique_ptr<SecretService> secret_service;
  std::unique_ptr<http::HttpClient> model_client, mesh_client;
  std::unique_ptr<SyntheticModel> model;
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<Gateway> gateway;

  struct Listening {
    std::unique_ptr<http::HttpServer> server;
    std::unique_ptr<TcpListener> listener;
    std::shared_ptr<http::TlsServerContext> tls;  // null: plain HTTP
  };
  std::deque<Listening> servers;  // stable addresses
  std::size_t gateway_index = 0;

  // admit: a service's mesh identity, after the Coordinator verified its
  // evidence.
  Result<MeshIdentity, Error> admit(const std::string& role, const std::string& name) {
    auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
    if (!key) return key.error();
    auto evidence = issue_service_evidence(state().snp, state().measurement,
                                           DevState::policy_hash(role), key->public_key());
    if (!evidence) return evidence.error();
    attest::VerificationReport report("admission of " + name + " (" + role + ")");
    auto certificate = coordinator->admit(*evidence, key->public_key(), report);
    reports.push_back(std::move(report));
    if (!certificate) return certificate.error();
    auto files = state().write_identity("mesh-" + name, {*certificate}, *key);
    if (!files) return files.error();
    return MeshIdentity{std::move(*key), std::move(*certificate), files->first, files->second};
  }

  Result<Listening*, Error> listen(http::Router router, SocketAddress address,
                                   std::shared_ptr<http::TlsServerContext> tls) {
    Listening l;
    try {
      l.listener = std::make_unique<TcpListener>(TcpListener::bind(address));
    } catch (const std::system_error& e) {
      return Error(errc::bad_configuration,
                   "listening on " + address.to_string() + ": " + e.what());
    }
    l.server = std::make_unique<http::HttpServer>(std::move(router));
    l.tls = std::move(tls);
    servers.push_back(std::move(l));
    return &servers.back();
  }
};

namespace {

template <class T>
Error at(std::string_view step, const Result<T, Error>& r) {
  return Error(r.error().code(), std::string(step) + ": " + r.error().message());
}

}  // namespace

DevBackend::DevBackend(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}
DevBackend::~DevBackend() = default;

SocketAddress DevBackend::address() const {
  return parts_->servers[parts_->gateway_index].listener->local_address();
}
const std::vector<attest::VerificationReport>& DevBackend::reports() const {
  return parts_->reports;
}
const std::filesystem::path& DevBackend::state_dir() const { return parts_->state_storage->dir; }

Result<std::unique_ptr<DevBackend>, Error> DevBackend::create(DevBackendOptions options) {
  auto p = std::make_unique<Parts>();
  p->options = std::move(options);
  const auto& o = p->options;

  auto measurement = running_binary_measurement();
  if (!measurement) return at("measuring the backend binary", measurement);
  auto state = DevState::open(o.state, *measurement);
  if (!state) return at("opening the state directory", state);
  p->state_storage = std::move(*state);

  auto coordinator = Coordinator::create(
      {.manifest = p->state().manifest, .tee = p->state().snp, .measurement = *measurement});
  if (!coordinator) return at("starting the Coordinator", coordinator);
  p->coordinator = std::make_unique<Coordinator>(std::move(*coordinator));
  p->mesh_ca_file = p->state().private_dir() / "mesh-ca.pem";
  if (auto r = write_private_file(p->mesh_ca_file,
                                  std::as_bytes(std::span(p->coordinator->mesh_ca_pem())));
      !r) {
    return r.error();
  }

  // Step 2: the services prove themselves and get mesh certificates.
  auto secret_identity = p->admit("secret-service", "secret-service");
  if (!secret_identity) return at("admitting the secret service", secret_identity);
  auto agent_identity = p->admit("attestation-agent", "attestation-agent");
  if (!agent_identity) return at("admitting the attestation agent", agent_identity);
  auto gateway_identity = p->admit("gateway", "gateway");
  if (!gateway_identity) return at("admitting the gateway", gateway_identity);

  p->store = o.secret_store ? o.secret_store : std::make_shared<MemorySecretStore>();
  p->secret_service = std::make_unique<SecretService>(
      std::move(secret_identity->key), std::move(secret_identity->certificate), *p->store);

  // The model: built in, or a real server.
  p->model_client = std::make_unique<http::HttpClient>(
      http::ClientOptions{.max_connections_per_origin = 1024, .proxy = http::ProxySettings{}});
  http::Origin model_origin;
  if (o.upstream) {
    model_origin = *o.upstream;
  } else {
    p->model = std::make_unique<SyntheticModel>(o.model);
    http::Router router;
    p->model->add_routes(router);
    auto l = p->listen(std::move(router), SocketAddress::parse("127.0.0.1:0"), nullptr);
    if (!l) return l.error();
    model_origin =
        http::Origin{.host = "127.0.0.1", .port = (*l)->listener->local_address().port()};
  }

  // The gateway's client for the mesh: mTLS with its mesh certificate,
  // trusting only the mesh CA.
  auto mesh_tls =
      http::TlsClientConfig{.use_system_roots = false,
                            .ca_file = p->mesh_ca_file.string(),
                            .certificate_file = gateway_identity->certificate_file.string(),
                            .key_file = gateway_identity->key_file.string()}
          .build();
  if (!mesh_tls) return at("the gateway's mesh TLS", mesh_tls);
  p->mesh_client = std::make_unique<http::HttpClient>(http::ClientOptions{
      .max_connections_per_origin = 1024, .tls = *mesh_tls, .proxy = http::ProxySettings{}});
  p->gateway = std::make_unique<Gateway>(
      GatewayOptions{
          .api_keys = o.api_keys, .plaintext_routes = o.plaintext_routes, .tap = o.gateway_tap},
      *p->mesh_client);
  p->gateway->set_attest([c = p->coordinator.get()](http::Request& r, http::ResponseWriter& w) {
    return c->serve_attest(r, w, true);
  });
  p->gateway->set_secret([s = p->secret_service.get()](http::Request& r, http::ResponseWriter& w) {
    return s->exchange(r, w);
  });
  auto gateway_tls = http::TlsServerContext::create(
      {.certificate_file = p->state().gateway_certificate_file.string(),
       .key_file = p->state().gateway_key_file.string()});
  if (!gateway_tls) return at("the gateway's TLS", gateway_tls);
  auto front = p->listen(http::Router{}, o.listen, *gateway_tls);
  if (!front) return front.error();
  p->gateway_index = p->servers.size() - 1;

  // Workers, each admitted, then activated by the agent if its GPUs pass.
  AttestationAgent agent({.trusted_root = p->state().gpu.trusted_root(),
                          .reference = development_gpu_reference(),
                          .status_dir = p->state().private_dir() / "ocsp"});
  for (std::size_t i = 0; i < std::max<std::size_t>(o.workers, 1); ++i) {
    const std::string name = "worker-" + std::to_string(i);
    auto identity = p->admit("worker", name);
    if (!identity) return at("admitting " + name, identity);
    p->workers.push_back(
        std::make_unique<Worker>(WorkerOptions{.name = name,
                                               .model = model_origin,
                                               .models = o.model_names,
                                               .plaintext_routes = o.plaintext_routes},
                                 *p->store, *p->model_client));
    auto& worker = *p->workers.back();
    SimulatedGpu gpu{.pki = p->state().gpu};
    if (i < o.gpu_states.size()) gpu.state = o.gpu_states[i];
    p->reports.push_back(agent.attest(worker, {gpu}));
    http::Router router;
    worker.add_routes(router);
    auto tls = http::TlsServerContext::create({.certificate_file = identity->certificate_file,
                                               .key_file = identity->key_file,
                                               .client_ca_file = p->mesh_ca_file});
    if (!tls) return at("the mTLS of " + name, tls);
    auto l = p->listen(std::move(router), SocketAddress::parse("127.0.0.1:0"), *tls);
    if (!l) return l.error();
    const auto port = (*l)->listener->local_address().port();
    for (const auto& model : o.model_names) {
      p->gateway->add_worker(model,
                             http::Origin{.scheme = "https", .host = "127.0.0.1", .port = port});
    }
  }
  // The gateway's router, now that its routes are all known.
  p->servers[p->gateway_index].server = std::make_unique<http::HttpServer>(p->gateway->router());
  return std::unique_ptr<DevBackend>(new DevBackend(std::move(p)));
}

Task<void> DevBackend::serve() {
  TaskScope scope;
  for (auto& l : parts_->servers) {
    scope.spawn(l.tls ? l.server->serve_tls(*l.listener, l.tls) : l.server->serve(*l.listener));
  }
  co_await scope.join();
}

}  // namespace cipherline::backend
