// SEV-SNP reference values — what a manifest expects of a report — and the
// checks of a report against them (spec: contrast-attestation §1.5 checks
// 8–18, §2.2), plus Contrast's deterministic ID-key digest (§4.7).
//
//   snp::ReferenceValues ref{.product = snp::Product::genoa, .trusted_measurement = m, …};
//   VerificationReport r = snp::verify_report(report, vcek, chain, now);
//   snp::check_reference_values(report, ref, r);     // appends named checks
//   if (!r.passed()) ...
//
// Checks appended, in order: "endorsement key" (VCEK: Contrast accepts no
// VLEK-signed report unless the reference allows it), "VMPL" (0), "guest policy" (the report's
// policy against the reference: ABI at least the reference's; MIGRATE_MA,
// DEBUG, SMT, CXL_ALLOW only if allowed; SINGLE_SOCKET, MEM_AES_256_XTS,
// RAPL_DIS, CIPHERTEXT_HIDING, PAGE_SWAP_DISABLE if required), "measurement",
// "minimum TCB (reported)", "minimum TCB (launch)", "firmware build" and
// "firmware API version" (committed ≤ current), "platform info", "ID key
// digest" (when required), "mitigation vectors" (v5+ reports; earlier
// versions carry none and pass saying so), "chip ID allow-list" (when
// the list is not empty), "host data" and "report data" (when expected
// values are given). Each names the expected and actual values.
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "cipherline/attest/snp/report.hpp"
#include "cipherline/attest/verification_report.hpp"

namespace cipherline::attest::snp {

// The platform-info bits a reference allows (SMT, TSME, TIO) or requires
// (ECC, RAPL disabled, ciphertext hiding, alias check complete).
struct PlatformInfoReference {
  bool smt_enabled = false;
  bool tsme_enabled = false;
  bool ecc_enabled = false;
  bool rapl_disabled = false;
  bool ciphertext_hiding_enabled = false;
  bool alias_check_complete = false;
  bool tio_enabled = false;
};

struct ReferenceValues {
  Product product = Product::unknown;
  std::array<std::byte, 48> trusted_measurement{};
  TcbVersion minimum_tcb;  // bootloader, tee, snp, microcode (and fmc on Turin)
  GuestPolicy guest_policy;
  PlatformInfoReference platform_info;
  std::uint64_t minimum_mitigation_vector = 0;
  std::vector<std::array<std::byte, 64>> allowed_chip_ids;
  bool require_id_block = true;
  // Accept VLEK-signed reports (a cloud provider's key, not a chip's);
  // Contrast does not, and manifests cannot say so.
  bool allow_vlek = false;
  std::optional<std::array<std::byte, 32>> host_data;    // e.g. the coordinator policy hash
  std::optional<std::array<std::byte, 64>> report_data;  // e.g. the nonce binding
};

// encode_policy is the POLICY word for a GuestPolicy (bit 17 set).
std::uint64_t encode_policy(const GuestPolicy& policy) noexcept;

// contrast_id_key_digest is the ID_KEY_DIGEST of a launch with Contrast's
// deterministic ID block for `measurement` and `policy`: the key recovered
// from the fixed signature (r = 2, s = 1) over that block (§4.7).
std::array<std::byte, 48> contrast_id_key_digest(std::span<const std::byte, 48> measurement,
                                                 std::uint64_t policy);

void check_reference_values(const AttestationReport& report, const ReferenceValues& reference,
                            VerificationReport& out);

}  // namespace cipherline::attest::snp
