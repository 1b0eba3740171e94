// The software TEE's SEV-SNP side: a development, AMD-shaped certificate
// chain (ARK and ASK RSA-4096 with RSASSA-PSS, a P-384 VCEK carrying the
// KDS TCB and hwID extensions) and attestation reports in the real ABI
// layout signed by that VCEK. The production verifiers run on this evidence
// unchanged; only the trusted root differs, and it is trusted only where a
// development trust directory is configured.
//
//   auto pki = sim::DevelopmentSnpPki::generate(snp::Product::genoa, now).value();   // seconds:
//   RSA sim::SnpLaunch launch{.measurement = sim::measurement_of(binary_bytes), .host_data =
//   policy_hash}; snp::AttestationReport report = sim::issue_snp_report(pki, launch,
//   report_data).value(); snp::verify_report(report, pki.vcek, pki.trusted_chain(), now); // passes
//   snp::verify_report(report, pki.vcek, snp::amd_chain(snp::Product::genoa), now);  // fails
//
// Contract:
// - Names follow AMD's (CN ARK-<Product>, SEV-<Product> or SEV-VLEK-<Product>,
//   SEV-VCEK or SEV-VLEK; AMD's location RDNs) with O "cipherline development TEE (NOT AMD)" so no
//   one mistakes the chain for AMD's. Validity: ten years from `now` minus a day.
// - Reports are version 3 with the product's CPUID bytes; the launch looks
//   like a Contrast launch: FAMILY_ID 01…, IMAGE_ID 02…, GUEST_SVN 2, and
//   the ID key digest Contrast's deterministic ID block gives for the
//   measurement and policy (so reference values with RequireIDBlock hold).
// - The PEM bundle carries the private keys: persist it only where the
//   development TEE's secrets may live (its state directory, mode 0600).
// - No I/O; generation draws from OpenSSL's CSPRNG.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/crl.hpp"
#include "cipherline/crypto/private_key.hpp"

namespace cipherline::attest::sim {

struct DevelopmentSnpPki {
  snp::Product product = snp::Product::genoa;
  // VCEK (a chip's key, under an ASK) or VLEK (a provider's key, under an
  // ASVK, with cspID "cipherline development" instead of hwID).
  snp::SigningKey signing_key = snp::SigningKey::vcek;
  crypto::PrivateKey ark_key, ask_key, vcek_key;
  crypto::Certificate ark, ask, vcek;
  std::array<std::byte, 64> chip_id{};
  snp::TcbVersion tcb;

  static Result<DevelopmentSnpPki, Error> generate(
      snp::Product product, std::chrono::system_clock::time_point now,
      snp::SigningKey signing_key = snp::SigningKey::vcek);
  // The chain a verifier trusts when development roots are configured.
  snp::TrustedChain trusted_chain() const;

  // A PEM bundle: the three certificates and the three keys, in one text.
  crypto::SecretBytes to_pem_bundle() const;
  static Result<DevelopmentSnpPki, Error> from_pem_bundle(std::span<const std::byte> pem);
};

struct SnpLaunch {
  std::array<std::byte, 48> measurement{};
  std::uint64_t policy = 0x30000;  // SMT and the reserved bit 17
  std::array<std::byte, 32> host_data{};
  std::uint64_t platform_info = 0x25;  // SMT_EN, ECC_EN, ALIAS_CHECK_COMPLETE
};

// measurement_of is the development measurement of a launch image: SHA-384
// of its bytes (the running binary, for the backend).
std::array<std::byte, 48> measurement_of(std::span<const std::byte> image);

Result<snp::AttestationReport, Error> issue_snp_report(const DevelopmentSnpPki& pki,
                                                       const SnpLaunch& launch,
                                                       std::span<const std::byte, 64> report_data);

// sign_snp_report signs raw ABI bytes (an issued report with a field
// changed, for a test that fails exactly one check) with the PKI's VCEK and
// parses the result.
Result<snp::AttestationReport, Error> sign_snp_report(
    const DevelopmentSnpPki& pki, std::span<const std::byte, snp::kReportSize> raw);

// vcek_extensions: the KDS extensions of the PKI's VCEK (or VLEK), in the
// order issued; issue_vcek issues another one for `key` under the PKI's ASK
// (tests change an extension or the key type).
std::vector<crypto::CertificateExtension> vcek_extensions(const DevelopmentSnpPki& pki);
Result<crypto::Certificate, Error> issue_vcek(const DevelopmentSnpPki& pki,
                                              const crypto::PublicKey& key,
                                              std::vector<crypto::CertificateExtension> extensions);

// issue_amd_crl: the ARK's CRL (as KDS serves /vcek/v1/<Product>/crl),
// valid [now - 1 h, now + 7 days], listing `revoked` serials (the ASK's is 2).
Result<crypto::Crl, Error> issue_amd_crl(const DevelopmentSnpPki& pki,
                                         std::chrono::system_clock::time_point now,
                                         std::vector<std::uint64_t> revoked = {});

}  // namespace cipherline::attest::sim
