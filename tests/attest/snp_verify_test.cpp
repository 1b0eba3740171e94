// SEV-SNP verification of real reports against their VCEKs and the built-in
// AMD chains, and each check failing for the right reason.
#include "cipherline/attest/snp/verify.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha512.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::snp {
namespace {

using namespace std::chrono;
using testing::read_text;
using testing::read_vector;

// A time inside every vector VCEK's validity (the latest starts 2025-12-05).
const system_clock::time_point kAt = sys_days(year{2026} / 6 / 1);

struct Evidence {
  AttestationReport report;
  crypto::Certificate vcek;
};

Evidence go_sev_guest() {
  return {parse_report(read_vector("snp/milan_go_sev_guest_report.bin")).value(),
          crypto::Certificate::from_der(read_vector("snp/milan_go_sev_guest_vcek.der")).value()};
}

const Check& check_named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name));
}

TEST(SnpVerify, BuiltInChainsAreAmdsRoots) {
  for (Product p : {Product::milan, Product::genoa, Product::turin}) {
    const TrustedChain& chain = amd_chain(p);
    EXPECT_EQ(crypto::to_hex(chain.ark.fingerprint_sha256()), amd_ark_fingerprint(p));
    EXPECT_NE(chain.ark.subject().find("CN=ARK-" + std::string(product_name(p))),
              std::string::npos);
    EXPECT_NE(chain.ask.subject().find("CN=SEV-" + std::string(product_name(p))),
              std::string::npos);
  }
}

TEST(SnpVerify, RealReportsVerify) {
  const struct {
    const char* report;
    std::string vcek_der;
    std::string vcek_pem;
  } cases[] = {
      {"snp/milan_go_sev_guest_report.bin", "snp/milan_go_sev_guest_vcek.der", ""},
      {"snp/milan_virtee_report.bin", "snp/milan_virtee_vcek.der", ""},
      {"snp/milan_gcp_v5_report.bin", "", "snp/milan_gcp_vcek.pem"},
      {"snp/milan_gcp_v5_report_data.bin", "", "snp/milan_gcp_vcek.pem"},
      {"snp/milan_gcp_v5_x25519_bound.bin", "", "snp/milan_gcp_vcek.pem"},
  };
  for (const auto& c : cases) {
    const auto report = parse_report(read_vector(c.report)).value();
    const auto vcek = c.vcek_der.empty()
                          ? crypto::Certificate::from_pem(read_text(c.vcek_pem)).value()
                          : crypto::Certificate::from_der(read_vector(c.vcek_der)).value();
    const VerificationReport r = verify_report(report, vcek, amd_chain(Product::milan), kAt);
    EXPECT_TRUE(r.passed()) << c.report << "\n" << r.to_text();
    EXPECT_EQ(r.checks().size(), 11u);  // "AMD CRL" included: none given, not checked
    EXPECT_EQ(*r.find_claim("product"), "Milan");
    EXPECT_EQ(*r.find_claim("measurement"), crypto::to_hex(report.measurement));
  }
}

TEST(SnpVerify, VcekExtensions) {
  const auto milan = parse_vcek_extensions(go_sev_guest().vcek).value();
  EXPECT_EQ(milan.product_name.substr(0, 5), "Milan");
  EXPECT_EQ(milan.tcb.to_string(), "bl 2, tee 0, snp 5, ucode 68");
  EXPECT_EQ(milan.hwid.size(), 64u);
  const auto turin =
      parse_vcek_extensions(
          crypto::Certificate::from_der(read_vector("snp/turin_virtee_vcek.der")).value())
          .value();
  EXPECT_EQ(turin.struct_version, 1);
  EXPECT_EQ(turin.product_name, "Turin");
  EXPECT_EQ(turin.hwid.size(), 8u);
  // The Turin VCEK chains to the built-in Turin roots.
  const crypto::Certificate ask[] = {amd_chain(Product::turin).ask};
  const crypto::Certificate ark[] = {amd_chain(Product::turin).ark};
  EXPECT_TRUE(crypto::verify_chain(
      crypto::Certificate::from_der(read_vector("snp/turin_virtee_vcek.der")).value(), ask, ark,
      sys_days(year{2025} / 6 / 1)));
}

TEST(SnpVerify, AChangedByteBreaksTheSignatureOnly) {
  Evidence e = go_sev_guest();
  auto bytes = std::vector<std::byte>(e.report.raw.begin(), e.report.raw.end());
  bytes[0x090] ^= std::byte{1};  // one bit of the measurement
  const auto tampered = parse_report(bytes).value();
  const VerificationReport r = verify_report(tampered, e.vcek, amd_chain(Product::milan), kAt);
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.first_failure()->name, "report signature");
  EXPECT_NE(r.to_text().find("FAIL report signature"), std::string::npos) << r.to_text();
  EXPECT_TRUE(check_named(r, "certificate chain").passed);
}

TEST(SnpVerify, WrongProductChainFailsProductArkAndChain) {
  Evidence e = go_sev_guest();
  const VerificationReport r = verify_report(e.report, e.vcek, amd_chain(Product::genoa), kAt);
  EXPECT_FALSE(r.passed());
  const Check& product = check_named(r, "product");
  EXPECT_FALSE(product.passed);
  EXPECT_EQ(product.expected, "Genoa");
  EXPECT_EQ(product.actual, "Milan");
  EXPECT_FALSE(check_named(r, "certificate chain").passed);
  EXPECT_TRUE(check_named(r, "ARK").passed);  // the Genoa root is Genoa's
}

