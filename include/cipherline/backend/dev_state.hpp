// DevState: the development backend's state directory — the software TEE's
// roots, the manifest and the development CA — made on first start and
// reused afterwards.
//
//   auto state = DevState::open("/var/lib/cipherline", measurement).value();
//   state.manifest;                        // the exact bytes of DIR/manifest.json
//   state.policy_hash("secret-service");   // that role's workload identity
//
// Files (DIR is made with mode 0700):
//   manifest.json                 the Contrast manifest clients pin: one policy per
//                                 role, SNP reference values for the software TEE
//   sev-snp-dev-cert-chain.pem    the development ASK then ARK (what --dev-trust reads)
//   dev-ca.pem                    the development CA that signs the gateway's TLS certificate
//   private/ (0700)               keys, 0600: the TEE PKIs, the CA key, the gateway's
//                                 key and certificate, mesh identities, stored secrets
//
// Contract:
// - open creates what is missing and loads what exists; a file that does
//   not parse is an error naming it (backend::errc::bad_configuration).
// - The manifest's SNP measurement is the running binary's. If DIR holds a
//   manifest written for another binary, open fails and says so: clients
//   pinning that manifest would reject this backend.
// - Development trust only: nothing here chains to AMD, NVIDIA or a public CA.
// - Not thread-safe; used at startup.
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <vector>

#include "cipherline/attest/sim/gpu_issuer.hpp"
#include "cipherline/attest/sim/snp_issuer.hpp"
#include "cipherline/crypto/certificate.hpp"
#include "cipherline/crypto/private_key.hpp"

namespace cipherline::backend {

// The roles of the backend, each with a workload policy in the manifest.
inline constexpr std::string_view kRoles[] = {"coordinator", "secret-service", "attestation-agent",
                                              "worker", "gateway"};

struct DevState {
  std::filesystem::path dir;
  std::vector<std::byte> manifest;
  std::array<std::byte, 48> measurement{};
  attest::sim::DevelopmentSnpPki snp;
  attest::sim::DevelopmentGpuPki gpu;
  crypto::PrivateKey ca_key;
  crypto::Certificate ca;
  std::filesystem::path gateway_certificate_file, gateway_key_file;

  static Result<DevState, Error> open(const std::filesystem::path& dir,
                                      const std::array<std::byte, 48>& measurement);

  static std::array<std::byte, 32> policy_hash(std::string_view role);
  std::filesystem::path private_dir() const { return dir / "private"; }

  // write_identity writes a certificate chain (PEM, leaf first) and key to
  // private/<name>.pem and private/<name>-key.pem (0600), for TLS contexts.
  Result<std::pair<std::filesystem::path, std::filesystem::path>, Error> write_identity(
      const std::string& name, const std::vector<crypto::Certificate>& chain,
      const crypto::PrivateKey& key) const;
};

// development_manifest: the manifest the development backend writes.
std::string development_manifest(const std::array<std::byte, 48>& measurement,
                                 attest::snp::Product product);

// running_binary_measurement: the development measurement of /proc/self/exe.
Result<std::array<std::byte, 48>, Error> running_binary_measurement();

// write_private_file / write_public_file: whole-file writes through a
// temporary and a rename, mode 0600 / 0644.
Result<void, Error> write_private_file(const std::filesystem::path& path,
                                       std::span<const std::byte> bytes);
Result<void, Error> write_public_file(const std::filesystem::path& path, std::string_view text);
Result<std::string, Error> read_file(const std::filesystem::path& path);

}  // namespace cipherline::backend
