// TDX evidence as the Contrast Coordinator sends it: real quotes survive the
// go-tdx-guest QuoteV4 protobuf round trip byte for byte (so their
// signatures still verify), and broken messages are named.
#include <gtest/gtest.h>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/contrast/protobuf.hpp"
#include "cipherline/attest/contrast/tdx_evidence.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::contrast {
namespace {

TEST(TdxEvidence, RealVersion4QuotesSurviveTheRoundTrip) {
  for (const char* name : {"tdx/spr_go_tdx_guest_quote.dat", "tdx/cos_go_tdx_guest_quote.dat",
                           "tdx/trustee_v4_quote.dat", "tdx/phala_v4_quote.dat"}) {
    const auto bytes = testing::read_vector(name);
    const tdx::Quote quote = tdx::parse_quote(bytes).value();
    ASSERT_EQ(quote.header.version, 4) << name;
    const auto encoded = encode_tdx_quote_v4(quote);
    const tdx::Quote back = decode_tdx_quote_v4(encoded).value();
    EXPECT_EQ(back.raw, quote.raw) << name;
    EXPECT_EQ(back.pck_chain_pem, quote.pck_chain_pem) << name;
  }
}

TEST(TdxEvidence, BrokenMessagesAreNamed) {
  const auto quote =
      tdx::parse_quote(testing::read_vector("tdx/spr_go_tdx_guest_quote.dat")).value();
  const auto encoded = encode_tdx_quote_v4(quote);
  // Without the body.
  ProtobufWriter no_body;
  ProtobufReader in(encoded, "tdx.QuoteV4");
  while (auto f = in.next().value()) {
    if (f->number == 2) continue;
    if (f->type == WireType::bytes) no_body.bytes(f->number, f->bytes);
    if (f->type == WireType::varint) no_body.varint(f->number, f->varint);
  }
  auto r = decode_tdx_quote_v4(no_body.data());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "tdx.QuoteV4: field 2 (td_quote_body) is missing");
  // The real header and signed data around a broken body.
  std::span<const std::byte> header, signed_data;
  ProtobufReader parts(encoded, "tdx.QuoteV4");
  while (auto f = parts.next().value()) {
    if (f->number == 1) header = f->bytes;
    if (f->number == 4) signed_data = f->bytes;
  }
  // An MRTD one byte short.
  ProtobufWriter body;
  body.bytes(7, std::vector<std::byte>(47));
  ProtobufWriter top;
  top.bytes(1, header).message(2, body).bytes(4, signed_data);
  r = decode_tdx_quote_v4(top.data());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("tdx.TDQuoteBody: field 7"), std::string::npos)
      << r.error().message();
  EXPECT_NE(r.error().message().find("47 bytes, expected 48"), std::string::npos);
  // Five RTMRs where the layout has four.
  ProtobufWriter rtmrs;
  for (int i = 0; i < 5; ++i) rtmrs.bytes(11, std::vector<std::byte>(48));
  ProtobufWriter top2;
  top2.bytes(1, header).message(2, rtmrs).bytes(4, signed_data);
  r = decode_tdx_quote_v4(top2.data());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("repeated more often than the layout allows"),
            std::string::npos)
      << r.error().message();
}

// A real TDX quote as Coordinator evidence: every check holds except the
// REPORT_DATA binding, which only a real Coordinator can produce.
TEST(TdxEvidence, CoordinatorVerificationTakesTheTdxPath) {
  const auto quote = tdx::parse_quote(testing::read_vector("tdx/edgeless_qpl_quote.dat")).value();
  const auto hex = [](std::span<const std::byte> b) { return crypto::to_hex(b); };
  const std::string manifest =
      R"({"Policies":{")" + hex(std::span(quote.body.mr_config_id).first(32)) +
      R"(":{"Role":"coordinator"}},"ReferenceValues":{"tdx":[{"MrTd":")" + hex(quote.body.mr_td) +
      R"(","Rtmrs":[")" + hex(quote.body.rtmrs[0]) + R"(",")" + hex(quote.body.rtmrs[1]) +
      R"(",")" + hex(quote.body.rtmrs[2]) + R"(",")" + hex(quote.body.rtmrs[3]) +
      R"("],"MrSeam":")" + hex(quote.body.mr_seam) + R"(","Xfam":")" + hex(quote.body.xfam) +
      R"("}]}})";
  AttestationDocument doc;
  doc.version = "v1.20.0";
  doc.attestation_type = {1, 3, 9901, 2, 2};
  doc.raw_attestation_doc = encode_tdx_quote_v4(quote);
  const auto m = std::as_bytes(std::span(manifest.data(), manifest.size()));
  doc.manifests = {std::vector<std::byte>(m.begin(), m.end())};
  doc.root_ca_pem = "root";
  doc.mesh_ca_pem = "mesh";
  const std::vector<std::byte> nonce(32, std::byte{9});
  CoordinatorTrust trust;
  trust.expected_manifest = doc.manifests[0];
  trust.now = std::chrono::sys_days(std::chrono::year{2024} / 6 / 1);
  const auto v = verify_coordinator(write_attestation_document(doc), nonce, trust);
  std::vector<std::string> failed;
  for (const Check& c : v.report.checks()) {
    if (!c.passed) failed.push_back(c.name);
  }
  EXPECT_EQ(failed, std::vector<std::string>{"tdx[0]: report data"}) << v.report.to_text();
  EXPECT_NE(v.report.find_claim("tdx[0]: MRTD"), nullptr);

  // A manifest without TDX entries cannot accept TDX evidence.
  const std::string snp_only = R"({"Policies":{")" + std::string(64, 'a') +
                               R"(":{"Role":"coordinator"}},"ReferenceValues":{"snp":[]}})";
  trust.expected_manifest.assign(std::as_bytes(std::span(snp_only.data(), snp_only.size())).begin(),
                                 std::as_bytes(std::span(snp_only.data(), snp_only.size())).end());
  const auto none = verify_coordinator(write_attestation_document(doc), nonce, trust);
  ASSERT_NE(none.report.first_failure(), nullptr);
}

}  // namespace
}  // namespace cipherline::attest::contrast
