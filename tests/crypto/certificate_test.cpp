// X.509: parsing, chain verification at a given time against given roots,
// and the reasons a chain fails — on AMD's real SEV certificates (RSA-PSS)
// and on certificates made here.
#include "cipherline/crypto/certificate.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "test_bytes.hpp"
#include "test_keys.hpp"

namespace cipherline::crypto {
namespace {

using namespace std::chrono;
using std::chrono::system_clock;

system_clock::time_point date(int y, unsigned m, unsigned d) {
  return sys_days(year(y) / month(m) / day(d));
}

class AmdChain : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string der = testing::read_vector_file("milan_vcek.der");
    vcek_ = Certificate::from_der(std::as_bytes(std::span(der))).value();
    milan_ = Certificate::all_from_pem(testing::read_vector_file("ask_ark_milan.pem")).value();
    genoa_ = Certificate::all_from_pem(testing::read_vector_file("ask_ark_genoa.pem")).value();
  }
  std::optional<Certificate> vcek_;
  std::vector<Certificate> milan_, genoa_;
};

TEST_F(AmdChain, ParsesNamesTimesAndKeys) {
  ASSERT_EQ(milan_.size(), 2u);
  EXPECT_NE(vcek_->subject().find("CN=SEV-VCEK"), std::string::npos) << vcek_->subject();
  EXPECT_NE(vcek_->issuer().find("CN=SEV-Milan"), std::string::npos) << vcek_->issuer();
  EXPECT_NE(milan_[1].subject().find("CN=ARK-Milan"), std::string::npos);
  EXPECT_EQ(vcek_->public_key()->type(), PublicKey::Type::ec_p384);
  EXPECT_EQ(milan_[1].public_key()->type(), PublicKey::Type::rsa);
  EXPECT_EQ(vcek_->not_before(), date(2022, 9, 24) + 55min + 28s);
  EXPECT_EQ(vcek_->not_after(), date(2029, 9, 24) + 55min + 28s);
  // ARK-Milan's published SHA-256 fingerprint starts 69:D0:63:B4 and ends 0B:CD.
  const std::string fp = to_hex(milan_[1].fingerprint_sha256());
  EXPECT_TRUE(fp.starts_with("69d063b4")) << fp;
  EXPECT_TRUE(fp.ends_with("0bcd")) << fp;
}

TEST_F(AmdChain, VerifiesToTheArkAtAGivenTime) {
  const Certificate ask[] = {milan_[0]};
  const Certificate ark[] = {milan_[1]};
  EXPECT_TRUE(verify_chain(*vcek_, ask, ark, date(2024, 1, 1)));
}

TEST_F(AmdChain, ExpiredAtALaterTime) {
  const Certificate ask[] = {milan_[0]};
  const Certificate ark[] = {milan_[1]};
  auto r = verify_chain(*vcek_, ask, ark, date(2031, 1, 1));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::certificate_invalid);
  EXPECT_NE(r.error().message().find("certificate has expired"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("depth 0"), std::string::npos) << r.error().message();
}

