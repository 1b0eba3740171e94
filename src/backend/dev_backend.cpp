#include "cipherline/backend/dev_backend.hpp"

#include <deque>

#include "cipherline/backend/attestation_agent.hpp"
#include "cipherline/backend/coordinator.hpp"
#include "cipherline/backend/dev_state.hpp"
#include "cipherline/backend/error.hpp"
#include "cipherline/backend/error_response.hpp"
#include "cipherline/backend/etcd_secret_store.hpp"
#include "cipherline/backend/gateway.hpp"
#include "cipherline/backend/secret_service.hpp"
#include "cipherline/backend/worker.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/sleep.hpp"
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
  std::unique_ptr<Gateway> gateway;
  std::optional<AttestationAgent> agent;
  http::Origin model_origin;

  // A background task (a server or a watch) that can be stopped on its own.
  struct Runner {
    std::stop_source stop;
    std::unique_ptr<Channel<bool>> done = std::make_unique<Channel<bool>>(0);  // closed at the end
    bool running = false;
  };
  struct Listening {
    std::unique_ptr<http::HttpServer> server;
    std::unique_ptr<TcpListener> listener;
    std::shared_ptr<http::TlsServerContext> tls;  // null: plain HTTP
    Runner runner;
  };
  std::deque<Listening> servers;  // stable addresses
  std::size_t gateway_index = 0;

  // A worker with what belongs to it alone: its secret store (its own etcd
  // client and watch, or the shared store) and its server.
  struct WorkerSlot {
    std::unique_ptr<Worker> worker;
    std::shared_ptr<SecretStore> store;
    EtcdSecretStore* etcd = nullptr;  // the store, when it is etcd
    Runner watch;
    Listening* server = nullptr;
    std::uint16_t port = 0;
  };
  std::vector<WorkerSlot> workers;
  TaskScope* scope = nullptr;  // while serving

  static Task<void> run(Task<void> task, Runner& runner) {
    runner.running = true;
    co_await with_stop_token(std::move(task), runner.stop.get_token());
    runner.running = false;
    runner.done->close();
  }
  static Task<void> stop(Runner& runner) {
    if (!runner.running) co_return;
    runner.stop.request_stop();
    (void)co_await runner.done->receive();
  }
  Task<void> serve_one(Listening& l) {
    if (l.tls) {
      co_await l.server->serve_tls(*l.listener, l.tls);
    } else {
      co_await l.server->serve(*l.listener);
    }
  }
  void start(Listening& l) {
    l.runner = Runner{};
    scope->spawn(run(serve_one(l), l.runner));
  }
  void start_watch(EtcdSecretStore& store, Runner& runner) {
    runner = Runner{};
    scope->spawn(run(store.watch(), runner));
  }

  Task<Result<std::shared_ptr<SecretStore>, Error>> open_store(EtcdSecretStore** etcd) {
    *etcd = nullptr;
    if (options.etcd_endpoint.empty()) {
      co_return options.secret_store ? options.secret_store : std::shared_ptr<SecretStore>(store);
    }
    // etcd may be starting or busy: a few tries before giving up.
    auto connected = co_await EtcdSecretStore::connect({.endpoint = options.etcd_endpoint});
    for (int attempt = 1; !connected && attempt < 3; ++attempt) {
      if (!co_await sleep_for(std::chrono::milliseconds(500))) break;
      connected = co_await EtcdSecretStore::connect({.endpoint = options.etcd_endpoint});
    }
    if (!connected) co_return connected.error();
    *etcd = connected->get();
    co_return std::shared_ptr<SecretStore>(std::move(*connected));
  }

  // add_worker admits worker `i`, lets the agent attest its GPUs, and
  // serves it on `port` (0: any).
  Task<Result<void, Error>> add_worker(std::size_t i, std::uint16_t port);

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
    l.server = std::make_unique<http::HttpServer>(std::move(router), backend_server_options());
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

