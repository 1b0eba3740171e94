// VerificationReport: pass/fail logic and its text and JSON forms.
#include "cipherline/attest/verification_report.hpp"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace cipherline::attest {
namespace {

TEST(VerificationReport, EmptyNeverPasses) {
  VerificationReport r("evidence");
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.first_failure(), nullptr);
}

TEST(VerificationReport, OneFailureFailsTheReport) {
  VerificationReport r("evidence");
  EXPECT_TRUE(r.check_equal("VMPL", "0", "0"));
  EXPECT_TRUE(r.passed());
  EXPECT_FALSE(r.check("debug", "off", "on", false));
  EXPECT_FALSE(r.passed());
  EXPECT_EQ(r.first_failure()->name, "debug");
  r.claim("measurement", "abcd");
  EXPECT_EQ(*r.find_claim("measurement"), "abcd");
  EXPECT_EQ(r.find_claim("nothing"), nullptr);
  EXPECT_EQ(r.to_text(),
            "evidence: NOT verified\n"
            "  PASS VMPL: 0\n"
            "  FAIL debug: expected off, got on\n"
            "  claims:\n"
            "    measurement: abcd\n");
}

TEST(VerificationReport, JsonRoundTrips) {
  VerificationReport r("SNP \"report\"");
  r.check("signature", "valid", "valid", true);
  r.claim("report data", "00ff");
  VerificationReport nested("GPU");
  nested.check("nonce", "aa", "bb", false);
  r.merge(nested, "gpu: ");
  const std::string json = r.to_json();
  simdjson::dom::parser parser;
  const simdjson::dom::element doc = parser.parse(json);
  EXPECT_EQ(std::string_view(doc["subject"]), "SNP \"report\"");
  EXPECT_FALSE(bool(doc["passed"]));
  const simdjson::dom::array checks = doc["checks"];
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(std::string_view(checks.at(1)["name"]), "gpu: nonce");
  EXPECT_EQ(std::string_view(checks.at(1)["actual"]), "bb");
  EXPECT_EQ(std::string_view(doc["claims"]["report data"]), "00ff");
}

}  // namespace
}  // namespace cipherline::attest
