// Coordinator: the attested root of the backend's mesh (Contrast's role,
// spec: contrast-attestation §1.2–1.3, §3), here on the software TEE.
//
//   auto coordinator = Coordinator::create({.manifest = manifest_bytes, .tee = sim_pki,
//                                           .measurement = measurement_of(binary)}).value();
//   http::Router router;
//   coordinator.add_routes(router);      // POST /privatemode/v1/attest, POST /attest
//   auto cert = coordinator.issue_mesh_certificate(service_key.public_key(), "secret-service");
//
// Contract:
// - It holds the manifest (exact bytes), a root CA and a mesh CA (ECDSA
//   P-256, made at creation) and the software TEE's SEV-SNP PKI.
// - Attestation: for a 32-byte nonce it returns the attestation document
//   (version, SNP evidence as go-sev-guest protobuf with the VCEK, ASK and
//   ARK, manifests, policies, root and mesh CA PEMs). The evidence's
//   REPORT_DATA binds the nonce, the manifest history and both CA PEMs;
//   HOST_DATA is the manifest's coordinator policy hash; the measurement is
//   the one given (the running binary's, for the backend).
// - Admission (step 2 of the chain of trust): a service sends its TEE
//   evidence, made for its own mesh key (REPORT_DATA = SHA-512 of the key's
//   DER SubjectPublicKeyInfo). `admit` verifies it like any SNP report —
//   chain to the TEE's root, signature, the manifest's reference values —
//   and finds its HOST_DATA among the manifest's non-coordinator policies;
//   only then does it issue a mesh certificate, for that policy's SANs
//   (and 127.0.0.1). Every check is recorded in `report`.
//   `POST /attest` takes {"nonce": b64} and answers the document;
//   `POST /privatemode/v1/attest` takes {"Nonce": b64} and answers
//   {"AttestationDoc": b64(document)}, as Privatemode's gateway does.
//   A nonce that is not 32 bytes gets 400.
// - Mesh certificates: issue_mesh_certificate signs a service's key with the
//   mesh CA (for the given DNS name), valid for kMeshCertificateLifetime
//   (a year: services are admitted once, at start, and not renewed while
//   they run, so a backend must restart within that time). The root CA
//   (system:coordinator:root) and the mesh CA
//   (system:coordinator:intermediate) share the Coordinator's key, as in
//   Contrast. In this reference backend every role runs in the Coordinator's
//   trust domain; issuing to services that attest themselves first is the
//   role wiring's job.
// - Loop thread only for the routes; attest() itself is a pure function of
//   its state and the nonce and may run on the thread pool.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "cipherline/attest/sim/snp_issuer.hpp"
#include "cipherline/crypto/certificate.hpp"
#include "cipherline/crypto/private_key.hpp"
#include "cipherline/http/router.hpp"

namespace cipherline::backend {

// A service's evidence for admission.
struct ServiceEvidence {
  attest::snp::AttestationReport report;
  crypto::Certificate vcek;
};

// issue_service_evidence: what a service running on the software TEE
// presents, launched with `measurement` and its policy hash as HOST_DATA.
Result<ServiceEvidence, Error> issue_service_evidence(const attest::sim::DevelopmentSnpPki& tee,
                                                      const std::array<std::byte, 48>& measurement,
                                                      const std::array<std::byte, 32>& policy_hash,
                                                      const crypto::PublicKey& key);

struct CoordinatorConfig {
  std::vector<std::byte> manifest;
  attest::sim::DevelopmentSnpPki tee;
  std::array<std::byte, 48> measurement{};
  std::string version = "cipherline";
};

// How long a mesh certificate is valid (see the contract above).
inline constexpr std::chrono::hours kMeshCertificateLifetime{24 * 365};

class Coordinator {
 public:
  static Result<Coordinator, Error> create(CoordinatorConfig config);

  // attest returns the attestation document JSON for `nonce` (32 bytes).
  Result<std::string, Error> attest(std::span<const std::byte> nonce) const;
  void add_routes(http::Router& router);
  // serve_attest answers one attestation request: {"Nonce"} →
  // {"AttestationDoc"} when `privatemode_form`, else {"nonce"} → document.
  Task<void> serve_attest(http::Request& request, http::ResponseWriter& writer,
                          bool privatemode_form);

  // serve_admit: admission over HTTP, for services in other processes:
  // POST {"Evidence": b64(go-sev-guest Attestation with the VCEK),
  // "PublicKey": b64(DER SubjectPublicKeyInfo)} → {"Certificate": PEM,
  // "MeshCA": PEM}, or 403 naming the failed check, 400 for a malformed
  // body. add_routes serves it at POST /admit.
  Task<void> serve_admit(http::Request& request, http::ResponseWriter& writer);

  Result<crypto::Certificate, Error> admit(const ServiceEvidence& evidence,
                                           const crypto::PublicKey& key,
                                           attest::VerificationReport& report);

  Result<crypto::Certificate, Error> issue_mesh_certificate(const crypto::PublicKey& key,
                                                            const std::string& dns_name);
  Result<crypto::Certificate, Error> issue_mesh_certificate(
      const crypto::PublicKey& key, const std::vector<std::string>& dns_names,
      const std::vector<std::string>& ips);
  const crypto::Certificate& mesh_ca() const noexcept { return mesh_ca_; }
  const std::string& mesh_ca_pem() const noexcept { return mesh_ca_pem_; }

 private:
  Coordinator(CoordinatorConfig config, crypto::PrivateKey ca_key, crypto::Certificate root_ca,
              crypto::Certificate mesh_ca, std::array<std::byte, 32> policy_hash);

  CoordinatorConfig config_;
  crypto::PrivateKey ca_key_;
  crypto::Certificate root_ca_;
  crypto::Certificate mesh_ca_;
  std::string root_ca_pem_;
  std::string mesh_ca_pem_;
  std::array<std::byte, 32> policy_hash_;
  std::uint64_t next_serial_ = 100;
  std::unique_ptr<attest::snp::ChainCache> chain_cache_ =
      std::make_unique<attest::snp::ChainCache>();
};

}  // namespace cipherline::backend
