// TDX evidence as the Contrast Coordinator sends it: real quotes survive the
// go-tdx-guest QuoteV4 protobuf round trip byte for byte (so their
// signatures still verify), broken messages are named, and the Coordinator
// path refuses TDX evidence without Intel's collateral, checks it with the
// collateral, and fails each Coordinator-side check by name.
#include <gtest/gtest.h>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/contrast/protobuf.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/tdx_evidence.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "tdx_test_pki.hpp"
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

std::string hex(std::span<const std::byte> b) { return crypto::to_hex(b); }

std::vector<std::byte> bytes_of(const std::string& text) {
  const auto b = std::as_bytes(std::span(text.data(), text.size()));
  return {b.begin(), b.end()};
}

// A manifest whose coordinator policy and TDX entry are the quote's own
// values; `extra` is added to the TDX entry.
std::string manifest_for(const tdx::Quote& quote, const std::string& extra = "") {
  return R"({"Policies":{")" + hex(std::span(quote.body.mr_config_id).first(32)) +
         R"(":{"Role":"coordinator"}},"ReferenceValues":{"tdx":[{"MrTd":")" +
         hex(quote.body.mr_td) + R"(","Rtmrs":[")" + hex(quote.body.rtmrs[0]) + R"(",")" +
         hex(quote.body.rtmrs[1]) + R"(",")" + hex(quote.body.rtmrs[2]) + R"(",")" +
         hex(quote.body.rtmrs[3]) + R"("],"MrSeam":")" + hex(quote.body.mr_seam) + R"(","Xfam":")" +
         hex(quote.body.xfam) + "\"" + extra + "}]}}";
}

AttestationDocument document(const tdx::Quote& quote, const std::string& manifest) {
  AttestationDocument doc;
  doc.version = "v1.20.0";
  doc.attestation_type = {1, 3, 9901, 2, 2};
  doc.raw_attestation_doc = encode_tdx_quote_v4(quote);
  doc.manifests = {bytes_of(manifest)};
  doc.root_ca_pem = "root";
  doc.mesh_ca_pem = "mesh";
  return doc;
}

std::vector<std::string> failed_checks(const VerificationReport& r) {
  std::vector<std::string> failed;
  for (const Check& c : r.checks()) {
    if (!c.passed) failed.push_back(c.name);
  }
  return failed;
}

const Check& check_named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name));
}

// Inside the validity of the go-tdx-qpl collateral (2023-02-17..03-19).
const std::chrono::system_clock::time_point kEdgelessTime =
    std::chrono::sys_days(std::chrono::year{2023} / 2 / 20);

tdx::CollateralDocuments edgeless_collateral() {
  return {testing::read_text("tdx/edgeless_qpl_tcb_info.json"),
          testing::read_text("tdx/edgeless_qpl_qe_identity.json"),
          testing::read_text("tdx/intel_tcb_signing.pem"), std::nullopt, std::nullopt};
}

const std::vector<std::byte> kNonce(32, std::byte{9});

// A real TDX quote as Coordinator evidence, without collateral: refused,
// and nothing of the document is handed out.
TEST(TdxEvidence, CoordinatorRefusesTdxEvidenceWithoutCollateral) {
  const auto quote = tdx::parse_quote(testing::read_vector("tdx/edgeless_qpl_quote.dat")).value();
  const AttestationDocument doc = document(quote, manifest_for(quote));
  CoordinatorTrust trust;
  trust.expected_manifest = doc.manifests[0];
  trust.now = kEdgelessTime;
  const auto v = verify_coordinator(write_attestation_document(doc), kNonce, trust);
  EXPECT_EQ(failed_checks(v.report), std::vector<std::string>{"TDX collateral"})
      << v.report.to_text();
  EXPECT_EQ(check_named(v.report, "TDX collateral").actual,
            "none given: TDX evidence is refused without Intel's collateral");
  EXPECT_EQ(v.mesh_ca_pem, "");
  EXPECT_EQ(v.root_ca_pem, "");

  // Collateral that does not parse is named.
  trust.tdx_collateral = edgeless_collateral();
  trust.tdx_collateral->qe_identity = "{}";
  const auto bad = verify_coordinator(write_attestation_document(doc), kNonce, trust);
  EXPECT_EQ(failed_checks(bad.report), std::vector<std::string>{"TDX collateral"});
  EXPECT_EQ(check_named(bad.report, "TDX collateral").actual.rfind("QE identity: ", 0), 0u);
}