TEST(SnpVerify, ExpiredOrNotYetValidVcekFailsTheChain) {
  Evidence e = go_sev_guest();
  const VerificationReport r =
      verify_report(e.report, e.vcek, amd_chain(Product::milan), sys_days(year{2060} / 1 / 1));
  const Check& chain = check_named(r, "certificate chain");
  EXPECT_FALSE(chain.passed);
  EXPECT_NE(chain.actual.find("expired"), std::string::npos) << chain.actual;
}

TEST(SnpVerify, AnotherMachinesVcekFailsChipIdAndTcb) {
  // The virtee VCEK is a different chip with a different TCB.
  Evidence e = go_sev_guest();
  const auto other =
      crypto::Certificate::from_der(read_vector("snp/milan_virtee_vcek.der")).value();
  const VerificationReport r = verify_report(e.report, other, amd_chain(Product::milan), kAt);
  EXPECT_FALSE(check_named(r, "report signature").passed);
  EXPECT_FALSE(check_named(r, "reported TCB").passed);
  EXPECT_FALSE(check_named(r, "chip ID").passed);
  EXPECT_TRUE(check_named(r, "certificate chain").passed);
}

TEST(SnpVerify, ARootNotBuiltInIsRejectedUnlessDevelopment) {
  Evidence e = go_sev_guest();
  TrustedChain swapped = amd_chain(Product::milan);
  swapped.ark = amd_chain(Product::turin).ark;  // any root other than Milan's
  VerificationReport r = verify_report(e.report, e.vcek, swapped, kAt);
  EXPECT_FALSE(check_named(r, "ARK").passed);
  swapped.development = true;
  r = verify_report(e.report, e.vcek, swapped, kAt);
  EXPECT_TRUE(check_named(r, "ARK").passed);
  EXPECT_FALSE(check_named(r, "certificate chain").passed);  // and it does not sign the ASK
}

TEST(SnpVerify, ChainCacheSkipsOnlyWhatItVerified) {
  Evidence e = go_sev_guest();
  ChainCache cache(2);
  const auto& milan = amd_chain(Product::milan);
  VerificationReport first = verify_report(e.report, e.vcek, milan, kAt, &cache);
  EXPECT_EQ(check_named(first, "certificate chain").actual, "verified");
  EXPECT_EQ(cache.size(), 1u);
  VerificationReport second = verify_report(e.report, e.vcek, milan, kAt, &cache);
  EXPECT_TRUE(second.passed());
  EXPECT_EQ(check_named(second, "certificate chain").actual, "verified (cached)");
  // Outside the certificates' validity the cache does not answer.
  VerificationReport late =
      verify_report(e.report, e.vcek, milan, sys_days(year{2060} / 1 / 1), &cache);
  EXPECT_FALSE(check_named(late, "certificate chain").passed);
  // Another chain is not the cached one; failures are not cached.
  VerificationReport genoa =
      verify_report(e.report, e.vcek, amd_chain(Product::genoa), kAt, &cache);
  EXPECT_FALSE(check_named(genoa, "certificate chain").passed);
  EXPECT_EQ(cache.size(), 1u);
  // The signature is checked every time.
  auto bytes = std::vector<std::byte>(e.report.raw.begin(), e.report.raw.end());
  bytes[0x050] ^= std::byte{1};
  VerificationReport tampered =
      verify_report(parse_report(bytes).value(), e.vcek, milan, kAt, &cache);
  EXPECT_EQ(tampered.first_failure()->name, "report signature");
}

// The X25519-bound GCP report: REPORT_DATA = SHA-512(NONCE ‖ X25519_KEY),
// with the values published next to it.
TEST(SnpVerify, ReportDataBindsTheKeyInTheGcpSample) {
  const auto report = parse_report(read_vector("snp/milan_gcp_v5_x25519_bound.bin")).value();
  const std::string text = read_text("snp/milan_gcp_v5_x25519_bound.txt");
  const auto value_of = [&](const std::string& name) {
    const auto at = text.find(name + "=") + name.size() + 1;
    return crypto::from_hex(text.substr(at, 64)).value();
  };
  const auto nonce = value_of("NONCE");
  const auto key = value_of("X25519_KEY");
  EXPECT_EQ(crypto::to_hex(crypto::sha512({nonce, key})), crypto::to_hex(report.report_data));
}

TEST(SnpVerify, BuiltInVlekChainsShareTheArks) {
  for (Product p : {Product::milan, Product::genoa, Product::turin}) {
    const TrustedChain& vlek = amd_vlek_chain(p);
    EXPECT_EQ(vlek.key, SigningKey::vlek);
    EXPECT_EQ(crypto::to_hex(vlek.ark.fingerprint_sha256()), amd_ark_fingerprint(p));
    EXPECT_NE(vlek.ask.subject().find("CN=SEV-VLEK-" + std::string(product_name(p))),
              std::string::npos);
    // The ASVK is signed by the ARK.
    const crypto::Certificate roots[] = {vlek.ark};
    EXPECT_TRUE(crypto::verify_chain(vlek.ask, {}, roots, sys_days(year{2026} / 6 / 1)))
        << product_name(p);
  }
  // A VCEK-signed report against a VLEK chain: the signing key is named.
  Evidence e = go_sev_guest();
  const VerificationReport r = verify_report(e.report, e.vcek, amd_vlek_chain(Product::milan), kAt);
  const Check& key = check_named(r, "signing key");
  EXPECT_FALSE(key.passed);
  EXPECT_EQ(key.expected, "VLEK");
  EXPECT_EQ(key.actual, "VCEK");
}

}  // namespace
}  // namespace cipherline::attest::snp
