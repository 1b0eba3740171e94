// Verifying the Contrast Coordinator the way the Privatemode client does
// (spec: contrast-attestation §1.1–1.5): its attestation document, bound to
// the client's nonce, carrying exactly the manifest the client expects,
// from a TEE that meets that manifest's reference values and runs the
// coordinator policy.
//
//   CoordinatorTrust trust{.expected_manifest = manifest_bytes, .now = system_clock::now()};
//   CoordinatorVerification v = verify_coordinator(document_json, nonce, trust);
//   if (!v.report.passed()) fail(v.report.first_failure()->name);
//   use(v.mesh_ca_pem);   // only after the report passed
//
// Checks, in order: "nonce" (32 bytes), "attestation document" (parses),
// "manifest count" (exactly one: a Privatemode deployment cannot be
// updated), "manifest" (byte-equal to the expected one; SHA-256 shown),
// "manifest parses", "evidence type" (SEV-SNP or TDX), "evidence decodes",
// then per type:
// - SEV-SNP: "VCEK present" (no KDS fetch here: the Coordinator must
//   include it), "SNP reference values", "trusted root" (when the evidence
//   carries an ARK: AMD's for an entry's product or the configured
//   development root, else "untrusted root"), and for the SNP reference
//   entry that matches best every check of snp::verify_report and
//   snp::check_reference_values prefixed "snp[i]: ";
// - TDX: "TDX reference values", "TDX collateral" (the Coordinator's
//   document carries none, so Intel's TCB info, QE identity and TCB signing
//   certificate must be given in `tdx_collateral`; without them TDX evidence
//   is refused), and for the best entry every check of tdx::verify_quote,
//   tdx::check_reference_values, "report data", tdx::check_collateral
//   (signatures required; the entry's MinTCBEvaluationDataNumber and
//   AllowedPIIDs; CRLs required unless tdx_allow_missing_crls) and the
//   entry's PCK switches ("SGX type" for MemoryIntegrity, "SMT" for
//   SMTDisabled, "static platform" for StaticPlatform), prefixed "tdx[i]: ";
//   then "MRCONFIGID[32:48]" (zero: Contrast writes hash ‖ 16 zero bytes);
// with REPORT_DATA expected from the nonce, the manifest history and the CA
// PEMs (and the capabilities digest when given); finally "coordinator
// policy": HOST_DATA (SNP) or MRCONFIGID[0:32] (TDX) is the policy hash of
// a manifest entry with the coordinator role.
//
// mesh_ca_pem and root_ca_pem are filled only when the report passed.
// `collateral` lists, pass or fail, every certificate, CRL and Intel
// document the checks used, as bytes (for a capture an auditor re-checks):
// SEV-SNP "vcek.der", "ask.der", "ark.der" (the evidence's, or the trusted
// chain's when it carries none), "amd_crl.der" when present; TDX
// "pck_chain.der" (each certificate's DER, leaf first, concatenated) and the
// documents of `tdx_collateral` as tdx::collateral_files names them.
//
// Reference values come from the expected manifest, which the document's
// manifest must equal byte for byte. Development chains (the software TEE)
// are trusted only when given in `development_chain`; otherwise the
// built-in AMD chain of each entry's product is used.
//
// Pure function; evidence verification costs a few milliseconds (RSA-4096
// chain), so callers on an event loop offload it.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/attest/evidence_file.hpp"
#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/attest/tdx/collateral.hpp"
#include "cipherline/attest/tdx/verify.hpp"
#include "cipherline/attest/verification_report.hpp"

namespace cipherline::attest::contrast {

struct CoordinatorTrust {
  std::vector<std::byte> expected_manifest;
  std::chrono::system_clock::time_point now{};
  std::optional<snp::TrustedChain> development_chain{};
  bool require_single_manifest = true;
  // Remembers verified VCEK chains across attestations (may be shared).
  snp::ChainCache* chain_cache = nullptr;
  // AMD's CRL from the evidence's extras: fail closed when it is there but
  // unusable (default), or open; whether a missing one fails.
  snp::RevocationPolicy amd_revocation{};
  // For the versioned `/v1/attest` API: the raw body of the Coordinator's
  // `/capabilities` response, the fifth REPORT_DATA input.
  std::optional<std::vector<std::byte>> capabilities_body{};
  // Intel PCS collateral for TDX evidence, as bytes (a cache the caller
  // keeps, or PCS responses it fetched); required for TDX evidence.
  std::optional<tdx::CollateralDocuments> tdx_collateral{};
  // TCB statuses accepted for TDX (after convergence); Contrast: UpToDate.
  std::vector<tdx::TcbStatus> tdx_accepted_statuses{tdx::TcbStatus::up_to_date};
  // Explicit fail-open: accept TDX evidence without the PCK and root CRLs.
  bool tdx_allow_missing_crls = false;
  // A development TDX root (a software TEE's), trusted instead of Intel's.
  std::optional<tdx::TrustedRoot> tdx_development_root{};
};

struct CoordinatorVerification {
  VerificationReport report{"Contrast Coordinator"};
  std::vector<EvidenceFile> collateral;
  // What the client may use: empty unless the report passed.
  std::string mesh_ca_pem;
  std::string root_ca_pem;
};

CoordinatorVerification verify_coordinator(std::string_view document_json,
                                           std::span<const std::byte> nonce,
                                           const CoordinatorTrust& trust);

}  // namespace cipherline::attest::contrast
