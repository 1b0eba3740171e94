// The development attestation agent: GPU evidence verified, and the plain
// statement that no OCSP responder was asked — in the report and in the
// status file the worker is activated with.
#include "cipherline/backend/attestation_agent.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace cipherline::backend {
namespace {

TEST(AttestationAgent, SaysOcspWasNotCheckedInTheReportAndTheStatusFile) {
  const auto now = std::chrono::system_clock::now();
  const auto pki = attest::sim::DevelopmentGpuPki::generate(now).value();
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cipherline-agent-test-" + std::to_string(::getpid()));
  AttestationAgent agent({.trusted_root = pki.trusted_root(),
                          .reference = development_gpu_reference(),
                          .status_dir = dir});
  const auto nonce = AttestationAgent::fresh_nonce();
  const auto report = attest::sim::issue_gpu_report(pki, {}, nonce).value();
  std::vector<GpuOcspStatus> statuses;
  const auto verified =
      agent.verify("w1", {{report, pki.certificate_chain(), {}}}, nonce, statuses);
  ASSERT_TRUE(verified.passed()) << verified.to_text();
  ASSERT_NE(verified.find_claim("OCSP"), nullptr) << verified.to_text();
  EXPECT_TRUE(verified.find_claim("OCSP")->starts_with("not checked"))
      << *verified.find_claim("OCSP");

  std::ifstream in(dir / "w1.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_NE(text.str().find("\"OCSPChecked\":false"), std::string::npos) << text.str();
  EXPECT_NE(text.str().find("not checked: no OCSP responder was asked"), std::string::npos);
  // The file still reads back (Privatemode's fields are unchanged).
  EXPECT_EQ(parse_ocsp_status_json(text.str()).value().size(), 1u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cipherline::backend