Task<Result<std::unique_ptr<DevBackend>, Error>> DevBackend::create(DevBackendOptions options) {
  auto p = std::make_unique<Parts>();
  p->options = std::move(options);
  const auto& o = p->options;

  auto measurement = running_binary_measurement();
  if (!measurement) co_return at("measuring the backend binary", measurement);
  auto state = DevState::open(o.state, *measurement);
  if (!state) co_return at("opening the state directory", state);
  p->state_storage = std::move(*state);

  auto coordinator = Coordinator::create(
      {.manifest = p->state().manifest, .tee = p->state().snp, .measurement = *measurement});
  if (!coordinator) co_return at("starting the Coordinator", coordinator);
  p->coordinator = std::make_unique<Coordinator>(std::move(*coordinator));
  p->mesh_ca_file = p->state().private_dir() / "mesh-ca.pem";
  if (auto r = write_private_file(p->mesh_ca_file,
                                  std::as_bytes(std::span(p->coordinator->mesh_ca_pem())));
      !r) {
    co_return r.error();
  }

  // Step 2: the services prove themselves and get mesh certificates.
  auto secret_identity = p->admit("secret-service", "secret-service");
  if (!secret_identity) co_return at("admitting the secret service", secret_identity);
  auto agent_identity = p->admit("attestation-agent", "attestation-agent");
  if (!agent_identity) co_return at("admitting the attestation agent", agent_identity);
  auto gateway_identity = p->admit("gateway", "gateway");
  if (!gateway_identity) co_return at("admitting the gateway", gateway_identity);

  if (!o.etcd_endpoint.empty()) {
    EtcdSecretStore* etcd = nullptr;
    auto store = co_await p->open_store(&etcd);
    if (!store) co_return at("the secret service's etcd store", store);
    p->store = std::move(*store);  // it only writes: no watch
  } else {
    p->store = o.secret_store ? o.secret_store : std::make_shared<MemorySecretStore>();
  }
  p->secret_service = std::make_unique<SecretService>(
      std::move(secret_identity->key), std::move(secret_identity->certificate), *p->store);

  // The model: built in, or a real server.
  p->model_client = std::make_unique<http::HttpClient>(http::ClientOptions{
      .max_connections_per_origin = kHopConnections, .proxy = http::ProxySettings{}});
  auto& model_origin = p->model_origin;
  if (o.upstream) {
    model_origin = *o.upstream;
  } else {
    p->model = std::make_unique<SyntheticModel>(o.model);
    http::Router router;
    p->model->add_routes(router);
    auto l = p->listen(std::move(router), SocketAddress::parse("127.0.0.1:0"), nullptr);
    if (!l) co_return l.error();
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
  if (!mesh_tls) co_return at("the gateway's mesh TLS", mesh_tls);
  p->mesh_client = std::make_unique<http::HttpClient>(
      http::ClientOptions{.max_connections_per_origin = kHopConnections,
                          .tls = *mesh_tls,
                          .proxy = http::ProxySettings{}});
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
  if (!gateway_tls) co_return at("the gateway's TLS", gateway_tls);
  auto front = p->listen(http::Router{}, o.listen, *gateway_tls);
  if (!front) co_return front.error();
  p->gateway_index = p->servers.size() - 1;

  // Workers, each admitted, then activated by the agent if its GPUs pass.
  p->agent.emplace(AttestationAgentOptions{.trusted_root = p->state().gpu.trusted_root(),
                                           .reference = development_gpu_reference(),
                                           .status_dir = p->state().private_dir() / "ocsp"});
  p->workers.resize(std::max<std::size_t>(o.workers, 1));
  for (std::size_t i = 0; i < p->workers.size(); ++i) {
    if (auto r = co_await p->add_worker(i, 0); !r) co_return r.error();
    for (const auto& model : o.model_names) {
      p->gateway->add_worker(
          model, http::Origin{.scheme = "https", .host = "127.0.0.1", .port = p->workers[i].port});
    }
  }
  // The gateway's router, now that its routes are all known.
  p->servers[p->gateway_index].server =
      std::make_unique<http::HttpServer>(p->gateway->router(), backend_server_options());
  co_return std::unique_ptr<DevBackend>(new DevBackend(std::move(p)));
}

Task<Result<void, Error>> DevBackend::Parts::add_worker(std::size_t i, std::uint16_t port) {
  auto& slot = workers[i];
  const std::string name = "worker-" + std::to_string(i);
  auto identity = admit("worker", name);
  if (!identity) co_return at("admitting " + name, identity);
  auto store = co_await open_store(&slot.etcd);
  if (!store) co_return at(name + "'s secret store", store);
  slot.store = std::move(*store);
  slot.worker =
      std::make_unique<Worker>(WorkerOptions{.name = name,
                                             .model = model_origin,
                                             .models = options.model_names,
                                             .plaintext_routes = options.plaintext_routes},
                               *slot.store, *model_client);
  SimulatedGpu gpu{.pki = state().gpu};
  if (i < options.gpu_states.size()) gpu.state = options.gpu_states[i];
  reports.push_back(agent->attest(*slot.worker, {gpu}));
  http::Router router;
  slot.worker->add_routes(router);
  auto tls = http::TlsServerContext::create({.certificate_file = identity->certificate_file,
                                             .key_file = identity->key_file,
                                             .client_ca_file = mesh_ca_file});
  if (!tls) co_return at("the mTLS of " + name, tls);
  auto l =
      listen(std::move(router), SocketAddress::parse("127.0.0.1:" + std::to_string(port)), *tls);
  if (!l) co_return l.error();
  slot.server = *l;
  slot.port = slot.server->listener->local_address().port();
  if (scope != nullptr) {  // serving already: a restart
    start(*slot.server);
    if (slot.etcd != nullptr) start_watch(*slot.etcd, slot.watch);
  }
  co_return Result<void, Error>{};
}

Task<void> DevBackend::serve() {
  auto& p = *parts_;
  TaskScope scope;
  p.scope = &scope;
  for (auto& l : p.servers) p.start(l);
  for (auto& w : p.workers) {
    if (w.etcd != nullptr) p.start_watch(*w.etcd, w.watch);
  }
  {
    // Stopping serve() stops every runner (each has a stop source of its own,
    // so that one worker can also be stopped alone).
    const std::stop_token& token = co_await get_stop_token();
    std::stop_callback stop_all(token, [&p] {
      for (auto& l : p.servers) l.runner.stop.request_stop();
      for (auto& w : p.workers) w.watch.stop.request_stop();
    });
    co_await scope.join();
  }
  p.scope = nullptr;
}

Task<Result<void, Error>> DevBackend::restart_worker(std::size_t index) {
  auto& p = *parts_;
  if (index >= p.workers.size() || p.scope == nullptr) {
    co_return Error(errc::bad_configuration, "no running worker " + std::to_string(index));
  }
  auto& slot = p.workers[index];
  // Down: its server (requests in flight finish), its watch, its store.
  co_await Parts::stop(slot.server->runner);
  co_await Parts::stop(slot.watch);
  slot.server->listener.reset();
  slot.server->server.reset();
  slot.worker.reset();
  slot.store.reset();
  slot.etcd = nullptr;
  // Up again on the same port: admitted and attested afresh, secrets from
  // the store (etcd: from the cluster, not from memory).
  co_return co_await p.add_worker(index, slot.port);
}

std::size_t DevBackend::workers() const { return parts_->workers.size(); }
bool DevBackend::worker_active(std::size_t index) const {
  const auto& w = parts_->workers.at(index).worker;
  return w && w->active();
}

}  // namespace cipherline::backend
