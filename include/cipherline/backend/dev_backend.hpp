// DevBackend: every role of the backend in one process on the software TEE
// — `cipherline backend --dev`.
//
//   auto backend = DevBackend::create({.state = dir, .listen = addr}).value();
//   for (const auto& r : backend->reports()) print(r.to_text());   // admissions, GPUs
//   co_await backend->serve();          // until the awaiting task is stopped
//
// What create does, in the order of the chain of trust:
// 1. Opens the state directory (DevState): manifest, TEE roots, dev CA.
// 2. Starts the Coordinator with the manifest and the binary's measurement.
// 3. Each service (secret service, attestation agent, gateway, workers)
//    makes a mesh key and presents TEE evidence for it; the Coordinator
//    verifies it against the manifest and issues its mesh certificate.
// 4. The attestation agent attests each worker's GPUs and activates the
//    worker only if they pass.
// 5. The gateway serves HTTPS on `listen` with a certificate from the dev
//    CA; workers serve mTLS (mesh certificates both ways) on loopback ports;
//    the synthetic model (or `upstream`) serves plain HTTP on loopback.
// Every verification is kept as a report (`reports()`), failures included.
// A service the Coordinator refuses makes create fail; a worker whose GPUs
// fail stays registered but inactive (its requests get 503).
//
// Contract: create binds every port (so `address()` is known) and must run
// on the loop thread that later awaits serve(); serve stops all servers (and
// etcd watches) gracefully when its task is stopped. Errors name the step
// that failed.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "cipherline/attest/sim/gpu_issuer.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/backend/secret_store.hpp"
#include "cipherline/backend/synthetic_model.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/runtime/socket_address.hpp"

namespace cipherline::backend {

struct DevBackendOptions {
  std::filesystem::path state;
  SocketAddress listen = SocketAddress::parse("127.0.0.1:0");
  std::vector<std::string> api_keys{"dev"};
  SyntheticModelOptions model{};
  std::optional<http::Origin> upstream{};  // a real model server instead
  std::vector<std::string> model_names{std::string(SyntheticModel::kName)};
  std::size_t workers = 1;
  // What each worker's software GPU reports (index = worker); default GPUs
  // for the rest. A GPU off the allow-lists keeps its worker inactive.
  std::vector<attest::sim::GpuState> gpu_states{};
  // The secret store, shared by the secret service and the workers; null
  // means a MemorySecretStore.
  std::shared_ptr<SecretStore> secret_store{};
  // Or an etcd cluster ("http://host:port"): the secret service and each
  // worker get a store of their own on it, each worker's kept current by a
  // watch (how secrets reach workers on other machines).
  std::string etcd_endpoint{};
  std::function<void(std::string_view, std::string_view, std::string_view)> gateway_tap{};
  // Serve /plain/v1/… without encryption too (benchmarks only).
  bool plaintext_routes = false;
};

class DevBackend {
 public:
  static Task<Result<std::unique_ptr<DevBackend>, Error>> create(DevBackendOptions options);
  ~DevBackend();

  SocketAddress address() const;
  const std::vector<attest::VerificationReport>& reports() const;
  const std::filesystem::path& state_dir() const;

  Task<void> serve();

  // restart_worker stops worker `index` (its server lets requests in flight
  // finish; its store and watch close), then brings a new one up on the same
  // port: admitted, GPU-attested and, with etcd, reading secrets from the
  // cluster. Only while serve() runs.
  Task<Result<void, Error>> restart_worker(std::size_t index);
  std::size_t workers() const;
  bool worker_active(std::size_t index) const;

  struct Parts;

 private:
  explicit DevBackend(std::unique_ptr<Parts> parts);
  std::unique_ptr<Parts> parts_;
};

}  // namespace cipherline::backend
