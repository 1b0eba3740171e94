// CRLs: parsing DER and PEM, the signature under the issuer, freshness at a
// given time, and whether a certificate is listed — on Intel's real CRLs and
// on a PKI made here; and revocation inside verify_chain.
#include "cipherline/crypto/crl.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/error.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using namespace std::chrono;
using std::chrono::system_clock;

system_clock::time_point date(int y, unsigned m, unsigned d) {
  return sys_days(year(y) / month(m) / day(d));
}

std::span<const std::byte> as_bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

TEST(IntelCrls, RootCrlVerifiesUnderTheRootAndIsFreshInItsWindow) {
  const std::string der = testing::read_vector_file("intel_root_crl.der");
  const Crl crl = Crl::parse(as_bytes(der)).value();
  const Certificate root =
      Certificate::from_pem(testing::read_vector_file("intel_sgx_root_ca.pem")).value();
  EXPECT_NE(crl.issuer().find("CN=Intel SGX Root CA"), std::string::npos) << crl.issuer();
  EXPECT_EQ(crl.this_update(), date(2023, 4, 3) + 10h + 22min + 51s);
  ASSERT_TRUE(crl.next_update());
  EXPECT_EQ(*crl.next_update(), date(2024, 4, 2) + 10h + 22min + 51s);
  EXPECT_EQ(crl.revoked_count(), 0u);
  EXPECT_TRUE(crl.verify(root, date(2023, 10, 1)));

  auto late = crl.verify(root, date(2024, 5, 1));
  ASSERT_FALSE(late);
  EXPECT_EQ(late.error(), errc::crl_invalid);
  EXPECT_NE(late.error().message().find("expired at 2024-04-02T10:22:51Z, checked at 2024-05-01"),
            std::string::npos)
      << late.error().message();
  auto early = crl.check_fresh(date(2023, 1, 1));
  ASSERT_FALSE(early);
  EXPECT_NE(early.error().message().find("not yet valid"), std::string::npos)
      << early.error().message();
  // The root is not revoked by its own CRL (same issuer, serial not listed).
  EXPECT_EQ(crl.is_revoked(root).value(), false);
}

TEST(IntelCrls, PckCrlListsItsSerialsAndIsNotSignedByTheRoot) {
  const std::string der = testing::read_vector_file("intel_pck_platform_crl.der");
  const Crl crl = Crl::from_der(as_bytes(der)).value();
  const Certificate root =
      Certificate::from_pem(testing::read_vector_file("intel_sgx_root_ca.pem")).value();
  EXPECT_EQ(crl.revoked_count(), 44u);
  EXPECT_TRUE(crl.lists_serial(testing::bytes("6fc34e5023e728923435d61aa4b83c618166ad35")));
  EXPECT_TRUE(crl.lists_serial(testing::bytes("006fc34e5023e728923435d61aa4b83c618166ad35")));
  EXPECT_FALSE(crl.lists_serial(testing::bytes("6fc34e5023e728923435d61aa4b83c618166ad36")));

  auto wrong_issuer = crl.verify_signature(root);
  ASSERT_FALSE(wrong_issuer);
  EXPECT_TRUE(wrong_issuer.error().message().starts_with("CRL issuer ("));
  EXPECT_NE(wrong_issuer.error().message().find("CN=Intel SGX PCK Platform CA"), std::string::npos)
      << wrong_issuer.error().message();
  // A certificate of another issuer is an error, not "not revoked".
  auto other = crl.is_revoked(root);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message().find("not by the CRL's issuer"), std::string::npos)
      << other.error().message();
}

TEST(Crls, GarbageAndTrailingBytesAreRejected) {
  const std::byte junk[] = {std::byte{0x30}, std::byte{0x03}, std::byte{0x01}};
  EXPECT_EQ(Crl::parse(junk).error(), errc::crl_invalid);
  EXPECT_EQ(Crl::parse({}).error().message(), "empty CRL");
  std::string der = testing::read_vector_file("intel_root_crl.der");
  der.push_back('\0');
  EXPECT_EQ(Crl::parse(as_bytes(der)).error().message(), "trailing bytes after the DER CRL");
  EXPECT_TRUE(
      Crl::parse(testing::text_bytes("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"))
          .error()
          .message()
          .starts_with("not a PEM CRL"));
}

