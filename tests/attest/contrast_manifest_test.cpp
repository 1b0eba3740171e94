// The Contrast manifest (parsing and Contrast's validation rules) and the
// Coordinator verification built on it, driven by a real SEV-SNP report.
#include "cipherline/attest/contrast/manifest.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/crypto/hex.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::contrast {
namespace {

using namespace std::chrono;

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

// The Google Cloud report and a manifest whose reference values it meets
// (its HOST_DATA, all zero, is the coordinator's policy hash).
struct GcpCase {
  snp::AttestationReport report =
      snp::parse_report(testing::read_vector("snp/milan_gcp_v5_report.bin")).value();
  std::string vcek_pem = testing::read_text("snp/milan_gcp_vcek.pem");

  std::string manifest(std::string_view extra_snp_fields = "") const {
    return R"({"Policies":{")" + crypto::to_hex(report.host_data) +
           R"(":{"SANs":["coordinator"],"Role":"coordinator"},)" + R"(")" + std::string(64, 'a') +
           R"(":{"SANs":["worker"],"WorkloadSecretID":"w"}},"ReferenceValues":{"snp":[{)" +
           R"("Platform":"gcp","ProductName":"Milan","TrustedMeasurement":")" +
           upper(crypto::to_hex(report.measurement)) +
           R"(","MinimumTCB":{"BootloaderVersion":4,"TEEVersion":0,"SNPVersion":27,"MicrocodeVersion":222},)" +
           R"("GuestPolicy":{"ABIMinor":0,"ABIMajor":0,"SMT":true,"PageSwapDisable":false},)" +
           R"("PlatformInfo":{"SMTEnabled":true,"ECCEnabled":true,"AliasCheckComplete":true},)" +
           R"("MinimumMitigationVector":11,"AllowedChipIDs":[")" +
           upper(crypto::to_hex(report.chip_id)) + R"("],"CPUs":1)" +
           std::string(extra_snp_fields) + R"(}],"tdx":null},"SeedshareOwnerPubKeys":["00"]})";
  }

  std::string document(const std::string& manifest_text, std::size_t copies = 1,
                       std::vector<std::uint64_t> type = {1, 3, 9901, 2, 1}) const {
    SnpEvidence evidence;
    evidence.report = report;
    evidence.vcek_der = crypto::Certificate::from_pem(vcek_pem).value().der();
    evidence.product = snp::Product::milan;
    AttestationDocument doc;
    doc.version = "v1.20.0";
    doc.raw_attestation_doc = encode_snp_attestation(evidence);
    doc.attestation_type = std::move(type);
    for (std::size_t i = 0; i < copies; ++i) doc.manifests.push_back(bytes_of(manifest_text));
    doc.root_ca_pem = "root";
    doc.mesh_ca_pem = "mesh";
    return write_attestation_document(doc);
  }
};

const std::vector<std::byte> kNonce(32, std::byte{7});
const system_clock::time_point kNow = sys_days(year{2026} / 6 / 1);

TEST(Manifest, ParsesPoliciesAndReferenceValues) {
  const GcpCase c;
  const Manifest m = parse_manifest(c.manifest()).value();
  ASSERT_EQ(m.policies.size(), 2u);
  ASSERT_EQ(m.coordinator_policy_hashes().size(), 1u);
  EXPECT_EQ(m.coordinator_policy_hashes()[0], c.report.host_data);
  ASSERT_EQ(m.snp.size(), 1u);
  const snp::ReferenceValues& v = m.snp[0].values;
  EXPECT_EQ(m.snp[0].platform, "gcp");
  EXPECT_EQ(v.product, snp::Product::milan);
  EXPECT_EQ(v.trusted_measurement, c.report.measurement);
  EXPECT_EQ(v.minimum_tcb.to_string(), "bl 4, tee 0, snp 27, ucode 222");
  EXPECT_TRUE(v.guest_policy.smt);
  EXPECT_TRUE(v.platform_info.ecc_enabled);
  EXPECT_EQ(v.minimum_mitigation_vector, 11u);
  ASSERT_EQ(v.allowed_chip_ids.size(), 1u);
  EXPECT_EQ(v.allowed_chip_ids[0], c.report.chip_id);
  EXPECT_TRUE(m.tdx.empty());
  EXPECT_EQ(m.seedshare_owner_pub_keys, std::vector<std::string>{"00"});
}