// The real quote with Intel's collateral of its time: every check holds
// except the REPORT_DATA binding, which only a real Coordinator can
// produce; and a failed report hands out no CA.
TEST(TdxEvidence, CoordinatorChecksTheRealQuoteAgainstIntelsCollateral) {
  const auto quote = tdx::parse_quote(testing::read_vector("tdx/edgeless_qpl_quote.dat")).value();
  const AttestationDocument doc = document(quote, manifest_for(quote));
  CoordinatorTrust trust;
  trust.expected_manifest = doc.manifests[0];
  trust.now = kEdgelessTime;
  trust.tdx_collateral = edgeless_collateral();
  trust.tdx_allow_missing_crls = true;  // no CRLs of February 2023 in the vectors
  auto v = verify_coordinator(write_attestation_document(doc), kNonce, trust);
  EXPECT_EQ(failed_checks(v.report), std::vector<std::string>{"tdx[0]: report data"})
      << v.report.to_text();
  EXPECT_TRUE(check_named(v.report, "tdx[0]: TCB info signature").passed);
  EXPECT_TRUE(check_named(v.report, "tdx[0]: QE identity MRSIGNER").passed);
  EXPECT_EQ(check_named(v.report, "tdx[0]: TCB status").actual, "UpToDate");
  EXPECT_TRUE(check_named(v.report, "coordinator policy").passed);
  EXPECT_TRUE(check_named(v.report, "MRCONFIGID[32:48]").passed);
  EXPECT_NE(v.report.find_claim("tdx[0]: MRTD"), nullptr);
  ASSERT_NE(v.report.find_claim("evidence type"), nullptr);
  EXPECT_EQ(*v.report.find_claim("evidence type"), "TDX");
  EXPECT_EQ(v.mesh_ca_pem, "");
  EXPECT_EQ(v.root_ca_pem, "");

  // Fail-closed on revocation unless allowed.
  trust.tdx_allow_missing_crls = false;
  v = verify_coordinator(write_attestation_document(doc), kNonce, trust);
  EXPECT_EQ(
      failed_checks(v.report),
      (std::vector<std::string>{"tdx[0]: report data", "tdx[0]: root CA CRL", "tdx[0]: PCK CRL"}))
      << v.report.to_text();
  trust.tdx_allow_missing_crls = true;

  // The collateral's signatures are required: no TCB signing certificate.
  trust.tdx_collateral->tcb_signing_chain_pem.clear();
  v = verify_coordinator(write_attestation_document(doc), kNonce, trust);
  EXPECT_EQ(failed_checks(v.report),
            (std::vector<std::string>{"tdx[0]: report data", "tdx[0]: TCB signing certificate"}))
      << v.report.to_text();
  trust.tdx_collateral = edgeless_collateral();

  // An out-of-date platform: only UpToDate is accepted by default.
  trust.tdx_accepted_statuses = {tdx::TcbStatus::out_of_date};
  v = verify_coordinator(write_attestation_document(doc), kNonce, trust);
  EXPECT_FALSE(check_named(v.report, "tdx[0]: TCB status").passed);
  trust.tdx_accepted_statuses = {tdx::TcbStatus::up_to_date};

  // The manifest's minimum evaluation number and PIID allow-list apply.
  const std::string strict =
      manifest_for(quote, R"(,"MinTCBEvaluationDataNumber":15,"AllowedPIIDs":[")" +
                              std::string(32, '0') + "\"]");
  const AttestationDocument strict_doc = document(quote, strict);
  trust.expected_manifest = strict_doc.manifests[0];
  v = verify_coordinator(write_attestation_document(strict_doc), kNonce, trust);
  EXPECT_EQ(failed_checks(v.report),
            (std::vector<std::string>{"tdx[0]: report data", "tdx[0]: TCB evaluation data number",
                                      "tdx[0]: PIID"}))
      << v.report.to_text();

  // The entry's PCK switches.
  const std::string switches =
      manifest_for(quote, R"(,"MemoryIntegrity":true,"SMTDisabled":true,"StaticPlatform":true)");
  const AttestationDocument switches_doc = document(quote, switches);
  trust.expected_manifest = switches_doc.manifests[0];
  v = verify_coordinator(write_attestation_document(switches_doc), kNonce, trust);
  const auto pck = tdx::parse_pck_extensions(tdx::parse_pck_chain(quote).value().leaf).value();
  EXPECT_EQ(check_named(v.report, "tdx[0]: SGX type").passed,
            pck.sgx_type == tdx::SgxType::scalable_with_integrity);
  EXPECT_EQ(check_named(v.report, "tdx[0]: SMT").passed, pck.smt_enabled == false);
  EXPECT_EQ(check_named(v.report, "tdx[0]: static platform").passed, pck.dynamic_platform == false);
}

// A Coordinator quote bound to the nonce, re-signed under a local PKI (the
// development root) with the go-tdx-qpl collateral re-signed under it: it
// passes, and each Coordinator-side check fails by name when its input
// alone is changed.
class LocallySignedCoordinator : public ::testing::Test {
 protected:
  tdx::local_pki::TestPki pki;
  tdx::Quote real = tdx::parse_quote(testing::read_vector("tdx/edgeless_qpl_quote.dat")).value();

