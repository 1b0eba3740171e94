// The software TEE's SEV-SNP evidence: verified by the production
// verifiers with the development root, rejected without it, and a whole
// Coordinator attestation that passes every check.
#include <gtest/gtest.h>

#include <algorithm>

#include "../../src/attest/little_endian.hpp"
#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/sim/snp_issuer.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::attest::sim {
namespace {

using namespace std::chrono;

const system_clock::time_point kNow = system_clock::now();

std::vector<std::byte> bytes_of(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

class SimSnp : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new DevelopmentSnpPki(DevelopmentSnpPki::generate(snp::Product::genoa, kNow).value());
  }
  static void TearDownTestSuite() { delete pki_; }
  static const DevelopmentSnpPki& pki() { return *pki_; }

  static SnpLaunch launch() {
    SnpLaunch l;
    l.measurement = measurement_of(bytes_of("the backend binary"));
    l.host_data[0] = std::byte{0xC0};
    return l;
  }
  static std::array<std::byte, 64> report_data(std::uint8_t fill) {
    std::array<std::byte, 64> d{};
    d.fill(static_cast<std::byte>(fill));
    return d;
  }

 private:
  static inline DevelopmentSnpPki* pki_ = nullptr;
};

TEST_F(SimSnp, ReportsVerifyWithTheDevelopmentRootOnly) {
  const auto report = issue_snp_report(pki(), launch(), report_data(0xAB)).value();
  EXPECT_EQ(report.version, 3u);
  EXPECT_EQ(report.cpuid_product(), snp::Product::genoa);
  EXPECT_EQ(report.report_data, report_data(0xAB));

  const VerificationReport trusted =
      snp::verify_report(report, pki().vcek, pki().trusted_chain(), kNow);
  EXPECT_TRUE(trusted.passed()) << trusted.to_text();
  const auto ark = std::find_if(trusted.checks().begin(), trusted.checks().end(),
                                [](const Check& c) { return c.name == "ARK"; });
  ASSERT_NE(ark, trusted.checks().end());
  EXPECT_EQ(ark->expected, "a development root (explicitly trusted)");

  const VerificationReport amd =
      snp::verify_report(report, pki().vcek, snp::amd_chain(snp::Product::genoa), kNow);
  EXPECT_FALSE(amd.passed());
  std::vector<std::string> failed;
  for (const Check& c : amd.checks()) {
    if (!c.passed) failed.push_back(c.name);
  }
  EXPECT_EQ(failed, std::vector<std::string>{"certificate chain"}) << amd.to_text();
}

TEST_F(SimSnp, LaunchMeetsContrastStyleReferenceValues) {
  const SnpLaunch l = launch();
  const auto report = issue_snp_report(pki(), l, report_data(1)).value();
  snp::ReferenceValues ref;
  ref.product = snp::Product::genoa;
  ref.trusted_measurement = l.measurement;
  ref.minimum_tcb = {.bootloader = 10, .tee = 0, .snp = 28, .microcode = 88};
  ref.guest_policy.smt = true;
  ref.platform_info = {.smt_enabled = true, .ecc_enabled = true, .alias_check_complete = true};
  ref.host_data = l.host_data;
  ref.report_data = report_data(1);
  VerificationReport r("reference values");
  snp::check_reference_values(report, ref, r);
  EXPECT_TRUE(r.passed()) << r.to_text();  // the ID key digest included
}

TEST_F(SimSnp, PemBundleRoundTrip) {
  const auto bundle = pki().to_pem_bundle();
  const auto loaded = DevelopmentSnpPki::from_pem_bundle(bundle.bytes()).value();
  EXPECT_EQ(loaded.product, snp::Product::genoa);
  EXPECT_EQ(loaded.vcek.der(), pki().vcek.der());
  EXPECT_EQ(loaded.chip_id, pki().chip_id);
  EXPECT_EQ(loaded.tcb.raw, pki().tcb.raw);
  const auto report = issue_snp_report(loaded, launch(), report_data(2)).value();
  EXPECT_TRUE(snp::verify_report(report, pki().vcek, pki().trusted_chain(), kNow).passed());
  const std::string_view text(reinterpret_cast<const char*>(bundle.bytes().data()),
                              bundle.size() / 2);
  auto truncated = DevelopmentSnpPki::from_pem_bundle(bytes_of(text));
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().message().find("expected 3 certificates and 3 private keys"),
            std::string::npos);
}