TEST(Manifest, ValidationErrorsNameThePath) {
  const GcpCase c;
  const auto failure = [](const std::string& json) {
    auto r = parse_manifest(json);
    EXPECT_FALSE(r) << json;
    return r ? std::string() : r.error().message();
  };
  std::string m = c.manifest();
  EXPECT_EQ(failure(std::string(m).replace(m.find("\"Milan\""), 7, "\"Rome\"")),
            "manifest: ReferenceValues.snp[0].ProductName: 'Rome' is not Milan, Genoa or Turin");
  EXPECT_EQ(failure(std::string(m).replace(m.find("\"SMT\":true"), 10, "\"SMT\":false")),
            "manifest: ReferenceValues.snp[0].GuestPolicy.SMT: must be true");
  EXPECT_EQ(failure(std::string(m).replace(m.find("\"SNPVersion\":27"), 15, "\"SNPVersion\":256")),
            "manifest: ReferenceValues.snp[0].MinimumTCB.SNPVersion: 256 exceeds 255");
  EXPECT_EQ(
      failure(std::string(m).replace(m.find("\"Role\":\"coordinator\""), 20, "\"Role\":\"admin\"")),
      "manifest: Policies." + crypto::to_hex(c.report.host_data) +
          ".Role: 'admin' is not a valid role");
  EXPECT_EQ(failure(std::string(m).replace(m.find(",\"Role\":\"coordinator\""), 21, "")),
            "manifest: Policies: no policy has the coordinator role");
  const auto at = m.find("\"TrustedMeasurement\":\"") + 22;
  EXPECT_EQ(failure(std::string(m).erase(at, 2)),
            "manifest: ReferenceValues.snp[0].TrustedMeasurement: 94 hex digits, expected 96");
  EXPECT_NE(failure("[]").find("not a JSON object"), std::string::npos);
}

// The real report verifies as a Coordinator except for what only a real
// Coordinator can produce: REPORT_DATA bound to this nonce and the ID block.
TEST(Coordinator, RealReportFailsOnlyTheBindingChecks) {
  const GcpCase c;
  const std::string manifest = c.manifest();
  const CoordinatorVerification v = verify_coordinator(
      c.document(manifest), kNonce, {.expected_manifest = bytes_of(manifest), .now = kNow});
  std::vector<std::string> failed;
  for (const Check& check : v.report.checks()) {
    if (!check.passed) failed.push_back(check.name);
  }
  EXPECT_EQ(failed, (std::vector<std::string>{"snp[0]: ID key digest", "snp[0]: report data"}))
      << v.report.to_text();
  EXPECT_TRUE(v.report.find_claim("snp[0]: measurement") != nullptr);
  ASSERT_NE(v.report.find_claim("evidence type"), nullptr);
  EXPECT_EQ(*v.report.find_claim("evidence type"), "SEV-SNP");
  EXPECT_EQ(v.mesh_ca_pem, "");  // nothing from a failed verification is handed out
}

TEST(Coordinator, ManifestRulesOfPrivatemode) {
  const GcpCase c;
  const std::string manifest = c.manifest();
  const CoordinatorTrust trust{.expected_manifest = bytes_of(manifest), .now = kNow};
  const auto check = [](const CoordinatorVerification& v, std::string_view name) {
    for (const Check& ch : v.report.checks()) {
      if (ch.name == name) return ch;
    }
    return Check{"(absent)", "", "", false};
  };
  // A manifest history of two: updates are not allowed.
  EXPECT_FALSE(
      check(verify_coordinator(c.document(manifest, 2), kNonce, trust), "manifest count").passed);
  // Another manifest than the expected one, even one byte apart.
  const std::string other = manifest + " ";
  const Check mismatch = check(verify_coordinator(c.document(other), kNonce, trust), "manifest");
  EXPECT_FALSE(mismatch.passed);
  EXPECT_NE(mismatch.expected, mismatch.actual);
  // SNP evidence labelled TDX: it does not decode as a QuoteV4; an unknown
  // evidence type is rejected as such. A short nonce, a broken document.
  EXPECT_FALSE(check(verify_coordinator(c.document(manifest, 1, {1, 3, 9901, 2, 2}), kNonce, trust),
                     "evidence decodes")
                   .passed);
  EXPECT_FALSE(
      check(verify_coordinator(c.document(manifest, 1, {1, 2, 3}), kNonce, trust), "evidence type")
          .passed);
  const std::vector<std::byte> short_nonce(16);
  const auto v = verify_coordinator(c.document(manifest), short_nonce, trust);
  EXPECT_EQ(v.report.first_failure()->name, "nonce");
  EXPECT_EQ(v.report.checks().size(), 1u);
  EXPECT_EQ(verify_coordinator("{}", kNonce, trust).report.first_failure()->name,
            "attestation document");
}

}  // namespace
}  // namespace cipherline::attest::contrast