TEST_F(AmdChain, WrongRootIsAnUnknownCa) {
  const Certificate ask[] = {milan_[0]};
  const Certificate genoa_ark[] = {genoa_[1]};
  auto r = verify_chain(*vcek_, ask, genoa_ark, date(2024, 1, 1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unable to get"), std::string::npos) << r.error().message();
}

TEST_F(AmdChain, MissingIntermediateFails) {
  const Certificate ark[] = {milan_[1]};
  EXPECT_FALSE(verify_chain(*vcek_, {}, ark, date(2024, 1, 1)));
}

TEST_F(AmdChain, ExtensionsByOid) {
  // AMD's VCEK carries the TCB and hardware ID as extensions under 1.3.6.1.4.1.3704.1.
  EXPECT_TRUE(vcek_->extension("1.3.6.1.4.1.3704.1.4").has_value());  // hwID
  EXPECT_FALSE(vcek_->extension("1.2.3.4.5").has_value());
}

TEST(Certificates, MadeHere) {
  const auto now = system_clock::now();
  const auto root_key = testing::make_ec_key("P-384");
  const auto leaf_key = testing::make_ec_key("P-256");
  const Certificate root = testing::make_certificate("Test Root", root_key, root_key, nullptr, true,
                                                     now - 24h, now + 24h);
  const Certificate leaf = testing::make_certificate("mesh leaf", leaf_key, root_key, root.native(),
                                                     false, now - 1h, now + 1h);
  const Certificate roots[] = {root};
  EXPECT_TRUE(verify_chain(leaf, {}, roots, now));
  EXPECT_EQ(leaf.public_key()->type(), PublicKey::Type::ec_p256);

  auto expired = verify_chain(leaf, {}, roots, now + 2h);
  ASSERT_FALSE(expired);
  EXPECT_NE(expired.error().message().find(
                "certificate at depth 0 (CN=mesh leaf): certificate has expired"),
            std::string::npos)
      << expired.error().message();

  auto early = verify_chain(leaf, {}, roots, now - 2h);
  EXPECT_NE(early.error().message().find("not yet valid"), std::string::npos)
      << early.error().message();

  const auto other_key = testing::make_ec_key("P-384");
  const Certificate other_root = testing::make_certificate("Other Root", other_key, other_key,
                                                           nullptr, true, now - 24h, now + 24h);
  const Certificate other[] = {other_root};
  auto unknown = verify_chain(leaf, {}, other, now);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message().find("unable to get local issuer certificate"),
            std::string::npos)
      << unknown.error().message();

  EXPECT_EQ(verify_chain(leaf, {}, {}, now).error().message(), "no trusted root certificate given");
}

TEST(Certificates, UnsupportedKeyIsAnErrorNotACrash) {
  const auto signer = testing::make_ec_key("P-384");
  const Certificate odd = testing::certificate_with_unknown_key("odd key", signer.get());
  EXPECT_EQ(odd.subject(), "CN=odd key");
  auto key = odd.public_key();
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error(), errc::invalid_public_key);
  EXPECT_NE(key.error().message().find("CN=odd key has a public key OpenSSL cannot use "
                                       "(algorithm 1.3.6.1.4.1.55555.1)"),
            std::string::npos)
      << key.error().message();
}

TEST(Certificates, TheChainOfAnUnusableKeyFailsSayingSo) {
  // Issued by a genuine root, but OpenSSL cannot decode the key it
  // certifies: the chain fails, and the reason names the key, not only
  // OpenSSL's "unspecified certificate verification error".
  const auto now = system_clock::now();
  const auto root_key = testing::make_ec_key("P-384");
  const Certificate root = testing::make_certificate("Test Root", root_key, root_key, nullptr, true,
                                                     now - 24h, now + 24h);
  const Certificate odd =
      testing::certificate_with_unknown_key("odd key", root_key.get(), root.native());
  EXPECT_EQ(odd.issuer(), "CN=Test Root");
  const Certificate roots[] = {root};
  auto chained = verify_chain(odd, {}, roots, now);
  ASSERT_FALSE(chained);
  EXPECT_EQ(chained.error(), errc::certificate_invalid);
  EXPECT_NE(chained.error().message().find("certificate at depth 0 (CN=odd key): "),
            std::string::npos)
      << chained.error().message();
  EXPECT_NE(chained.error().message().find(
                "its public key is one OpenSSL cannot use (algorithm 1.3.6.1.4.1.55555.1)"),
            std::string::npos)
      << chained.error().message();
}

TEST(Certificates, GarbageIsRejected) {
  const std::byte junk[] = {std::byte{0x30}, std::byte{0x03}, std::byte{0x01}};
  EXPECT_EQ(Certificate::from_der(junk).error(), errc::certificate_invalid);
  EXPECT_TRUE(Certificate::from_pem("not a certificate")
                  .error()
                  .message()
                  .starts_with("no PEM certificate"));
}

}  // namespace
}  // namespace cipherline::crypto