  // verify re-signs `body` (REPORTDATA bound to `nonce` and the document)
  // and verifies it against `manifest` (default: the body's own values).
  CoordinatorVerification verify(tdx::TdQuoteBody body, std::optional<std::string> manifest = {},
                                 const std::vector<std::byte>& nonce = kNonce) {
    tdx::Quote q = real;
    q.body = body;
    const std::string m = manifest ? *manifest : manifest_for(q);
    AttestationDocument doc = document(q, m);
    const auto data =
        coordinator_report_data(nonce, doc.manifests, doc.root_ca_pem, doc.mesh_ca_pem);
    std::copy(data.begin(), data.end(), q.body.report_data.begin());
    doc.raw_attestation_doc = encode_tdx_quote_v4(pki.resign(q));
    CoordinatorTrust trust;
    trust.expected_manifest = doc.manifests[0];
    trust.now = kEdgelessTime;
    trust.tdx_development_root = pki.trusted_root();
    const auto from = kEdgelessTime - std::chrono::days(1);
    const auto until = kEdgelessTime + std::chrono::days(30);
    trust.tdx_collateral = tdx::CollateralDocuments{
        pki.resign_json(testing::read_text("tdx/edgeless_qpl_tcb_info.json"), "tcbInfo"),
        pki.resign_json(testing::read_text("tdx/edgeless_qpl_qe_identity.json"), "enclaveIdentity"),
        crypto::to_pem(pki.tcb_signing),
        tdx::local_pki::TestPki::crl(pki.pck_ca, pki.pck_ca_key, {}, from, until),
        tdx::local_pki::TestPki::crl(pki.root, pki.root_key, {}, from, until)};
    return verify_coordinator(write_attestation_document(doc), kNonce, trust);
  }
};

TEST_F(LocallySignedCoordinator, PassesAndHandsOutTheCas) {
  const auto v = verify(real.body);
  EXPECT_TRUE(v.report.passed()) << v.report.to_text();
  EXPECT_TRUE(check_named(v.report, "tdx[0]: PCK revocation").passed);
  EXPECT_EQ(v.mesh_ca_pem, "mesh");
  EXPECT_EQ(v.root_ca_pem, "root");
}

TEST_F(LocallySignedCoordinator, ReportDataMismatch) {
  // Bound to another nonce than the client's.
  const auto v = verify(real.body, std::nullopt, std::vector<std::byte>(32, std::byte{1}));
  EXPECT_EQ(failed_checks(v.report), std::vector<std::string>{"tdx[0]: report data"})
      << v.report.to_text();
  EXPECT_EQ(v.mesh_ca_pem, "");
}

TEST_F(LocallySignedCoordinator, CoordinatorPolicyMismatch) {
  // MRCONFIGID[0:32] is not the manifest's coordinator policy hash.
  tdx::Quote q = real;
  const std::string manifest = manifest_for(q);
  q.body.mr_config_id[0] ^= std::byte{1};
  const auto v = verify(q.body, manifest);
  EXPECT_EQ(failed_checks(v.report), std::vector<std::string>{"coordinator policy"})
      << v.report.to_text();
  EXPECT_EQ(v.mesh_ca_pem, "");
}

TEST_F(LocallySignedCoordinator, MrConfigIdTailMustBeZero) {
  tdx::TdQuoteBody body = real.body;
  body.mr_config_id[40] = std::byte{1};
  const auto v = verify(body);
  EXPECT_EQ(failed_checks(v.report), std::vector<std::string>{"MRCONFIGID[32:48]"})
      << v.report.to_text();
  EXPECT_EQ(check_named(v.report, "MRCONFIGID[32:48]").actual, "00000000000000000100000000000000");
}

TEST_F(LocallySignedCoordinator, EmptyTdxReferenceValues) {
  // A manifest with an SNP entry only: TDX evidence has nothing to meet.
  const std::string snp_only =
      R"({"Policies":{")" + hex(std::span(real.body.mr_config_id).first(32)) +
      R"(":{"Role":"coordinator"}},"ReferenceValues":{"snp":[{"ProductName":"Genoa","TrustedMeasurement":")" +
      std::string(96, '0') +
      R"(","MinimumTCB":{"BootloaderVersion":10,"TEEVersion":0,"SNPVersion":28,"MicrocodeVersion":88},"GuestPolicy":{"SMT":true}}],"tdx":[]}})";
  const auto v = verify(real.body, snp_only);
  EXPECT_EQ(failed_checks(v.report), std::vector<std::string>{"TDX reference values"})
      << v.report.to_text();
  EXPECT_EQ(check_named(v.report, "TDX reference values").actual, "0 entries");
}

}  // namespace
}  // namespace cipherline::attest::contrast
