// `cipherline verify …`: attestation evidence checked from files, printing
// the verification report. Exit status 0 verified, 1 rejected (the report
// names the failing checks), 2 for a usage or parse error.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/contrast/manifest.hpp"
#include "cipherline/attest/nvgpu/verify.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/attest/tdx/collateral.hpp"
#include "cipherline/attest/tdx/verify.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "verify_support.hpp"

namespace cipherline::cli {
namespace {

using namespace std::chrono;

// Prints the report and turns it into the exit status.
int finish(const attest::VerificationReport& report, bool json) {
  const std::string text = json ? report.to_json() + "\n" : report.to_text();
  std::fwrite(text.data(), 1, text.size(), stdout);
  return report.passed() ? 0 : 1;
}

}  // namespace

int verify_snp(std::span<const std::string_view> args) {
  Flags flags("verify snp",
              "Verifies an AMD SEV-SNP attestation report against its VCEK and AMD's roots,\n"
              "and optionally against reference values. Exit status 0 verified, 1 rejected,\n"
              "2 usage or parse error.");
  flags.option("report", "FILE", "the 1184-byte ATTESTATION_REPORT (binary or hex text)")
      .option("vcek", "FILE", "the VCEK certificate (DER or PEM)")
      .option("chain", "FILE", "AMD's cert_chain PEM (ASK, then ARK); its ARK must be AMD's",
              "built-in roots")
      .option("reference", "FILE",
              "reference values: one manifest ReferenceValues.snp entry (JSON)", "none")
      .option("report-data", "HEX", "the expected 64-byte REPORT_DATA", "not checked")
      .option("crl", "FILE",
              "AMD's CRL for the product line (KDS /vcek/v1/<Product>/crl, DER or PEM): must be "
              "signed by the ARK and current, and must not list the ASK",
              "none: revocation not checked")
      .toggle("crl-fail-open",
              "accept a --crl that does not verify or is out of date (revocation then not "
              "checked)")
      .toggle("require-crl", "reject the report when no --crl is given")
      .option("at", "RFC3339", "time at which certificates must be valid", "now")
      .option("capture-dir", "DIR",
              "also record the evidence, collateral and report as a capture in DIR (see "
              "`verify capture`)",
              "none")
      .toggle("json", "print the report as JSON");
  if (!flags.parse(args)) return 0;

  const auto report = parse_or_usage(attest::snp::parse_report(read_evidence(flags, "report")));
  std::vector<std::byte> crl;
  if (flags.is_set("crl")) crl = read_file_flag(flags, "crl");
  const auto vcek = certificate_flag(flags, "vcek");
  const auto at = time_flag(flags, "at");

  const attest::snp::TrustedChain chain = [&] {
    if (flags.is_set("chain")) {
      const auto certs = certificates_flag(flags, "chain");
      if (certs.size() != 2) {
        throw UsageError("--chain expects two certificates (ASK, then ARK), found " +
                         std::to_string(certs.size()));
      }
      return attest::snp::TrustedChain{ark_product(certs[1]), certs[0], certs[1], false};
    }
    auto product = report.cpuid_product();
    if (product == attest::snp::Product::unknown) {
      const auto ext = attest::snp::parse_vcek_extensions(vcek);
      if (ext) product = attest::snp::product_from_name(ext->product_name);
    }
    if (product == attest::snp::Product::unknown) {
      throw UsageError(
          "cannot tell the product (Milan, Genoa, Turin) from the report or the VCEK; give "
          "--chain");
    }
    return attest::snp::amd_chain(product);
  }();
  SnpInputs inputs{.report = report,
                   .vcek = vcek,
                   .chain = chain,
                   .at = at,
                   .crl = crl,
                   .policy = {.fail_open = flags.is_set("crl-fail-open"),
                              .require_crl = flags.is_set("require-crl")}};
  if (flags.is_set("reference")) inputs.reference_json = read_text_flag(flags, "reference");
  if (flags.is_set("report-data")) inputs.report_data = flags.hex("report-data", 64);
  const attest::VerificationReport result = check_snp(inputs);
  if (flags.is_set("capture-dir")) {
    const auto raw = read_file_flag(flags, "report");
    client::Capture capture{.kind = client::CaptureKind::snp_report,
                            .judged_at = time_point_cast<seconds>(at),
                            .evidence = {{"report.bin", raw}},
                            .collateral = {{"vcek.der", vcek.der()},
                                           {"ask.der", chain.ask.der()},
                                           {"ark.der", chain.ark.der()}},
                            .report_data = inputs.report_data,
                            .report = &result};
    if (!crl.empty()) capture.collateral.push_back({"amd_crl.der", crl});
    if (inputs.reference_json) {
      const auto b = std::as_bytes(std::span(*inputs.reference_json));
      capture.evidence.push_back({"reference.json", {b.begin(), b.end()}});
    }
    capture.policy.amd_require_crl = inputs.policy.require_crl;
    capture.policy.amd_crl_fail_open = inputs.policy.fail_open;
    record_capture(flags, capture);
  }
  return finish(result, flags.is_set("json"));
}

int verify_tdx(std::span<const std::string_view> args) {
  Flags flags("verify tdx",
              "Verifies an Intel TDX quote (DCAP v4 or v5) against its PCK chain and Intel's\n"
              "root, PCS collateral (TCB status, QE identity, revocation) and optionally\n"
              "reference values. Without --collateral the quote cannot be judged: exit 1,\n"
              "unless --quote-only asks for the signature checks alone. Exit status 0\n"
              "verified, 1 rejected, 2 usage or parse error.");
  flags.option("quote", "FILE", "the quote (binary or hex text)")
      .option("collateral", "DIR",
              "PCS collateral as served: " + std::string(kTdxCollateralFiles) +
                  " (the signing certificate and the CRLs are required unless allowed below)",
              "none")
      .toggle("quote-only",
              "without --collateral: check the quote's signatures and chain only, and say that "
              "TCB status, QE identity and revocation were not checked")
      .toggle("allow-unsigned-collateral",
              "accept collateral without tcb_signing.pem (only if it came over an authenticated "
              "channel)")
      .toggle("allow-missing-crl",
              "accept collateral without pck_crl.der / root_crl.der "
              "(revocation not checked)")
      .option("reference", "FILE",
              "reference values: one manifest ReferenceValues.tdx entry (JSON)", "none")
      .option("report-data", "HEX", "the expected 64-byte REPORTDATA", "not checked")
      .option("at", "RFC3339", "time at which certificates and collateral must be valid", "now")
      .toggle("json", "print the report as JSON");
  if (!flags.parse(args)) return 0;

  const auto quote = parse_or_usage(attest::tdx::parse_quote(read_evidence(flags, "quote")));
  const auto at = time_flag(flags, "at");
  const auto& root = attest::tdx::intel_root();
  attest::VerificationReport result = attest::tdx::verify_quote(quote, root, at);

  std::optional<attest::contrast::TdxReferenceEntry> reference;
  if (flags.is_set("reference")) {
    reference = parse_or_usage(
        attest::contrast::parse_tdx_reference_entry(read_text_flag(flags, "reference")));
  }
  if (flags.is_set("collateral")) {
    const auto collateral =
        parse_or_usage(attest::tdx::parse_collateral(read_tdx_collateral(flags, "collateral")));
    attest::tdx::CollateralPolicy policy;
    policy.allow_unsigned_collateral = flags.is_set("allow-unsigned-collateral");
    policy.allow_missing_crls = flags.is_set("allow-missing-crl");
    if (reference) {
      policy.min_tcb_evaluation_data_number = reference->min_tcb_evaluation_data_number;
      policy.allowed_piids = reference->allowed_piids;
    }
    attest::tdx::check_collateral(quote, collateral, root, policy, at, result);
  } else if (flags.is_set("quote-only")) {
    result.claim("not checked",
                 "TCB status, QE identity, TDX module identity and revocation (--quote-only, "
                 "no --collateral): the quote's signatures say nothing about whether the "
                 "platform is up to date or its PCK certificate revoked");
  } else {
    result.check("collateral", "PCS collateral (--collateral DIR)",
                 "none given: TCB status, QE identity, TDX module identity and revocation not "
                 "checked (--quote-only to check the quote's signatures alone)",
                 false);
  }
  if (reference) attest::tdx::check_reference_values(quote, reference->values, result);
  if (flags.is_set("report-data")) {
    result.check_equal("report data", crypto::to_hex(flags.hex("report-data", 64)),
                       crypto::to_hex(quote.body.report_data));
  }
  return finish(result, flags.is_set("json"));
}

int verify_gpu(std::span<const std::string_view> args) {
  Flags flags("verify gpu",
              "Verifies an NVIDIA GPU attestation report (SPDM GET_MEASUREMENTS request and\n"
              "response) against the GPU's certificate chain and NVIDIA's root. Exit status 0\n"
              "verified, 1 rejected, 2 usage or parse error.");
  flags.option("report", "FILE", "the report (binary, or hex text as NVIDIA's tools write it)")
      .option("chain", "FILE", "the GPU's attestation certificate chain, PEM, leaf first")
      .option("nonce", "HEX",
              "the 32-byte nonce the report was requested with (without it, freshness is not "
              "established and the report is rejected)",
              "none: rejected")
      .option("reference", "FILE",
              "reference measurements: a JSON list of {\"index\": N, \"values\": [hex, …]}", "none")
      .option("driver", "VERSIONS", "allowed driver versions, comma-separated", "any")
      .option("vbios", "VERSIONS", "allowed VBIOS versions, comma-separated", "any")
      .option("at", "RFC3339", "time at which certificates must be valid", "now")
      .toggle("json", "print the report as JSON");
  if (!flags.parse(args)) return 0;

  const auto report = parse_or_usage(attest::nvgpu::parse_report(read_evidence(flags, "report")));
  const auto chain = certificates_flag(flags, "chain");
  // Without --nonce nothing says the report is fresh: the "nonce" check
  // fails saying so (never the report's nonce compared with itself).
  std::vector<std::byte> nonce;
  if (flags.is_set("nonce")) nonce = flags.hex("nonce", attest::nvgpu::kNonceSize);
  attest::nvgpu::ReferenceValues reference;
  if (flags.is_set("reference")) {
    reference.measurements = parse_or_usage(
        attest::nvgpu::parse_reference_measurements(read_text_flag(flags, "reference")));
  }
  if (flags.is_set("driver")) reference.driver_versions = flags.list("driver");
  if (flags.is_set("vbios")) reference.vbios_versions = flags.list("vbios");
  attest::VerificationReport result = attest::nvgpu::verify_report(
      report, chain, attest::nvgpu::nvidia_root(), nonce, reference, time_flag(flags, "at"));
  if (!flags.is_set("nonce")) result.claim("freshness", "not established (no --nonce given)");
  return finish(result, flags.is_set("json"));
}

int verify_coordinator(std::span<const std::string_view> args) {
  Flags flags("verify coordinator",
              "Verifies a Contrast Coordinator attestation document as the Privatemode client\n"
              "does: bound to the nonce, carrying exactly the expected manifest, from a TEE\n"
              "meeting its reference values. Exit status 0 verified, 1 rejected, 2 usage or\n"
              "parse error.");
  flags
      .option("doc", "FILE",
              "the /attest JSON (or Privatemode's {\"AttestationDoc\": base64} wrapper)")
      .option("nonce", "HEX", "the 32-byte nonce the document was requested with")
      .option("manifest", "FILE", "the expected manifest (compared byte for byte)")
      .option("dev-trust", "DIR",
              "trust the development TEE roots in DIR (" + std::string(kDevSnpChainFile) + ")",
              "none")
      .option("tdx-collateral", "DIR",
              "Intel PCS collateral for TDX evidence: " + std::string(kTdxCollateralFiles) +
                  " (without it TDX evidence is refused)",
              "none")
      .toggle("tdx-allow-missing-crl",
              "accept TDX evidence without pck_crl.der / root_crl.der (revocation not checked)")
      .option("at", "RFC3339", "time at which certificates must be valid", "now")
      .toggle("json", "print the report as JSON");
  if (!flags.parse(args)) return 0;

  std::string doc = read_text_flag(flags, "doc");
  doc = unwrap_privatemode_document(doc);
  const auto nonce = flags.hex("nonce", 32);
  attest::contrast::CoordinatorTrust trust;
  const std::string manifest = read_text_flag(flags, "manifest");
  const auto m = std::as_bytes(std::span(manifest.data(), manifest.size()));
  trust.expected_manifest.assign(m.begin(), m.end());
  trust.now = time_flag(flags, "at");
  if (flags.is_set("dev-trust")) trust.development_chain = development_chain(flags, "dev-trust");
  if (flags.is_set("tdx-collateral")) {
    trust.tdx_collateral = read_tdx_collateral(flags, "tdx-collateral");
  }
  trust.tdx_allow_missing_crls = flags.is_set("tdx-allow-missing-crl");
  // A document that does not parse is bad input (exit 2), not a rejection.
  (void)parse_or_usage(attest::contrast::parse_attestation_document(doc));
  const auto verified = attest::contrast::verify_coordinator(doc, nonce, trust);
  return finish(verified.report, flags.is_set("json"));
}

}  // namespace cipherline::cli
