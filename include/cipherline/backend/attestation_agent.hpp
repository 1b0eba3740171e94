// AttestationAgent: attests the GPUs of each worker and activates the worker
// only if they pass (Privatemode's attestation-agent; spec §7), here for
// the software TEE's GPUs.
//
//   AttestationAgent agent({.trusted_root = gpu_pki.trusted_root(), .reference = ref,
//                           .status_dir = state / "ocsp"});
//   auto report = agent.attest(worker, {SimulatedGpu{gpu_pki, {}}});
//   // report.passed() → the worker is active and serves; otherwise it never is.
//
// Contract:
// - Per GPU: a fresh nonce (SHA-256 of 32 random bytes), the GPU's SPDM
//   report for it, then attest/nvgpu's verification: the certificate chain
//   to the trusted root, the signature, the nonce, the driver and VBIOS
//   allow-lists and the reference measurements. Every check of every GPU is
//   in the returned report, under "gpu<i>.".
// - Only if all pass: the OCSP status file (`<status_dir>/<worker>.json`, a
//   JSON array of {"GPU":{"Value":"GOOD"},"VBIOS":…,"Driver":…}, the
//   format of Privatemode's ocsp-status.json) is written, and the worker is
//   activated with those statuses. No OCSP responder is ever asked (the
//   software TEE's chain has none): the statuses are the configured ones
//   (GOOD unless a SimulatedGpu or GpuEvidence says otherwise), and the
//   agent says so plainly — the report's claim "OCSP" starts "not
//   checked", and every status-file entry has "OCSPChecked": false and a
//   "Note" saying why.
// - A worker whose GPUs fail stays inactive: every inference request it
//   gets is refused with 503.
// - Secrets reach workers through the secret store they share with the
//   secret service (in one process, the same store; across machines, etcd).
// - Loop thread only (the report is computed on the calling thread).
#pragma once

#include <filesystem>
#include <vector>

#include "cipherline/attest/sim/gpu_issuer.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/backend/worker.hpp"

namespace cipherline::backend {

// A GPU of the software TEE: its identity chain, what it reports, and the
// OCSP statuses a responder would give its certificates.
struct SimulatedGpu {
  attest::sim::DevelopmentGpuPki pki;
  attest::sim::GpuState state{};
  GpuOcspStatus ocsp{};
};

struct AttestationAgentOptions {
  attest::nvgpu::TrustedGpuRoot trusted_root;
  attest::nvgpu::ReferenceValues reference;
  std::filesystem::path status_dir;
};

// One GPU's evidence as a worker hands it to the agent.
struct GpuEvidence {
  attest::nvgpu::AttestationReport report;
  std::vector<crypto::Certificate> chain;  // leaf first
  GpuOcspStatus ocsp{};
};

class AttestationAgent {
 public:
  explicit AttestationAgent(AttestationAgentOptions options) : options_(std::move(options)) {}

  // attest: the in-process form — evidence from the worker's simulated
  // GPUs, verified, and the worker activated if it passed.
  attest::VerificationReport attest(Worker& worker, const std::vector<SimulatedGpu>& gpus);

  // verify: the evidence a worker sent for `nonce` (a fresh_nonce()); if it
  // passes, the status file is written and `statuses` is what to activate
  // the worker with (for a worker in another process).
  attest::VerificationReport verify(const std::string& worker, const std::vector<GpuEvidence>& gpus,
                                    std::span<const std::byte, 32> nonce,
                                    std::vector<GpuOcspStatus>& statuses);
  static std::array<std::byte, 32> fresh_nonce();

 private:
  AttestationAgentOptions options_;
};

// The OCSP status file's format (Privatemode's ocsp-status.json), both ways.
std::string ocsp_status_json(const std::vector<GpuOcspStatus>& statuses);
Result<std::vector<GpuOcspStatus>, Error> parse_ocsp_status_json(std::string_view json);

// development_gpu_reference: the reference values the development backend
// writes for its software GPUs (the default GpuState's driver, VBIOS and
// measurements).
attest::nvgpu::ReferenceValues development_gpu_reference();

}  // namespace cipherline::backend
