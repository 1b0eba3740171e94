// One role of the backend per process — `cipherline backend --dev --role …`
// — for multi-process and multi-machine setups on the software TEE.
//
//   run_role({.role = "worker", .state = dir, .listen = addr,
//             .coordinator = coordinator_url, .etcd_endpoint = "http://…:2379"})
//
// Roles and what they serve (every internal hop mTLS with mesh certificates):
//   coordinator     HTTPS (development CA): POST /attest, /privatemode/v1/attest,
//                   /admit. It writes the state directory (manifest, roots) if
//                   missing; start it first.
//   secret-service  mTLS: POST /privatemode/v1/secret; secrets into etcd.
//   worker          mTLS: the inference routes (inactive until the agent
//                   activates it), POST /internal/gpu-evidence (its software
//                   GPU's SPDM report for a nonce), POST /internal/activate
//                   (accepted only from the attestation agent: its mesh
//                   certificate and signature over the evidence nonce and the
//                   statuses), GET /internal/status.
//   agent           no server: attests every worker given, activates it if its
//                   GPUs pass, and attests it again whenever it comes back
//                   inactive (a restarted worker).
//   gateway         HTTPS (development CA): the client API; key-setup calls
//                   relayed to the Coordinator and the secret service, inference
//                   to the workers, all over mTLS.
//   model           plain HTTP on loopback: the synthetic model.
// Every role but the coordinator and the model first proves itself to the
// Coordinator (POST /admit with TEE evidence for its mesh key) and gets its
// mesh certificate; a refusal ends the role with the Coordinator's reason.
// Roles in separate processes share secrets through etcd only.
//
// Contract: run_role binds its port, reports "<role> on <url>" through
// `announce`, and serves until the awaiting task is stopped; errors name the
// step that failed. Loop thread only.
#pragma once

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "cipherline/attest/verification_report.hpp"
#include "cipherline/backend/synthetic_model.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/runtime/socket_address.hpp"

namespace cipherline::backend {

struct RoleOptions {
  std::string role;
  std::filesystem::path state;
  SocketAddress listen = SocketAddress::parse("127.0.0.1:0");
  std::string coordinator;     // https://host:port (all but coordinator, model)
  std::string secret_service;  // https://host:port (gateway)
  // gateway: model=https://host:port per worker; agent: https://host:port.
  std::vector<std::string> workers;
  std::string etcd_endpoint;  // http://host:port (secret-service, worker)
  std::vector<std::string> api_keys{"dev"};
  std::string model_name{SyntheticModel::kName};
  SyntheticModelOptions model{};
  std::string upstream;  // worker: the model server (http://host:port)
  std::function<void(std::string_view)> announce{};
  std::function<void(const attest::VerificationReport&)> report{};
};

inline constexpr std::string_view kRoleNames[] = {
    "coordinator", "secret-service", "agent", "worker", "gateway", "model"};

Task<Result<void, Error>> run_role(RoleOptions options);

}  // namespace cipherline::backend
