#include "cipherline/attest/contrast/coordinator.hpp"

#include <algorithm>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/manifest.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::attest::contrast {
namespace {

std::string sha256_hex(std::span<const std::byte> bytes) {
  return crypto::to_hex(crypto::sha256(bytes));
}

std::size_t failures(const VerificationReport& r) {
  return static_cast<std::size_t>(std::count_if(r.checks().begin(), r.checks().end(),
                                                [](const Check& c) { return !c.passed; }));
}

}  // namespace

CoordinatorVerification verify_coordinator(std::string_view document_json,
                                           std::span<const std::byte> nonce,
                                           const CoordinatorTrust& trust) {
  CoordinatorVerification out;
  VerificationReport& r = out.report;
  if (!r.check_equal("nonce", "32 bytes", std::to_string(nonce.size()) + " bytes")) return out;

  auto doc = parse_attestation_document(document_json);
  if (!r.check("attestation document", "valid JSON with every field",
               doc ? "valid" : doc.error().message(), doc.has_value())) {
    return out;
  }
  r.claim("coordinator version", doc->version);
  r.claim("manifests", std::to_string(doc->manifests.size()));
  r.claim("mesh CA SHA-256", sha256_hex(std::as_bytes(std::span(doc->mesh_ca_pem))));
  r.claim("root CA SHA-256", sha256_hex(std::as_bytes(std::span(doc->root_ca_pem))));
  if (trust.require_single_manifest) {
    r.check_equal("manifest count", "1", std::to_string(doc->manifests.size()));
  }
  const auto& latest = doc->manifests.back();
  r.check_equal("manifest", "SHA-256 " + sha256_hex(trust.expected_manifest),
                "SHA-256 " + sha256_hex(latest));

  const std::string_view expected_text(
      reinterpret_cast<const char*>(trust.expected_manifest.data()),
      trust.expected_manifest.size());
  auto manifest = parse_manifest(expected_text);
  if (!r.check("manifest parses", "a valid manifest",
               manifest ? "valid" : manifest.error().message(), manifest.has_value())) {
    return out;
  }
  if (!r.check_equal(
          "evidence type", "1.3.9901.2.1 (SEV-SNP)",
          doc->attestation_type_text() + (doc->evidence_type() == EvidenceType::snp   ? " (SEV-SNP)"
                                          : doc->evidence_type() == EvidenceType::tdx ? " (TDX)"
                                                                                      : ""))) {
    return out;
  }
  auto evidence = decode_snp_attestation(doc->raw_attestation_doc);
  if (!r.check("evidence decodes", "a sevsnp.Attestation",
               evidence ? "decoded" : evidence.error().message(), evidence.has_value())) {
    return out;
  }
  auto vcek =
      evidence->vcek_der.empty()
          ? Result<crypto::Certificate, Error>(Error(attest::errc::malformed_evidence, "absent"))
          : crypto::Certificate::from_der(evidence->vcek_der);
  if (!r.check("VCEK present", "a VCEK certificate in the evidence",
               vcek ? "present" : vcek.error().message(), vcek.has_value())) {
    return out;
  }
  if (!r.check("SNP reference values", "at least one entry",
               std::to_string(manifest->snp.size()) + " entries", !manifest->snp.empty())) {
    return out;
  }

  // An ARK carried in the evidence must be one this client trusts: AMD's
  // for an entry's product, or the configured development root.
  // Development roots verify only evidence that names them (or names none).
  bool use_development = trust.development_chain.has_value();
  if (!evidence->ark_der.empty()) {
    auto ark = crypto::Certificate::from_der(evidence->ark_der);
    const std::string fingerprint = ark ? crypto::to_hex(ark->fingerprint_sha256()) : "unreadable";
    use_development =
        trust.development_chain &&
        fingerprint == crypto::to_hex(trust.development_chain->ark.fingerprint_sha256());
    bool trusted = use_development;
    for (const auto& entry : manifest->snp) {
      trusted = trusted || fingerprint == snp::amd_ark_fingerprint(entry.values.product);
    }
    if (!r.check("trusted root", "AMD's ARK or a configured development root",
                 trusted ? fingerprint : "untrusted root (ARK SHA-256 " + fingerprint + ")",
                 trusted)) {
      return out;
    }
  }

  const auto report_data =
      coordinator_report_data(nonce, doc->manifests, doc->root_ca_pem, doc->mesh_ca_pem);
  // Evidence passes if any reference entry accepts it; report the entry
  // that passes, or else the one with the fewest failures.
  std::optional<VerificationReport> best;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < manifest->snp.size(); ++i) {
    snp::ReferenceValues ref = manifest->snp[i].values;
    ref.report_data = report_data;
    const snp::TrustedChain& chain =
        use_development ? *trust.development_chain : snp::amd_chain(ref.product);
    VerificationReport candidate =
        snp::verify_report(evidence->report, *vcek, chain, trust.now, trust.chain_cache);
    snp::check_reference_values(evidence->report, ref, candidate);
    if (!best || failures(candidate) < failures(*best)) {
      best = std::move(candidate);
      best_index = i;
    }
    if (best->passed()) break;
  }
  r.merge(*best, "snp[" + std::to_string(best_index) + "]: ");

  const auto coordinators = manifest->coordinator_policy_hashes();
  const auto& host_data = evidence->report.host_data;
  const bool coordinator =
      std::find(coordinators.begin(), coordinators.end(), host_data) != coordinators.end();
  std::string expected;
  for (const auto& h : coordinators)
    expected += (expected.empty() ? "" : " or ") + crypto::to_hex(h);
  r.check("coordinator policy", expected, crypto::to_hex(host_data), coordinator);

  out.mesh_ca_pem = doc->mesh_ca_pem;
  out.root_ca_pem = doc->root_ca_pem;
  return out;
}

}  // namespace cipherline::attest::contrast
