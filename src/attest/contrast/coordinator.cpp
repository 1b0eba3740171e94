#include "cipherline/attest/contrast/coordinator.hpp"

#include <algorithm>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/manifest.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/contrast/tdx_evidence.hpp"
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

// Picks, among reference entries, the one that accepts the evidence, or
// else the one with the fewest failures, and merges its checks as "<kind>[i]: …".
// Returns the entry's index.
template <class Entries, class Verify>
std::size_t merge_best(const Entries& entries, const char* kind, Verify verify,
                       VerificationReport& r) {
  std::optional<VerificationReport> best;
  std::size_t best_index = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    VerificationReport candidate = verify(entries[i]);
    if (!best || failures(candidate) < failures(*best)) {
      best = std::move(candidate);
      best_index = i;
    }
    if (best->passed()) break;
  }
  r.merge(*best, std::string(kind) + "[" + std::to_string(best_index) + "]: ");
  return best_index;
}

// The SEV-SNP path; returns HOST_DATA, or nullopt when a check that later
// ones depend on failed.
std::optional<std::array<std::byte, 32>> verify_snp_evidence(
    const AttestationDocument& doc, const Manifest& manifest,
    const std::array<std::byte, 64>& report_data, const CoordinatorTrust& trust,
    VerificationReport& r, std::vector<EvidenceFile>& collateral) {
  auto evidence = decode_snp_attestation(doc.raw_attestation_doc);
  if (!r.check("evidence decodes", "a sevsnp.Attestation",
               evidence ? "decoded" : evidence.error().message(), evidence.has_value())) {
    return std::nullopt;
  }
  if (!evidence->vcek_der.empty()) collateral.push_back({"vcek.der", evidence->vcek_der});
  if (!evidence->vlek_der.empty()) collateral.push_back({"vlek.der", evidence->vlek_der});
  auto vcek =
      evidence->vcek_der.empty()
          ? Result<crypto::Certificate, Error>(Error(attest::errc::malformed_evidence, "absent"))
          : crypto::Certificate::from_der(evidence->vcek_der);
  if (!r.check("VCEK present", "a VCEK certificate in the evidence",
               vcek ? "present" : vcek.error().message(), vcek.has_value())) {
    return std::nullopt;
  }
  if (!r.check("SNP reference values", "at least one entry",
               std::to_string(manifest.snp.size()) + " entries", !manifest.snp.empty())) {
    return std::nullopt;
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
    for (const auto& entry : manifest.snp) {
      trusted = trusted || fingerprint == snp::amd_ark_fingerprint(entry.values.product);
    }
    if (!r.check("trusted root", "AMD's ARK or a configured development root",
                 trusted ? fingerprint : "untrusted root (ARK SHA-256 " + fingerprint + ")",
                 trusted)) {
      return std::nullopt;
    }
  }
  std::vector<const snp::TrustedChain*> chains;  // each entry's, in order
  const std::size_t best = merge_best(
      manifest.snp, "snp",
      [&](const SnpReferenceEntry& entry) {
        snp::ReferenceValues ref = entry.values;
        ref.report_data = report_data;
        const snp::TrustedChain& chain = use_development ? *trust.development_chain
                                         : evidence->report.signing_key == snp::SigningKey::vlek
                                             ? snp::amd_vlek_chain(ref.product)
                                             : snp::amd_chain(ref.product);
        chains.push_back(&chain);
        VerificationReport candidate =
            snp::verify_report(evidence->report, *vcek, chain, trust.now, trust.chain_cache,
                               {.crl = evidence->crl_der, .policy = trust.amd_revocation});
        snp::check_reference_values(evidence->report, ref, candidate);
        return candidate;
      },
      r);
  // The certificates the best entry's checks used: the evidence's, else the
  // trusted chain's.
  const auto& chain = *chains[best];
  collateral.push_back(
      {"ask.der", evidence->ask_der.empty() ? chain.ask.der() : evidence->ask_der});
  collateral.push_back(
      {"ark.der", evidence->ark_der.empty() ? chain.ark.der() : evidence->ark_der});
  if (!evidence->crl_der.empty()) collateral.push_back({"amd_crl.der", evidence->crl_der});
  return evidence->report.host_data;
}

// The entry's switches on the PCK certificate (spec §1.6 step 4).
void check_pck_switches(const tdx::Quote& quote, const TdxReferenceEntry& entry,
                        VerificationReport& r) {
  if (!entry.memory_integrity && !entry.smt_disabled && !entry.static_platform) return;
  auto chain = tdx::parse_pck_chain(quote);
  auto pck = chain ? tdx::parse_pck_extensions(chain->leaf)
                   : Result<tdx::PckExtensions, Error>(chain.error());
  const auto flag = [](const std::optional<bool>& v) {
    return v ? (*v ? "true" : "false") : "absent";
  };
  if (!pck) {
    r.check("PCK switches", "the PCK certificate's SGX extension", pck.error().message(), false);
    return;
  }
  if (entry.memory_integrity) {
    r.check_equal("SGX type",
                  std::string(tdx::sgx_type_name(tdx::SgxType::scalable_with_integrity)),
                  std::string(tdx::sgx_type_name(pck->sgx_type)));
  }
  if (entry.smt_disabled) {
    r.check_equal("SMT", "SMTEnabled false", std::string("SMTEnabled ") + flag(pck->smt_enabled));
  }
  if (entry.static_platform) {
    r.check_equal("static platform", "dynamicPlatform false",
                  std::string("dynamicPlatform ") + flag(pck->dynamic_platform));
  }
}

