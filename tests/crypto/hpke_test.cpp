// HPKE base mode, export-only: RFC 9180 A.7.1 (DHKEM X25519), sender and
// recipient round trips for both KEMs, and rejected inputs.
#include "cipherline/crypto/hpke.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/xwing.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using testing::bytes;

class Rfc9180ExportOnly : public ::testing::Test {
 protected:
  void SetUp() override {
    json_ = simdjson::padded_string(testing::read_vector_file("rfc9180_export_only.json"));
    doc_ = parser_.parse(json_);
  }
  std::vector<std::byte> field(const char* name) {
    return bytes(std::string_view(doc_[name].get_string()));
  }

  simdjson::padded_string json_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
};

TEST_F(Rfc9180ExportOnly, DeriveKeyPair) {
  const X25519KeyPair r = dhkem_x25519_derive_key_pair(field("ikmR"));
  EXPECT_EQ(to_hex(r.private_key.bytes()), to_hex(field("skRm")));
  EXPECT_EQ(r.public_key, field("pkRm"));
  const X25519KeyPair e = dhkem_x25519_derive_key_pair(field("ikmE"));
  EXPECT_EQ(to_hex(e.private_key.bytes()), to_hex(field("skEm")));
  EXPECT_EQ(e.public_key, field("pkEm"));
}

TEST_F(Rfc9180ExportOnly, SenderAndRecipientExport) {
  const auto info = field("info");
  auto sender =
      hpke_setup_sender_derand(HpkeKem::dhkem_x25519_sha256, field("pkRm"), info, field("ikmE"))
          .value();
  EXPECT_EQ(sender.enc, field("enc"));
  EXPECT_EQ(to_hex(sender.context.exporter_secret().bytes()), to_hex(field("exporter_secret")));
  auto recipient =
      hpke_setup_recipient(HpkeKem::dhkem_x25519_sha256, field("enc"), field("skRm"), info).value();
  for (simdjson::dom::element e : doc_["exports"].get_array()) {
    const auto context = bytes(std::string_view(e["context"].get_string()));
    const auto length = static_cast<std::size_t>(std::uint64_t(e["length"].get_uint64()));
    const std::string expected(std::string_view(e["value"].get_string()));
    EXPECT_EQ(to_hex(sender.context.export_secret(context, length).bytes()), expected);
    EXPECT_EQ(to_hex(recipient.export_secret(context, length).bytes()), expected);
  }
}

TEST(Hpke, DhkemRoundTripWithRandomEphemeral) {
  const auto r = dhkem_x25519_derive_key_pair(bytes("01"));
  auto s1 = hpke_setup_sender(HpkeKem::dhkem_x25519_sha256, r.public_key, {}).value();
  auto s2 = hpke_setup_sender(HpkeKem::dhkem_x25519_sha256, r.public_key, {}).value();
  EXPECT_NE(s1.enc, s2.enc);
  auto ctx =
      hpke_setup_recipient(HpkeKem::dhkem_x25519_sha256, s1.enc, r.private_key.bytes(), {}).value();
  EXPECT_TRUE(ctx.export_secret({}, 32) == s1.context.export_secret({}, 32));
  EXPECT_FALSE(ctx.export_secret({}, 32) == s2.context.export_secret({}, 32));
}

TEST(Hpke, DhkemRejectsLowOrderPoints) {
  const auto r = dhkem_x25519_derive_key_pair(bytes("02"));
  const std::vector<std::byte> zero_point(32);
  auto s = hpke_setup_sender(HpkeKem::dhkem_x25519_sha256, zero_point, {});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), errc::invalid_public_key);
  auto c =
      hpke_setup_recipient(HpkeKem::dhkem_x25519_sha256, zero_point, r.private_key.bytes(), {});
  EXPECT_EQ(c.error(), errc::invalid_public_key);
}

TEST(Hpke, XWingRoundTripAndInfoBinding) {
  const XWingKeyPair kp = xwing_generate();
  auto sender = hpke_setup_sender(HpkeKem::xwing, kp.public_key, testing::text_bytes("a")).value();
  EXPECT_EQ(sender.enc.size(), kXWingEncapsulatedKeySize);
  auto same =
      hpke_setup_recipient(HpkeKem::xwing, sender.enc, kp.seed.bytes(), testing::text_bytes("a"))
          .value();
  auto other_info =
      hpke_setup_recipient(HpkeKem::xwing, sender.enc, kp.seed.bytes(), testing::text_bytes("b"))
          .value();
  const SecretBytes key = sender.context.export_secret({}, 32);
  EXPECT_TRUE(same.export_secret({}, 32) == key);
  EXPECT_FALSE(other_info.export_secret({}, 32) == key);
  EXPECT_FALSE(same.export_secret(testing::text_bytes("ctx"), 32) == key);
}

TEST(Hpke, WrongSizesAreNamed) {
  auto r = hpke_setup_sender(HpkeKem::xwing, std::vector<std::byte>(1215), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::invalid_length);
  EXPECT_EQ(r.error().message(), "X-Wing public key must be 1216 bytes, got 1215");
  auto c = hpke_setup_recipient(HpkeKem::dhkem_x25519_sha256, std::vector<std::byte>(31),
                                std::vector<std::byte>(32), {});
  EXPECT_EQ(c.error().message(), "DHKEM encapsulated key must be 32 bytes, got 31");
}

}  // namespace
}  // namespace cipherline::crypto