class MadeHere : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto spec = [&](const char* cn, const PrivateKey& key, std::uint64_t serial, bool ca) {
      return CertificateSpec{.subject = {{"CN", cn}},
                             .public_key = key.public_key(),
                             .not_before = now_ - 24h,
                             .not_after = now_ + 24h,
                             .serial = serial,
                             .ca = ca};
    };
    root_ = issue_certificate(spec("Root", root_key_, 1, true), root_key_, nullptr,
                              Signature::rsa_pss_sha384)
                .value();
    mid_ = issue_certificate(spec("Intermediate", mid_key_, 2, true), root_key_, &*root_,
                             Signature::rsa_pss_sha384)
               .value();
    leaf_ = issue_certificate(spec("Leaf", leaf_key_, 3, false), mid_key_, &*mid_,
                              Signature::ecdsa_sha384)
                .value();
  }

  Crl crl_of(const PrivateKey& key, const Certificate& issuer, std::vector<std::uint64_t> serials,
             Signature signature) {
    return issue_crl({.this_update = now_ - 1h,
                      .next_update = now_ + 1h,
                      .revoked_serials = std::move(serials)},
                     key, issuer, signature)
        .value();
  }

  const system_clock::time_point now_ = system_clock::now();
  const PrivateKey root_key_ = PrivateKey::generate(KeyType::rsa_3072).value();
  const PrivateKey mid_key_ = PrivateKey::generate(KeyType::ec_p384).value();
  const PrivateKey leaf_key_ = PrivateKey::generate(KeyType::ec_p256).value();
  std::optional<Certificate> root_, mid_, leaf_;
};

TEST_F(MadeHere, ListedCertificateIsRevokedAndOthersAreNot) {
  const Crl crl = crl_of(root_key_, *root_, {7, 2}, Signature::rsa_pss_sha384);
  EXPECT_TRUE(crl.verify(*root_, now_));
  EXPECT_EQ(crl.is_revoked(*mid_).value(), true);
  const Crl empty = crl_of(root_key_, *root_, {7}, Signature::rsa_pss_sha384);
  EXPECT_EQ(empty.is_revoked(*mid_).value(), false);
  // PEM round trip.
  const std::string pem = to_pem(crl);
  EXPECT_TRUE(pem.starts_with("-----BEGIN X509 CRL-----")) << pem;
  EXPECT_EQ(Crl::parse(testing::text_bytes(pem)).value().der(), crl.der());
}

TEST_F(MadeHere, SignatureByAnotherKeyUnderTheSameNameFails) {
  const PrivateKey impostor = PrivateKey::generate(KeyType::rsa_3072).value();
  const Crl forged = crl_of(impostor, *root_, {}, Signature::rsa_pss_sha384);
  auto r = forged.verify(*root_, now_);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::crl_invalid);
  EXPECT_NE(r.error().message().find("signature does not verify under CN=Root"), std::string::npos)
      << r.error().message();
}

TEST_F(MadeHere, NoNextUpdateIsNotFresh) {
  const Crl crl =
      issue_crl({.this_update = now_ - 1h}, root_key_, *root_, Signature::rsa_pss_sha384).value();
  EXPECT_FALSE(crl.next_update());
  EXPECT_TRUE(crl.verify_signature(*root_));
  auto r = crl.check_fresh(now_);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("has no nextUpdate"), std::string::npos)
      << r.error().message();
}

TEST_F(MadeHere, VerifyChainWithCrls) {
  const Certificate intermediates[] = {*mid_};
  const Certificate roots[] = {*root_};
  const Crl clean[] = {crl_of(root_key_, *root_, {}, Signature::rsa_pss_sha384),
                       crl_of(mid_key_, *mid_, {}, Signature::ecdsa_sha384)};
  EXPECT_TRUE(verify_chain(*leaf_, intermediates, roots, now_, {.crls = clean}));

  const Crl leaf_revoked[] = {clean[0], crl_of(mid_key_, *mid_, {3}, Signature::ecdsa_sha384)};
  auto r = verify_chain(*leaf_, intermediates, roots, now_, {.crls = leaf_revoked});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("depth 0 (CN=Leaf): certificate revoked"), std::string::npos)
      << r.error().message();

  const Crl mid_revoked[] = {crl_of(root_key_, *root_, {2}, Signature::rsa_pss_sha384), clean[1]};
  r = verify_chain(*leaf_, intermediates, roots, now_, {.crls = mid_revoked});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("depth 1 (CN=Intermediate): certificate revoked"),
            std::string::npos)
      << r.error().message();

  // A missing CRL fails closed.
  const Crl only_root[] = {clean[0]};
  r = verify_chain(*leaf_, intermediates, roots, now_, {.crls = only_root});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("unable to get certificate CRL"), std::string::npos)
      << r.error().message();

  // A CRL past its nextUpdate at the verification time fails.
  r = verify_chain(*leaf_, intermediates, roots, now_ + 2h, {.crls = clean});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("CRL has expired"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace cipherline::crypto
