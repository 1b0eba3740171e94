// SEV-SNP reference values: Contrast's ID-key digest known answers, the
// policy encoding, and each reference check passing on a real report and
// failing, by name, when the reference disagrees.
#include "cipherline/attest/snp/reference_values.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/ecdsa_recovery.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha512.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::snp {
namespace {

std::array<std::byte, 48> counting_measurement() {  // 01 02 … 30
  std::array<std::byte, 48> m{};
  for (std::size_t i = 0; i < m.size(); ++i) m[i] = static_cast<std::byte>(i + 1);
  return m;
}

TEST(SnpIdBlock, ContrastIdKeyDigestKnownAnswers) {
  const auto m = counting_measurement();
  EXPECT_EQ(crypto::to_hex(contrast_id_key_digest(m, 0x2030000)),
            "0904c1ac37e2399a216aacea6f4a15e82817dd0ec0018d39bb3356ab1e30e5c2"
            "bdb366f4e897f132c0ffe7c7e581c8ea");
  EXPECT_EQ(crypto::to_hex(contrast_id_key_digest(m, 0x30000)),
            "509a5e09cffe0f5dd47d401e719f2d1b72a5e5bd8f3a92ffd9b3a436c3f46110"
            "2b2e8ed95579e467e112f98a5adea4d3");
}

TEST(SnpIdBlock, RecoveredIdKeyKnownAnswer) {
  // The ID block for the counting measurement and policy 0x2030000; the key
  // recovered from (r, s) = (2, 1) is the smaller of the two candidates.
  std::array<std::byte, 0x60> block{};
  const auto m = counting_measurement();
  std::copy(m.begin(), m.end(), block.begin());
  block[0x30] = std::byte{1};
  block[0x40] = std::byte{2};
  block[0x50] = std::byte{1};
  block[0x54] = std::byte{2};
  block[0x58 + 2] = std::byte{0x03};
  block[0x58 + 3] = std::byte{0x02};
  const std::byte r[] = {std::byte{2}};
  const std::byte s[] = {std::byte{1}};
  auto keys =
      crypto::recover_ecdsa_public_keys(crypto::Curve::p384, crypto::sha384(block), r, s).value();
  ASSERT_EQ(keys.size(), 2u);
  const auto& smaller = std::min(keys[0], keys[1]);
  EXPECT_EQ(crypto::to_hex(smaller),
            "47c737de36e280dd5af8633cda5ac50f9dc84d37ff0ee21b23772c51847fa214"
            "1e3bed33233b314f1611376aeeb4d015"
            "227e03e7cf03be9081cf282380572866990789d826c28db102115f153bd7613f"
            "03b5e082401a48920a0b1700d911d699");
}

TEST(SnpPolicy, EncodingMatchesDecoding) {
  GuestPolicy privatemode;
  privatemode.smt = true;
  privatemode.page_swap_disable = true;
  EXPECT_EQ(encode_policy(privatemode), 0x2030000u);
  GuestPolicy all = decode_policy(0x3ff1f05).value();
  EXPECT_EQ(encode_policy(all), 0x3ff1f05u);
}

// A reference that matches the go-sev-guest report exactly (it has no ID
// block, so none is required).
struct Fixture {
  AttestationReport report =
      parse_report(testing::read_vector("snp/milan_go_sev_guest_report.bin")).value();
  ReferenceValues ref = [this] {
    ReferenceValues r;
    r.product = Product::milan;
    r.trusted_measurement = report.measurement;
    r.minimum_tcb = decode_tcb(report.reported_tcb, Product::milan);
    r.guest_policy = decode_policy(report.policy).value();
    r.platform_info.smt_enabled = (report.platform_info & 1) != 0;
    r.platform_info.tsme_enabled = (report.platform_info & 2) != 0;
    r.require_id_block = false;
    r.host_data = report.host_data;
    r.report_data = report.report_data;
    return r;
  }();

  VerificationReport run() const {
    VerificationReport out("reference values");
    check_reference_values(report, ref, out);
    return out;
  }
};

const Check& named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name));
}

TEST(SnpReference, MatchingReferencePasses) {
  const Fixture f;
  const VerificationReport r = f.run();
  EXPECT_TRUE(r.passed()) << r.to_text();
  EXPECT_EQ(r.checks().size(), 12u) << r.to_text();
}

TEST(SnpReference, EachDisagreementFailsItsCheck) {
  {
    Fixture f;
    f.ref.trusted_measurement[0] ^= std::byte{1};
    EXPECT_FALSE(named(f.run(), "measurement").passed);
  }
  {
    Fixture f;  // the report launched with DEBUG set
    f.ref.guest_policy.debug = false;
    const VerificationReport r = f.run();
    const Check& c = named(r, "guest policy");
    EXPECT_FALSE(c.passed);
    EXPECT_NE(c.actual.find("DEBUG set but not allowed"), std::string::npos) << c.actual;
  }
  {
    Fixture f;
    f.ref.guest_policy.page_swap_disable = true;
    const VerificationReport r = f.run();
    const Check& c = named(r, "guest policy");
    EXPECT_NE(c.actual.find("PAGE_SWAP_DISABLE required but clear"), std::string::npos);
  }
  {
    Fixture f;
    f.ref.minimum_tcb.snp += 1;
    const VerificationReport r = f.run();
    EXPECT_FALSE(named(r, "minimum TCB (reported)").passed);
    EXPECT_FALSE(named(r, "minimum TCB (launch)").passed);
  }
  {
    Fixture f;
    f.ref.platform_info.ecc_enabled = !((f.report.platform_info >> 2) & 1);
    f.ref.platform_info.smt_enabled = false;
    EXPECT_FALSE(named(f.run(), "platform info").passed);
  }
  {
    Fixture f;  // a v2 report has no mitigation vectors: not checked (as Contrast), and said so
    f.ref.minimum_mitigation_vector = 1;
    const VerificationReport r = f.run();
    const Check& c = named(r, "mitigation vectors");
    EXPECT_TRUE(c.passed);
    EXPECT_EQ(c.actual, "none in a version 2 report");
  }
  {
    Fixture f;
    f.ref.require_id_block = true;  // the report has no ID block
    EXPECT_FALSE(named(f.run(), "ID key digest").passed);
  }
  {
    Fixture f;
    f.ref.allowed_chip_ids = {std::array<std::byte, 64>{}};
    EXPECT_FALSE(named(f.run(), "chip ID allow-list").passed);
    f.ref.allowed_chip_ids.push_back(f.report.chip_id);
    EXPECT_TRUE(named(f.run(), "chip ID allow-list").passed);
  }
  {
    Fixture f;
    (*f.ref.host_data)[31] ^= std::byte{0x80};
    (*f.ref.report_data)[0] ^= std::byte{0x80};
    const VerificationReport r = f.run();
    EXPECT_FALSE(named(r, "host data").passed);
    EXPECT_FALSE(named(r, "report data").passed);
    EXPECT_EQ(r.first_failure()->name, "host data");
  }
}

}  // namespace
}  // namespace cipherline::attest::snp