TEST_F(SimSnp, CoordinatorAttestationEndToEnd) {
  const std::string policy_hash(64, 'c');
  const SnpLaunch base = launch();
  const std::string manifest =
      R"({"Policies":{")" + policy_hash +
      R"(":{"SANs":["coordinator"],"Role":"coordinator"}},"ReferenceValues":{"snp":[{"ProductName":"Genoa","TrustedMeasurement":")" +
      crypto::to_hex(base.measurement) +
      R"(","MinimumTCB":{"BootloaderVersion":10,"TEEVersion":0,"SNPVersion":28,"MicrocodeVersion":88},"GuestPolicy":{"SMT":true},"PlatformInfo":{"SMTEnabled":true,"ECCEnabled":true,"AliasCheckComplete":true}}]}})";
  const std::vector<std::byte> nonce(32, std::byte{0x5A});

  // What the Coordinator does: bind the nonce, the history and its CAs.
  contrast::AttestationDocument doc;
  doc.version = "cipherline-sim";
  doc.attestation_type = {1, 3, 9901, 2, 1};
  doc.manifests = {bytes_of(manifest)};
  doc.root_ca_pem = "root CA PEM";
  doc.mesh_ca_pem = "mesh CA PEM";
  SnpLaunch l = base;
  std::fill(l.host_data.begin(), l.host_data.end(), std::byte{0xcc});
  contrast::SnpEvidence evidence;
  evidence.report = issue_snp_report(pki(), l,
                                     contrast::coordinator_report_data(
                                         nonce, doc.manifests, doc.root_ca_pem, doc.mesh_ca_pem))
                        .value();
  evidence.vcek_der = pki().vcek.der();
  evidence.ask_der = pki().ask.der();
  evidence.ark_der = pki().ark.der();
  evidence.product = snp::Product::genoa;
  doc.raw_attestation_doc = contrast::encode_snp_attestation(evidence);
  const std::string json = contrast::write_attestation_document(doc);

  contrast::CoordinatorTrust trust{.expected_manifest = bytes_of(manifest), .now = kNow};
  trust.development_chain = pki().trusted_chain();
  const auto verified = contrast::verify_coordinator(json, nonce, trust);
  EXPECT_TRUE(verified.report.passed()) << verified.report.to_text();
  EXPECT_EQ(verified.mesh_ca_pem, "mesh CA PEM");

  // Another nonce: the binding fails, by name.
  const std::vector<std::byte> other(32, std::byte{0x00});
  const auto replayed = contrast::verify_coordinator(json, other, trust);
  EXPECT_EQ(replayed.report.first_failure()->name, "snp[0]: report data");

  // No development trust: rejected as an untrusted root.
  trust.development_chain.reset();
  const auto untrusted = contrast::verify_coordinator(json, nonce, trust);
  ASSERT_FALSE(untrusted.report.passed());
  EXPECT_EQ(untrusted.report.first_failure()->name, "trusted root");
  EXPECT_NE(untrusted.report.first_failure()->actual.find("untrusted root"), std::string::npos);
}

TEST_F(SimSnp, VlekSignedReportsVerifyUnderTheirAsvk) {
  const auto vlek =
      DevelopmentSnpPki::generate(snp::Product::genoa, kNow, snp::SigningKey::vlek).value();
  const auto report = issue_snp_report(vlek, launch(), report_data(3)).value();
  EXPECT_EQ(report.signing_key, snp::SigningKey::vlek);
  const VerificationReport r = snp::verify_report(report, vlek.vcek, vlek.trusted_chain(), kNow);
  EXPECT_TRUE(r.passed()) << r.to_text();
  ASSERT_NE(r.find_claim("CSP ID"), nullptr) << r.to_text();
  EXPECT_EQ(*r.find_claim("CSP ID"), "cipherline development");
  // Under a VCEK chain the mismatch is named; the bundle keeps the kind.
  const VerificationReport wrong =
      snp::verify_report(report, vlek.vcek, pki().trusted_chain(), kNow);
  EXPECT_EQ(wrong.first_failure()->name, "signing key");
  const auto loaded = DevelopmentSnpPki::from_pem_bundle(vlek.to_pem_bundle().bytes()).value();
  EXPECT_EQ(loaded.signing_key, snp::SigningKey::vlek);
}

// A Coordinator document around the software TEE's evidence, for the
// Coordinator checks that fail one by one below.
struct CoordinatorCase {
  const DevelopmentSnpPki& pki;
  std::string manifest;
  std::vector<std::byte> nonce = std::vector<std::byte>(32, std::byte{0x5A});
  contrast::AttestationDocument doc;
  contrast::SnpEvidence evidence;

