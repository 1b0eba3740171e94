// Verifying an NVIDIA GPU attestation report (spec: contrast-attestation
// §7): the GPU's device identity chain up to the NVIDIA Device Identity CA,
// the SPDM signature by the chain's leaf, freshness through the verifier's
// nonce, and, when the caller has them, driver and VBIOS allow-lists and
// reference values for the measurement blocks.
//
//   auto report = nvgpu::parse_report(report_bytes).value();
//   auto chain = crypto::Certificate::all_from_pem(chain_pem).value();  // leaf first, as NVML
//   nvgpu::ReferenceValues ref{.driver_versions = {"550.90.07"},
//                              .vbios_versions = {"96.00.9F.00.01"},
//                              .measurements = nvgpu::parse_reference_measurements(json).value()};
//   VerificationReport r = nvgpu::verify_report(report, chain, nvgpu::nvidia_root(), nonce, ref,
//                                               std::chrono::system_clock::now());
//   if (!r.passed()) ... r.first_failure()->name
//
// Checks, in order (each a named entry of the report):
//   root               the trusted root is the built-in NVIDIA Device Identity
//                      CA (SHA-256 fingerprint), unless it is a development
//                      root (TrustedGpuRoot::development)
//   certificate chain  leaf ← the certificates after it ← the trusted root,
//                      at `at`; a self-signed last certificate (the GPU's
//                      copy of its root) is dropped: only the TrustedGpuRoot
//                      is ever trusted
//   leaf key           ECDSA P-384
//   report signature   ECDSA P-384 / SHA-384 by the leaf key over the request
//                      ‖ the response without its signature
//   nonce              the request's nonce is the verifier's (32 bytes); an
//                      empty expected nonce fails it ("not checked: no
//                      nonce given, so freshness is not established")
//   driver version     in ReferenceValues::driver_versions (when not empty)
//   VBIOS version      in ReferenceValues::vbios_versions (when not empty;
//                      compared without regard to case)
//   measurement N      for each reference index N: the report has block N and
//                      its value is one of the allowed values
// Claims: SPDM version, driver version, VBIOS version, project, project SKU,
// chip SKU, nonce, every block as "measurement N" (hex), leaf subject.
//
// Not checked here: revocation (NVIDIA answers over OCSP, which needs I/O;
// the caller that has network access checks it), and NVIDIA's signed
// reference integrity manifests: their SWID XML with XMLDSig (C14N 1.1) is
// not parsed yet, so measurement reference values come as a JSON list that
// the caller took from RIMs it trusts.
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/attest/nvgpu/spdm.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/crypto/certificate.hpp"

namespace cipherline::attest::nvgpu {

// The root a GPU's device identity chain must chain to.
struct TrustedGpuRoot {
  crypto::Certificate certificate;
  // A development root (the software TEE's) is trusted as given; the
  // built-in NVIDIA root is also pinned by fingerprint.
  bool development = false;
};

// nvidia_root returns the built-in NVIDIA Device Identity CA (parsed once).
const TrustedGpuRoot& nvidia_root();
// nvidia_root_fingerprint is the SHA-256 of its DER, as hex.
std::string_view nvidia_root_fingerprint() noexcept;

// The values one measurement block may have.
struct ReferenceMeasurement {
  std::uint8_t index = 0;  // the SPDM block index, 1–254
  std::vector<std::vector<std::byte>> allowed;
};

// parse_reference_measurements reads a JSON list of
//   {"index": 2, "values": ["8048df…", "…"]}
// with SPDM block indices (1-based: NVIDIA's RIMs count from 0, so a RIM's
// index i is block i + 1), each index once, and at least one hex value
// (either case) per index. Errors (attest::errc::malformed_evidence) name
// the entry: "GPU reference measurements: [3].values[0]: not hex …".
Result<std::vector<ReferenceMeasurement>, Error> parse_reference_measurements(
    std::string_view json);

struct ReferenceValues {
  std::vector<std::string> driver_versions;        // empty: any
  std::vector<std::string> vbios_versions;         // empty: any
  std::vector<ReferenceMeasurement> measurements;  // empty: none checked
};

// verify_report checks `report` against `certificates` (the GPU's
// attestation certificate chain, leaf first), `root`, the nonce the
// verifier chose and the reference values, at time `at`.
VerificationReport verify_report(const AttestationReport& report,
                                 std::span<const crypto::Certificate> certificates,
                                 const TrustedGpuRoot& root,
                                 std::span<const std::byte> expected_nonce,
                                 const ReferenceValues& reference,
                                 std::chrono::system_clock::time_point at);

}  // namespace cipherline::attest::nvgpu
