// The Contrast manifest: policies (workload identities), reference values
// per TEE, owner keys (spec: contrast-attestation §2).
//
//   auto manifest = contrast::parse_manifest(bytes);
//   if (!manifest) ... manifest.error().message()
//       // "manifest: ReferenceValues.snp[0].TrustedMeasurement: 94 hex digits, expected 96"
//   for (const auto& ref : manifest->snp) ... snp::check_reference_values(report, ref.values, r)
//
// Contract:
// - JSON field names as Contrast writes them (exact capitalization); unknown
//   fields are ignored.
// - Validation as Contrast's `Manifest.Validate()`: every policy key is 64
//   hex digits and its role "" or "coordinator"; at least one coordinator;
//   at least one reference value; SNP entries: ProductName Milan, Genoa or
//   Turin, a 48-byte TrustedMeasurement, all four MinimumTCB parts 0–255,
//   a GuestPolicy with ABI major 0, SMT set, and MigrateMA, Debug,
//   SingleSocket, CXLAllowed, MemAES256XTS, RAPLDis and CipherTextHidingDRAM
//   clear, AllowedChipIDs of 64 bytes each. Failures are
//   attest::errc::malformed_evidence naming the JSON path.
// - The manifest's identity is its bytes: compare manifests byte for byte,
//   never by re-serializing (there is no canonical form).
// - Pure function.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/attest/tdx/verify.hpp"

namespace cipherline::attest::contrast {

struct ManifestPolicy {
  std::array<std::byte, 32> hash{};  // the workload identity (HOST_DATA / MRCONFIGID[0:32])
  std::vector<std::string> sans;
  std::string workload_secret_id;
  std::string role;  // "" or "coordinator"
};

struct SnpReferenceEntry {
  std::string platform;
  unsigned cpus = 0;
  snp::ReferenceValues values;  // host_data and report_data are left unset
};

// A `ReferenceValues.tdx[i]` entry (spec §2.3): MrTd, MrSeam, Rtmrs (four),
// Xfam as hex in quote order, MinTCBEvaluationDataNumber, AllowedPIIDs and
// the platform switches. TD attributes are Contrast's fixed value: only
// SEPT_VE_DISABLE (bytes 00 00 00 10 00 00 00 00).
struct TdxReferenceEntry {
  std::string platform;
  tdx::ReferenceValues values;
  std::uint32_t min_tcb_evaluation_data_number = 0;
  std::vector<std::array<std::byte, 16>> allowed_piids;
  bool memory_integrity = false;
  bool smt_disabled = false;
  bool static_platform = false;
};
struct Manifest {
  std::vector<ManifestPolicy> policies;
  std::vector<SnpReferenceEntry> snp;
  std::vector<TdxReferenceEntry> tdx;
  std::vector<std::string> workload_owner_pub_keys;
  std::vector<std::string> seedshare_owner_pub_keys;

  std::vector<std::array<std::byte, 32>> coordinator_policy_hashes() const;
};

Result<Manifest, Error> parse_manifest(std::string_view json);
// parse_snp_reference_entry parses one `ReferenceValues.snp[i]` object on
// its own (for tools that check a single report), with the same rules.
Result<SnpReferenceEntry, Error> parse_snp_reference_entry(std::string_view json);

Result<TdxReferenceEntry, Error> parse_tdx_reference_entry(std::string_view json);

}  // namespace cipherline::attest::contrast
