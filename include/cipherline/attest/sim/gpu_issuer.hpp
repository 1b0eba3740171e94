// The software TEE's GPU side: a development, NVIDIA-shaped device identity
// chain (root, intermediate and leaf, all ECDSA P-384) and attestation
// reports in the real SPDM 1.1 GET_MEASUREMENTS format (request with the
// verifier's nonce, measurement blocks, NVIDIA's opaque fields) signed by
// the leaf. The production verifier runs on this evidence unchanged; only
// the trusted root differs, and it is trusted only where a development
// trust directory is configured.
//
//   auto pki = sim::DevelopmentGpuPki::generate(now).value();
//   auto report = sim::issue_gpu_report(pki, sim::GpuState{}, nonce).value();
//   nvgpu::verify_report(report, pki.certificate_chain(), pki.trusted_root(), nonce, {}, now);
//                                                                          // passes
//   nvgpu::verify_report(report, pki.certificate_chain(), nvgpu::nvidia_root(), nonce, {}, now);
//                                                                          // fails
//
// Contract:
// - Common names follow NVIDIA's (NVIDIA Device Identity CA, NVIDIA GH100
//   Identity, GH100 A01 GSP FMC LF) with O "cipherline development TEE (NOT
//   NVIDIA)" so no one mistakes the chain for NVIDIA's. Validity: ten years
//   from `now` minus a day.
// - Reports carry one SHA-384 measurement block per GpuState measurement
//   (indices from 1), the responder's nonce from the CSPRNG, and the driver
//   version, VBIOS version, project, project SKU and chip SKU as opaque
//   fields.
// - The PEM bundle carries the private keys: persist it only where the
//   development TEE's secrets may live (its state directory, mode 0600).
// - No I/O; generation and signing draw from OpenSSL's CSPRNG.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "cipherline/attest/nvgpu/verify.hpp"
#include "cipherline/crypto/private_key.hpp"
#include "cipherline/crypto/sha512.hpp"

namespace cipherline::attest::sim {

struct DevelopmentGpuPki {
  crypto::PrivateKey root_key, intermediate_key, leaf_key;
  crypto::Certificate root, intermediate, leaf;

  static Result<DevelopmentGpuPki, Error> generate(std::chrono::system_clock::time_point now);
  // The root a verifier trusts when development roots are configured.
  nvgpu::TrustedGpuRoot trusted_root() const;
  // The chain as a GPU hands it out: leaf, intermediate, root.
  std::vector<crypto::Certificate> certificate_chain() const;

  // A PEM bundle: the three certificates and the three keys (root,
  // intermediate, leaf), in one text.
  crypto::SecretBytes to_pem_bundle() const;
  static Result<DevelopmentGpuPki, Error> from_pem_bundle(std::span<const std::byte> pem);
};

// development_gpu_measurements: 64 distinct development values, block i
// being SHA-384("cipherline development GPU measurement <i>").
std::vector<crypto::Sha384Digest> development_gpu_measurements();

// What the development GPU reports about itself.
struct GpuState {
  std::string driver_version = "550.90.07";
  std::string vbios_version = "96.00.9F.00.01";
  std::string project = "1010";
  std::string project_sku = "0200";
  std::string chip_sku = "882";
  std::vector<crypto::Sha384Digest> measurements = development_gpu_measurements();  // 1–254
};

Result<nvgpu::AttestationReport, Error> issue_gpu_report(
    const DevelopmentGpuPki& pki, const GpuState& state,
    std::span<const std::byte, nvgpu::kNonceSize> nonce);

}  // namespace cipherline::attest::sim
