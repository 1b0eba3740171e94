// The Contrast Coordinator's attestation document: REPORT_DATA known
// answers, the document's JSON both ways, and the SNP evidence protobuf
// rebuilt into a report whose signature still verifies.
#include <gtest/gtest.h>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/protobuf.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/crypto/hex.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::contrast {
namespace {

std::vector<std::byte> text_bytes(std::string_view s) {
  const auto b = std::as_bytes(std::span(s.data(), s.size()));
  return {b.begin(), b.end()};
}

TEST(ReportData, SpecKnownAnswers) {
  std::vector<std::byte> nonce(32);
  for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::byte>(i);
  const std::vector<std::vector<std::byte>> manifests = {
      text_bytes(R"({"Policies":{},"ReferenceValues":{}})"),
      text_bytes(R"({"Policies":{"aa":{}}})")};
  EXPECT_EQ(crypto::to_hex(transition_hash(std::span(manifests).first(1))),
            "57e3065c6f854b52120e4e8c2fbef91983bc3ada7deae453bce67c9607f6b2cb");
  EXPECT_EQ(crypto::to_hex(transition_hash(manifests)),
            "0b64eb2e28160abbcdc8a0f69b7dbe2d53220eae7860b07a185a9f20bd218bc9");
  const std::string root = "-----BEGIN CERTIFICATE-----\nROOT\n-----END CERTIFICATE-----\n";
  const std::string mesh = "-----BEGIN CERTIFICATE-----\nMESH\n-----END CERTIFICATE-----\n";
  const std::string zeros(64, '0');
  EXPECT_EQ(crypto::to_hex(coordinator_report_data(nonce, manifests, root, mesh)),
            "14042f450eb39cbc2a01d23169eed84905625fa40728ae3f20b4329321764898" + zeros);
  const auto capabilities = text_bytes(R"({"capabilities":[]})");
  EXPECT_EQ(crypto::to_hex(coordinator_report_data(nonce, manifests, root, mesh,
                                                   std::span<const std::byte>(capabilities))),
            "e72a52cb735f1aa347be5b08df93e582d9585c9025361522e759d6a906bc5c8c" + zeros);
}

TEST(SnpEvidence, RealReportSurvivesTheProtobufRoundTrip) {
  SnpEvidence evidence;
  evidence.report = snp::parse_report(testing::read_vector("snp/milan_gcp_v5_report.bin")).value();
  evidence.vcek_der =
      crypto::Certificate::from_pem(testing::read_text("snp/milan_gcp_vcek.pem")).value().der();
  evidence.crl_der = text_bytes("not really a CRL");
  evidence.product = snp::Product::milan;
  const auto encoded = encode_snp_attestation(evidence);
  const SnpEvidence decoded = decode_snp_attestation(encoded).value();
  EXPECT_EQ(decoded.report.raw, evidence.report.raw);  // CPUID bytes rebuilt from CPUID(1).EAX
  EXPECT_EQ(decoded.vcek_der, evidence.vcek_der);
  EXPECT_EQ(decoded.crl_der, evidence.crl_der);
  EXPECT_EQ(decoded.product, snp::Product::milan);
  const auto vcek = crypto::Certificate::from_der(decoded.vcek_der).value();
  const auto r = snp::verify_report(decoded.report, vcek, snp::amd_chain(snp::Product::milan),
                                    std::chrono::sys_days(std::chrono::year{2026} / 6 / 1));
  EXPECT_TRUE(r.passed()) << r.to_text();
}

TEST(SnpEvidence, BadFieldsAreNamed) {
  SnpEvidence evidence;
  evidence.report = snp::parse_report(testing::read_vector("snp/milan_virtee_report.bin")).value();
  // A measurement one byte short.
  ProtobufWriter report;
  report.varint(1, 2).varint(7, 1).bytes(12, std::vector<std::byte>(47));
  ProtobufWriter attestation;
  attestation.message(1, report);
  auto r = decode_snp_attestation(attestation.data());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("sevsnp.Report: field 12"), std::string::npos);
  EXPECT_NE(r.error().message().find("47 bytes, expected 48"), std::string::npos);
  // No report at all.
  ProtobufWriter empty;
  empty.varint(4, 1);
  EXPECT_EQ(decode_snp_attestation(empty.data()).error().message(),
            "sevsnp.Attestation: no report (field 1)");
  // A VMPL that does not fit its 4 bytes.
  ProtobufWriter wide;
  wide.varint(6, 1ULL << 40);
  ProtobufWriter wrapped;
  wrapped.message(1, wide);
  EXPECT_NE(decode_snp_attestation(wrapped.data()).error().message().find("does not fit 4 byte"),
            std::string::npos);
}

TEST(AttestationDocument, RoundTripAndEvidenceType) {
  AttestationDocument doc;
  doc.version = "v1.20.0";
  doc.raw_attestation_doc = text_bytes("\x0a\x00");
  doc.attestation_type = {1, 3, 9901, 2, 1};
  doc.manifests = {text_bytes("{\"Policies\":{}}")};
  doc.policies = {text_bytes("package policy")};
  doc.root_ca_pem = "ROOT PEM";
  doc.mesh_ca_pem = "MESH PEM";
  const std::string json = write_attestation_document(doc);
  const AttestationDocument back = parse_attestation_document(json).value();
  EXPECT_EQ(back.version, doc.version);
  EXPECT_EQ(back.raw_attestation_doc, doc.raw_attestation_doc);
  EXPECT_EQ(back.evidence_type(), EvidenceType::snp);
  EXPECT_EQ(back.attestation_type_text(), "1.3.9901.2.1");
  EXPECT_EQ(back.manifests, doc.manifests);
  EXPECT_EQ(back.policies, doc.policies);
  EXPECT_EQ(back.root_ca_pem, "ROOT PEM");
  EXPECT_EQ(back.mesh_ca_pem, "MESH PEM");
}

TEST(AttestationDocument, ErrorsNameTheField) {
  const auto failure = [](std::string_view json) {
    auto r = parse_attestation_document(json);
    EXPECT_FALSE(r) << json;
    return r ? std::string() : r.error().message();
  };
  const std::string good_tail =
      R"("attestation_type":[1,3,9901,2,1],"manifests":["e30="],"policies":[],"root_ca":"","mesh_ca":""})";
  EXPECT_NE(failure("[1,2]").find("not a JSON object"), std::string::npos);
  EXPECT_NE(failure("{").find("not JSON"), std::string::npos);
  EXPECT_EQ(failure(R"({"raw_attestation_doc":"", )" + good_tail),
            "attestation document: 'version': missing");
  EXPECT_NE(failure(R"({"version":"v","raw_attestation_doc":"!!", )" + good_tail)
                .find("'raw_attestation_doc': not base64"),
            std::string::npos);
  EXPECT_EQ(
      failure(
          R"({"version":"v","raw_attestation_doc":"","attestation_type":[1,-3],"manifests":[],"policies":[],"root_ca":"","mesh_ca":""})"),
      "attestation document: 'attestation_type': not an array of non-negative integers");
  EXPECT_EQ(
      failure(
          R"({"version":"v","raw_attestation_doc":"","attestation_type":[],"manifests":[],"policies":[],"root_ca":"","mesh_ca":""})"),
      "attestation document: 'manifests': empty (the Coordinator has no manifest)");
  EXPECT_EQ(
      failure(
          R"({"version":"v","raw_attestation_doc":"","attestation_type":[],"manifests":[7],"policies":[],"root_ca":"","mesh_ca":""})"),
      "attestation document: 'manifests[0]': not a string");
}

}  // namespace
}  // namespace cipherline::attest::contrast
