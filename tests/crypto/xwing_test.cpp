// X-Wing: the known answers in vectors/xwing_hpke_export.json (made with an
// independent implementation), sizes, round trips, tampering.
#include "cipherline/crypto/xwing.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/hpke.hpp"
#include "test_bytes.hpp"

namespace cipherline::crypto {
namespace {

using testing::bytes;

TEST(XWing, KnownAnswersFromAnIndependentImplementation) {
  const auto json = simdjson::padded_string(testing::read_vector_file("xwing_hpke_export.json"));
  simdjson::dom::parser parser;
  int checked = 0;
  for (simdjson::dom::element v : parser.parse(json).get_array()) {
    ASSERT_EQ(std::string_view(v["kem_id"].get_string()), "0x647a");
    const auto seed = bytes(std::string_view(v["seed"].get_string()));
    const auto public_key = from_base64(std::string_view(v["public_key_b64"].get_string())).value();
    const auto enc = from_base64(std::string_view(v["enc_b64"].get_string())).value();
    const auto context = bytes(std::string_view(v["exporter_context_hex"].get_string()));
    const auto length = static_cast<std::size_t>(std::uint64_t(v["length"].get_uint64()));
    const std::string expected(std::string_view(v["exported_secret_hex"].get_string()));
    const auto info = bytes(std::string_view(v["info"].get_string()));

    EXPECT_EQ(xwing_public_key(seed).value(), public_key) << checked;
    auto ctx = hpke_setup_recipient(HpkeKem::xwing, enc, seed, info).value();
    EXPECT_EQ(to_hex(ctx.export_secret(context, length).bytes()), expected) << checked;
    ++checked;
  }
  EXPECT_EQ(checked, 4);
}

TEST(XWing, SizesMatchTheSpecification) {
  const XWingKeyPair kp = xwing_generate();
  EXPECT_EQ(kp.seed.size(), 32u);
  EXPECT_EQ(kp.public_key.size(), 1216u);
  auto e = xwing_encapsulate(kp.public_key).value();
  EXPECT_EQ(e.encapsulated_key.size(), 1120u);
  EXPECT_EQ(e.shared_secret.size(), 32u);
}

TEST(XWing, EncapsulateDecapsulateAgree) {
  for (int i = 0; i < 5; ++i) {
    const XWingKeyPair kp = xwing_generate();
    auto e = xwing_encapsulate(kp.public_key).value();
    EXPECT_TRUE(xwing_decapsulate(e.encapsulated_key, kp.seed.bytes()).value() == e.shared_secret);
  }
}

TEST(XWing, DerandomizedEncapsulationIsDeterministic) {
  const auto seed = bytes("01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3da");
  const auto pk = xwing_public_key(seed).value();
  const std::vector<std::byte> eseed(64, std::byte{7});
  auto a = xwing_encapsulate_derand(pk, eseed).value();
  auto b = xwing_encapsulate_derand(pk, eseed).value();
  EXPECT_EQ(a.encapsulated_key, b.encapsulated_key);
  EXPECT_TRUE(a.shared_secret == b.shared_secret);
  EXPECT_TRUE(xwing_decapsulate(a.encapsulated_key, seed).value() == a.shared_secret);
}

TEST(XWing, TamperedEncapsulationGivesAnotherSecret) {
  const XWingKeyPair kp = xwing_generate();
  auto e = xwing_encapsulate(kp.public_key).value();
  for (std::size_t at : {std::size_t{0}, std::size_t{500}, std::size_t{1087}, std::size_t{1088},
                         std::size_t{1119}}) {
    auto tampered = e.encapsulated_key;
    tampered[at] ^= std::byte{1};
    auto s = xwing_decapsulate(tampered, kp.seed.bytes());
    ASSERT_TRUE(s);  // ML-KEM rejects implicitly
    EXPECT_FALSE(*s == e.shared_secret) << at;
  }
}

TEST(XWing, WrongSizesAreNamed) {
  EXPECT_EQ(xwing_public_key(std::vector<std::byte>(31)).error().message(),
            "X-Wing seed must be 32 bytes, got 31");
  EXPECT_EQ(xwing_decapsulate(std::vector<std::byte>(1121), std::vector<std::byte>(32)).error(),
            errc::invalid_length);
  EXPECT_EQ(xwing_encapsulate(std::vector<std::byte>(1184)).error(), errc::invalid_length);
}

}  // namespace
}  // namespace cipherline::crypto
