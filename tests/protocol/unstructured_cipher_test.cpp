// The unstructured walk (spec §5.6, §4.3): a top-level array's elements are
// one message each in string order of their indices (0, 1, 10, 11, 2, …),
// an object's fields all sealed; invalid input and tampered elements are
// refused naming the element.
#include "cipherline/protocol/unstructured_cipher.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace cipherline::protocol {
namespace {

using ::testing::HasSubstr;

std::shared_ptr<const InferenceSecret> make_secret() {
  const auto key = crypto::SecretBytes::random(32);
  return std::make_shared<const InferenceSecret>("unstructured-secret", key.bytes());
}

// Twelve elements of different kinds, with brackets and commas in strings.
std::string twelve_elements() {
  std::string json = "[ ";
  for (int i = 0; i < 12; ++i) {
    if (i > 0) json += ", ";
    switch (i % 4) {
      case 0:
        json += R"({"type":"Title","text":"e)" + std::to_string(i) + R"( ], {"})";
        break;
      case 1:
        json += "[1, [2, 3]]";
        break;
      case 2:
        json += R"("str\"ing)" + std::to_string(i) + "\"";
        break;
      default:
        json += std::to_string(i);
    }
  }
  return json + " ]\n";
}

// The exchange: the client seals the request body, the server opens it.
struct Exchange {
  std::shared_ptr<const InferenceSecret> secret = make_secret();
  RequestCipher client{secret};
  ResponseCipher server{secret};
  Exchange() {
    std::string sealed;
    client.seal("the document", sealed).value();
    std::string opened;
    server.open(sealed, opened).value();
  }
  FieldTransform seal() {
    return [this](std::string_view v, std::string& out) { return server.seal(v, out); };
  }
  FieldTransform open() {
    return [this](std::string_view v, std::string& out) { return client.open(v, out); };
  }
};

std::vector<std::string> split_top_level(std::string_view json) {
  // The sealed array holds only quoted fields without commas in them.
  std::vector<std::string> out;
  std::size_t at = json.find('"');
  while (at != std::string_view::npos) {
    const std::size_t end = json.find('"', at + 1);
    out.emplace_back(json.substr(at, end - at + 1));
    at = json.find('"', end + 1);
  }
  return out;
}

TEST(UnstructuredCipher, ArrayElementsInStringOrderOfTheirIndices) {
  Exchange x;
  const std::string json = twelve_elements();
  std::string sealed;
  ASSERT_TRUE(seal_json_values(json, x.seal(), sealed));
  EXPECT_TRUE(sealed.starts_with("[ \"unstructured-secret:"));
  EXPECT_TRUE(sealed.ends_with("\" ]\n"));
  const auto fields = split_top_level(sealed);
  ASSERT_EQ(fields.size(), 12u);
  // Element i was sealed with the sequence number of "i" among the sorted
  // index strings: 0, 1, 10, 11, 2, 3, …, 9.
  const std::uint32_t expected_sequence[] = {0, 1, 4, 5, 6, 7, 8, 9, 10, 11, 2, 3};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    auto field = parse_field(fields[i]).value();
    std::string plain;
    EXPECT_TRUE(open_field(x.secret->aead(), field, x.client.nonce(), expected_sequence[i], plain))
        << "element " << i;
  }
  std::string opened;
  auto r = open_json_values(sealed, x.open(), opened);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(opened, json);
}

TEST(UnstructuredCipher, AnObjectHasEveryFieldSealed) {
  Exchange x;
  const std::string json = R"({"id":"x","usage":{"n":1},"error":{"message":"no text"}})";
  std::string sealed;
  ASSERT_TRUE(seal_json_values(json, x.seal(), sealed));
  EXPECT_EQ(sealed.find("no text"), std::string::npos);
  EXPECT_EQ(sealed.find("\"n\""), std::string::npos) << "usage is not plaintext here";
  std::string opened;
  ASSERT_TRUE(open_json_values(sealed, x.open(), opened));
  EXPECT_EQ(opened, json);
}

TEST(UnstructuredCipher, AnEmptyArraySealsNothing) {
  Exchange x;
  std::string sealed;
  ASSERT_TRUE(seal_json_values("[]", x.seal(), sealed));
  EXPECT_EQ(sealed, "[]");
}

TEST(UnstructuredCipher, RefusesWhatIsNotAnArrayOrObject) {
  Exchange x;
  std::string out = "kept";
  for (const std::string_view bad : {"\"text\"", "12", "[1,", "text/csv,a,b"}) {
    auto r = seal_json_values(bad, x.seal(), out);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), crypto::errc::invalid_json) << bad;
  }
  EXPECT_EQ(out, "kept");
  auto scalar = seal_json_values("true", x.seal(), out);
  EXPECT_THAT(scalar.error().message(), HasSubstr("must be an array or an object"));
}

TEST(UnstructuredCipher, OpeningRefusesPlainAndTamperedElementsNamingThem) {
  Exchange x;
  std::string out;
  auto plain = open_json_values(R"(["x", {"a":1}])", x.open(), out);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error(), crypto::errc::malformed_field);
  EXPECT_THAT(plain.error().message(), HasSubstr("element 1"));

  std::string sealed;
  ASSERT_TRUE(seal_json_values(twelve_elements(), x.seal(), sealed));
  // Swap elements 1 and 10: each fails authentication at its own position.
  auto fields = split_top_level(sealed);
  std::swap(fields[1], fields[10]);
  std::string swapped = "[";
  for (std::size_t i = 0; i < fields.size(); ++i) swapped += (i ? "," : "") + fields[i];
  swapped += "]";
  std::string opened = "kept";
  auto r = open_json_values(swapped, x.open(), opened);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), crypto::errc::authentication_failed);
  EXPECT_THAT(r.error().message(), HasSubstr("element 1:"));
  EXPECT_EQ(opened, "kept");
}

}  // namespace
}  // namespace cipherline::protocol