// The TDX path; returns MRCONFIGID[0:32], or nullopt when a check that
// later ones depend on failed.
std::optional<std::array<std::byte, 32>> verify_tdx_evidence(
    const AttestationDocument& doc, const Manifest& manifest,
    const std::array<std::byte, 64>& report_data, const CoordinatorTrust& trust,
    VerificationReport& r, std::vector<EvidenceFile>& used) {
  auto quote = decode_tdx_quote_v4(doc.raw_attestation_doc);
  if (!r.check("evidence decodes", "a tdx.QuoteV4", quote ? "decoded" : quote.error().message(),
               quote.has_value())) {
    return std::nullopt;
  }
  if (auto pck = tdx::parse_pck_chain(*quote)) {
    std::vector<std::byte> der = pck->leaf.der();
    for (const auto& c : pck->intermediates) {
      const auto more = c.der();
      der.insert(der.end(), more.begin(), more.end());
    }
    used.push_back({"pck_chain.der", std::move(der)});
  }
  if (trust.tdx_collateral) {
    for (auto& file : tdx::collateral_files(*trust.tdx_collateral)) {
      used.push_back(std::move(file));
    }
  }
  if (!r.check("TDX reference values", "at least one entry",
               std::to_string(manifest.tdx.size()) + " entries", !manifest.tdx.empty())) {
    return std::nullopt;
  }
  // Without Intel's collateral nothing says the quoting enclave is Intel's
  // or the platform up to date: refuse rather than judge half the evidence.
  constexpr const char* kCollateral = "TCB info, QE identity and TCB signing certificate";
  if (!trust.tdx_collateral) {
    r.check("TDX collateral", kCollateral,
            "none given: TDX evidence is refused without Intel's collateral", false);
    return std::nullopt;
  }
  auto collateral = tdx::parse_collateral(*trust.tdx_collateral);
  if (!r.check("TDX collateral", kCollateral, collateral ? "parsed" : collateral.error().message(),
               collateral.has_value())) {
    return std::nullopt;
  }
  const tdx::TrustedRoot& root =
      trust.tdx_development_root ? *trust.tdx_development_root : tdx::intel_root();
  merge_best(
      manifest.tdx, "tdx",
      [&](const TdxReferenceEntry& entry) {
        VerificationReport candidate = tdx::verify_quote(*quote, root, trust.now);
        tdx::check_reference_values(*quote, entry.values, candidate);
        candidate.check_equal("report data", crypto::to_hex(report_data),
                              crypto::to_hex(quote->body.report_data));
        tdx::CollateralPolicy policy;
        policy.accepted_statuses = trust.tdx_accepted_statuses;
        policy.min_tcb_evaluation_data_number = entry.min_tcb_evaluation_data_number;
        policy.allowed_piids = entry.allowed_piids;
        policy.allow_missing_crls = trust.tdx_allow_missing_crls;
        tdx::check_collateral(*quote, *collateral, root, policy, trust.now, candidate);
        check_pck_switches(*quote, entry, candidate);
        return candidate;
      },
      r);
  // Contrast sets MRCONFIGID to the policy hash followed by 16 zero bytes.
  const auto tail = std::span(quote->body.mr_config_id).subspan(32);
  r.check_equal("MRCONFIGID[32:48]", crypto::to_hex(std::array<std::byte, 16>{}),
                crypto::to_hex(tail));
  std::array<std::byte, 32> identity{};
  std::copy_n(quote->body.mr_config_id.begin(), 32, identity.begin());
  return identity;
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
  const auto report_data =
      trust.capabilities_body
          ? coordinator_report_data(nonce, doc->manifests, doc->root_ca_pem, doc->mesh_ca_pem,
                                    std::span<const std::byte>(*trust.capabilities_body))
          : coordinator_report_data(nonce, doc->manifests, doc->root_ca_pem, doc->mesh_ca_pem);
  // The workload identity the TEE reports: HOST_DATA (SNP) or the first 32
  // bytes of MRCONFIGID (TDX).
  std::optional<std::array<std::byte, 32>> identity;
  switch (doc->evidence_type()) {
    case EvidenceType::snp:
      r.check("evidence type", "SEV-SNP or TDX", doc->attestation_type_text() + " (SEV-SNP)", true);
      r.claim("evidence type", "SEV-SNP");
      identity = verify_snp_evidence(*doc, *manifest, report_data, trust, r, out.collateral);
      break;
    case EvidenceType::tdx:
      r.check("evidence type", "SEV-SNP or TDX", doc->attestation_type_text() + " (TDX)", true);
      r.claim("evidence type", "TDX");
      identity = verify_tdx_evidence(*doc, *manifest, report_data, trust, r, out.collateral);
      break;
    case EvidenceType::unknown:
      r.check("evidence type", "SEV-SNP or TDX", doc->attestation_type_text(), false);
      return out;
  }
  if (!identity) return out;

  const auto coordinators = manifest->coordinator_policy_hashes();
  const bool coordinator =
      std::find(coordinators.begin(), coordinators.end(), *identity) != coordinators.end();
  std::string expected;
  for (const auto& h : coordinators) {
    expected += (expected.empty() ? "" : " or ") + crypto::to_hex(h);
  }
  r.check("coordinator policy", expected, crypto::to_hex(*identity), coordinator);

  // Nothing from a document that failed a check leaves this function.
  if (r.passed()) {
    out.mesh_ca_pem = doc->mesh_ca_pem;
    out.root_ca_pem = doc->root_ca_pem;
  }
  return out;
}

}  // namespace cipherline::attest::contrast