  static std::string manifest_for(const SnpLaunch& l, bool with_snp = true) {
    const std::string snp =
        R"({"ProductName":"Genoa","TrustedMeasurement":")" + crypto::to_hex(l.measurement) +
        R"(","MinimumTCB":{"BootloaderVersion":10,"TEEVersion":0,"SNPVersion":28,"MicrocodeVersion":88},"GuestPolicy":{"SMT":true},"PlatformInfo":{"SMTEnabled":true,"ECCEnabled":true,"AliasCheckComplete":true}})";
    // Without SNP entries the manifest holds a TDX one (it must hold some).
    const std::string z48 = std::string(96, '0');
    const std::string tdx = R"({"MrTd":")" + z48 + R"(","Rtmrs":[")" + z48 + R"(",")" + z48 +
                            R"(",")" + z48 + R"(",")" + z48 + R"("],"MrSeam":")" + z48 +
                            R"(","Xfam":"0000000000000000"})";
    return R"({"Policies":{")" + std::string(64, 'c') +
           R"(":{"SANs":["coordinator"],"Role":"coordinator"}},"ReferenceValues":)" +
           (with_snp ? R"({"snp":[)" + snp + "]}}" : R"({"snp":[],"tdx":[)" + tdx + "]}}");
  }

  CoordinatorCase(const DevelopmentSnpPki& p, const SnpLaunch& base, bool with_snp = true)
      : pki(p), manifest(manifest_for(base, with_snp)) {
    doc.version = "cipherline-sim";
    doc.attestation_type = {1, 3, 9901, 2, 1};
    doc.manifests = {bytes_of(manifest)};
    doc.root_ca_pem = "root CA PEM";
    doc.mesh_ca_pem = "mesh CA PEM";
    SnpLaunch l = base;
    std::fill(l.host_data.begin(), l.host_data.end(), std::byte{0xcc});
    evidence.report = issue_snp_report(pki, l,
                                       contrast::coordinator_report_data(
                                           nonce, doc.manifests, doc.root_ca_pem, doc.mesh_ca_pem))
                          .value();
    evidence.vcek_der = pki.vcek.der();
    evidence.ask_der = pki.ask.der();
    evidence.ark_der = pki.ark.der();
    evidence.product = pki.product;
  }

  contrast::CoordinatorVerification verify(contrast::CoordinatorTrust trust = {}) const {
    contrast::AttestationDocument d = doc;
    d.raw_attestation_doc = contrast::encode_snp_attestation(evidence);
    trust.expected_manifest = bytes_of(manifest);
    trust.now = kNow;
    trust.development_chain = pki.trusted_chain();
    return contrast::verify_coordinator(contrast::write_attestation_document(d), nonce, trust);
  }
};

std::string first_failure(const contrast::CoordinatorVerification& v) {
  return v.report.first_failure() != nullptr ? v.report.first_failure()->name : "none";
}

TEST_F(SimSnp, CoordinatorChecksFailByName) {
  {
    const CoordinatorCase c(pki(), launch());
    const auto v = c.verify();
    EXPECT_TRUE(v.report.passed()) << v.report.to_text();
    const Check* crl = nullptr;
    for (const Check& check : v.report.checks()) {
      if (check.name == "snp[0]: AMD CRL") crl = &check;
    }
    ASSERT_NE(crl, nullptr) << v.report.to_text();
    EXPECT_EQ(crl->actual, "none given: revocation not checked");
  }
  {
    CoordinatorCase c(pki(), launch());
    c.evidence.vcek_der.clear();
    EXPECT_EQ(first_failure(c.verify()), "VCEK present");
  }
  {
    const CoordinatorCase c(pki(), launch(), /*with_snp=*/false);
    EXPECT_EQ(first_failure(c.verify()), "SNP reference values");
  }
  {
    // A v2 report takes its product from the VCEK: one naming Milan.
    CoordinatorCase c(pki(), launch());
    auto raw = c.evidence.report.raw;
    attest::internal::store_le(raw.data(), 2, 4);
    std::fill(raw.begin() + 0x188, raw.begin() + 0x18B, std::byte{0});
    c.evidence.report = sign_snp_report(pki(), raw).value();
    auto extensions = vcek_extensions(pki());
    for (auto& e : extensions) {
      if (e.oid == "1.3.6.1.4.1.3704.1.2") e.der = crypto::der_ia5_string("Milan");
    }
    c.evidence.vcek_der =
        issue_vcek(pki(), pki().vcek_key.public_key(), std::move(extensions)).value().der();
    EXPECT_EQ(first_failure(c.verify()), "snp[0]: product");
  }
}

TEST_F(SimSnp, CoordinatorRefusesVlekSignedEvidence) {
  const auto vlek =
      DevelopmentSnpPki::generate(snp::Product::genoa, kNow, snp::SigningKey::vlek).value();
  const CoordinatorCase c(vlek, launch());
  const auto v = c.verify();
  ASSERT_EQ(first_failure(v), "snp[0]: endorsement key") << v.report.to_text();
  EXPECT_EQ(v.report.first_failure()->actual, "VLEK");
}

TEST_F(SimSnp, CoordinatorUsesTheAmdCrlFromTheExtras) {
  CoordinatorCase c(pki(), launch());
  c.evidence.crl_der = issue_amd_crl(pki(), kNow).value().der();
  EXPECT_TRUE(c.verify().report.passed()) << c.verify().report.to_text();

  c.evidence.crl_der = issue_amd_crl(pki(), kNow, {2}).value().der();  // the ASK
  EXPECT_EQ(first_failure(c.verify()), "snp[0]: ASK revocation");

  c.evidence.crl_der = issue_amd_crl(pki(), kNow - hours(24 * 30)).value().der();  // stale
  EXPECT_EQ(first_failure(c.verify()), "snp[0]: AMD CRL");
  contrast::CoordinatorTrust open;
  open.amd_revocation.fail_open = true;
  EXPECT_TRUE(c.verify(open).report.passed());

  c.evidence.crl_der.clear();
  contrast::CoordinatorTrust required;
  required.amd_revocation.require_crl = true;
  EXPECT_EQ(first_failure(c.verify(required)), "snp[0]: AMD CRL");
}

}  // namespace
}  // namespace cipherline::attest::sim
