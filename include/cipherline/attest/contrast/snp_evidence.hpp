// The SEV-SNP evidence inside a Contrast attestation document:
// go-sev-guest's `sevsnp.Attestation` protobuf (report, certificate chain,
// product), decoded into the 1184-byte ABI report the signature covers, and
// encoded back (for the software TEE and tests).
//
//   auto evidence = contrast::decode_snp_attestation(raw_attestation_doc);
//   if (!evidence) ... evidence.error().message()   // "sevsnp.Report: field 12 …: 47 bytes,
//   expected 48" snp::verify_report(evidence->report, vcek_from(evidence->vcek_der), …);
//
// Contract:
// - The report is rebuilt in the ABI layout (reserved areas zero; for
//   version 3+ the CPUID family/model/stepping decoded from the masked
//   CPUID(1).EAX) and then parsed by snp::parse_report, so every rule of the
//   parser applies. Byte fields must have their exact sizes.
// - The certificate chain's DER certificates are passed through as bytes;
//   the CRL in `extras` under the well-known key is kept.
// - Pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "cipherline/attest/snp/report.hpp"

namespace cipherline::attest::contrast {

struct SnpEvidence {
  snp::AttestationReport report;
  std::vector<std::byte> vcek_der;  // empty if absent
  std::vector<std::byte> ask_der;
  std::vector<std::byte> ark_der;
  std::vector<std::byte> vlek_der;
  std::vector<std::byte> crl_der;  // extras["00569ee4-e480-4fba-bbf4-45b629901180"]
  snp::Product product = snp::Product::unknown;
};

Result<SnpEvidence, Error> decode_snp_attestation(std::span<const std::byte> protobuf);
std::vector<std::byte> encode_snp_attestation(const SnpEvidence& evidence);

}  // namespace cipherline::attest::contrast
