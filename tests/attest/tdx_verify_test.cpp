// TDX quote verification: the seven real quotes against the built-in Intel
// root, the PCK certificate's SGX extension, each signature check failing
// for the byte that breaks it, the root pin, PCK keys that are not P-256 or
// that OpenSSL cannot use, and reference values.
#include "cipherline/attest/tdx/verify.hpp"

#include <gtest/gtest.h>

#include "../crypto/test_keys.hpp"
#include "cipherline/crypto/hex.hpp"
#include "tdx_test_pki.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::tdx {
namespace {

using namespace std::chrono;
using testing::read_text;
using testing::read_vector;

// Inside every vector PCK certificate's validity (the latest starts
// 2026-01-27, the earliest ends 2029-09-20).
const system_clock::time_point kAt = sys_days(year{2026} / 6 / 1);

const Check& check_named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name));
}

std::vector<std::string> failed_checks(const VerificationReport& r) {
  std::vector<std::string> out;
  for (const Check& c : r.checks()) {
    if (!c.passed) out.push_back(c.name);
  }
  return out;
}

Quote edgeless() { return parse_quote(read_vector("tdx/edgeless_qpl_quote.dat")).value(); }

// with_byte_flipped parses the Edgeless quote with one bit of byte `offset` flipped.
Quote with_byte_flipped(std::size_t offset) {
  auto bytes = read_vector("tdx/edgeless_qpl_quote.dat");
  bytes.at(offset) ^= std::byte{1};
  return parse_quote(bytes).value();
}

TEST(TdxVerify, BuiltInRootIsIntels) {
  const crypto::Certificate& root = intel_root().certificate;
  EXPECT_EQ(crypto::to_hex(root.fingerprint_sha256()), intel_root_fingerprint());
  EXPECT_EQ(intel_root_fingerprint(),
            "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
  EXPECT_NE(root.subject().find("CN=Intel SGX Root CA"), std::string::npos) << root.subject();
  EXPECT_EQ(root.subject(), root.issuer());
  EXPECT_FALSE(intel_root().development);
  const auto published =
      crypto::Certificate::from_pem(read_text("tdx/intel_sgx_root_ca.pem")).value();
  EXPECT_EQ(root.der(), published.der());
}

TEST(TdxVerify, AllSevenRealQuotesVerify) {
  const struct {
    const char* file;
    const char* fmspc;
  } cases[] = {
      {"tdx/spr_go_tdx_guest_quote.dat", "50806f000000"},
      {"tdx/v5_go_tdx_guest_quote.dat", "90c06f000000"},
      {"tdx/cos_go_tdx_guest_quote.dat", "00806f050000"},
      {"tdx/trustee_v4_quote.dat", "50806f000000"},
      {"tdx/trustee_v5_quote.dat", "90c06f000000"},
      {"tdx/phala_v4_quote.dat", "b0c06f000000"},
      {"tdx/edgeless_qpl_quote.dat", "00806f050000"},
  };
  for (const auto& c : cases) {
    const Quote quote = parse_quote(read_vector(c.file)).value();
    const VerificationReport r = verify_quote(quote, intel_root(), kAt);
    EXPECT_TRUE(r.passed()) << c.file << "\n" << r.to_text();
    EXPECT_EQ(r.checks().size(), 8u) << c.file;
    EXPECT_EQ(*r.find_claim("FMSPC"), c.fmspc) << c.file;
    EXPECT_EQ(*r.find_claim("MRTD"), crypto::to_hex(quote.body.mr_td));
    EXPECT_EQ(*r.find_claim("RTMR3"), crypto::to_hex(quote.body.rtmrs[3]));
    EXPECT_EQ(*r.find_claim("REPORTDATA"), crypto::to_hex(quote.body.report_data));
    EXPECT_EQ(*r.find_claim("PCE-ID"), "0000");
    EXPECT_NE(r.find_claim("PCK issuer")->find("CN=Intel SGX PCK Platform CA"), std::string::npos);
    EXPECT_EQ(r.find_claim("MRSERVICETD") != nullptr, quote.body.type == BodyType::tdx15);
  }
}

TEST(TdxVerify, ClaimsOfTheEdgelessQuote) {
  const VerificationReport r = verify_quote(edgeless(), intel_root(), kAt);
  EXPECT_EQ(*r.find_claim("TD attributes"), "0000001000000000");
  EXPECT_EQ(*r.find_claim("TD attributes flags"), "SEPT_VE_DISABLE");
  EXPECT_EQ(*r.find_claim("XFAM"), "e702060000000000");
  EXPECT_EQ(*r.find_claim("TEE_TCB_SVN"), "03000500000000000000000000000000");
  EXPECT_EQ(*r.find_claim("SGX TCB components"), "5 5 13 2 3 1 0 3 0 0 0 0 0 0 0 0");
  EXPECT_EQ(*r.find_claim("PCESVN"), "11");
  EXPECT_EQ(*r.find_claim("SGX type"), "Scalable");
  EXPECT_EQ(*r.find_claim("QE ISVSVN"), "4");
  EXPECT_EQ(*r.find_claim("body type"), "TDX 1.0");
}

TEST(TdxVerify, PckExtensionsOfTheSprQuote) {
  const Quote quote = parse_quote(read_vector("tdx/spr_go_tdx_guest_quote.dat")).value();
  const PckChain chain = parse_pck_chain(quote).value();
  EXPECT_EQ(chain.intermediates.size(), 1u);  // the quote's own root is dropped
  const PckExtensions x = parse_pck_extensions(chain.leaf).value();
  EXPECT_EQ(crypto::to_hex(x.ppid), "089ddfdb9c0359c82a3bc7719239574e");
  const std::array<std::uint8_t, 16> components = {3, 3, 2, 2, 2, 1, 0, 2};
  EXPECT_EQ(x.sgx_tcb_components, components);
  EXPECT_EQ(x.pcesvn, 11);
  EXPECT_EQ(crypto::to_hex(x.cpusvn), "03030202020100020000000000000000");
  EXPECT_EQ(crypto::to_hex(x.pce_id), "0000");
  EXPECT_EQ(crypto::to_hex(x.fmspc), "50806f000000");
  EXPECT_EQ(x.sgx_type, SgxType::scalable);
  ASSERT_TRUE(x.platform_instance_id);
  EXPECT_EQ(crypto::to_hex(*x.platform_instance_id), "8c314d17d205dfafcbecbb00fc87eff7");
  EXPECT_EQ(x.dynamic_platform, true);
  EXPECT_EQ(x.cached_keys, false);
  EXPECT_EQ(x.smt_enabled, true);
}

TEST(TdxVerify, ACertificateWithoutTheSgxExtensionIsNamed) {
  auto missing = parse_pck_extensions(intel_root().certificate);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message(),
            "PCK extension: 1.2.840.113741.1.13.1 (SGX extensions): is missing");
}

TEST(TdxVerify, AFlippedBodyByteBreaksTheQuoteSignatureOnly) {
  const VerificationReport r = verify_quote(with_byte_flipped(48 + 0x88), intel_root(), kAt);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"quote signature"}) << r.to_text();
  EXPECT_NE(r.to_text().find("FAIL quote signature"), std::string::npos);
}

TEST(TdxVerify, AFlippedQuoteSignatureByteBreaksTheQuoteSignatureOnly) {
  const VerificationReport r = verify_quote(with_byte_flipped(0x27c + 5), intel_root(), kAt);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"quote signature"}) << r.to_text();
}

TEST(TdxVerify, AFlippedQeReportByteBreaksTheQeReportSignatureOnly) {
  // A byte of MRENCLAVE in the QE report (which starts at 0x302).
  const VerificationReport r = verify_quote(with_byte_flipped(0x302 + 64), intel_root(), kAt);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"QE report signature"}) << r.to_text();
}

TEST(TdxVerify, AFlippedQeAuthDataByteBreaksTheBindingOnly) {
  // The QE auth data follows its size field at 0x4c2.
  const VerificationReport r = verify_quote(with_byte_flipped(0x4c4 + 3), intel_root(), kAt);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"QE report data"}) << r.to_text();
  const Check& binding = check_named(r, "QE report data");
  EXPECT_EQ(binding.actual.substr(64), std::string(64, '0'));  // the QE's unchanged report data
}

TEST(TdxVerify, AnotherAttestationKeyBreaksTheBindingAndTheQuoteSignature) {
  const VerificationReport r = verify_quote(with_byte_flipped(0x2bc + 10), intel_root(), kAt);
  const std::vector<std::string> expected = {"QE report data", "quote signature"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
}

TEST(TdxVerify, AnotherQeVendorFailsTheVendorCheck) {
  const VerificationReport r = verify_quote(with_byte_flipped(0x0c), intel_root(), kAt);
  const std::vector<std::string> expected = {"QE vendor ID", "quote signature"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  EXPECT_EQ(check_named(r, "QE vendor ID").expected, "939a7233f79c4ca9940a0db3957f0607");
}

TEST(TdxVerify, ARootOtherThanIntelsFailsThePin) {
  const Quote quote = edgeless();
  // The quote's own Platform CA: a real Intel certificate, but not the root.
  TrustedRoot other{parse_pck_chain(quote).value().intermediates.at(0), false};
  VerificationReport r = verify_quote(quote, other, kAt);
  const Check& pin = check_named(r, "Intel root");
  EXPECT_FALSE(pin.passed);
  EXPECT_EQ(pin.expected, intel_root_fingerprint());
  EXPECT_FALSE(check_named(r, "PCK certificate chain").passed);
  // Trusted explicitly as a development root, the pin no longer applies,
  // but the chain still has to reach a self-signed root.
  other.development = true;
  r = verify_quote(quote, other, kAt);
  EXPECT_TRUE(check_named(r, "Intel root").passed);
  EXPECT_FALSE(check_named(r, "PCK certificate chain").passed);
  EXPECT_TRUE(check_named(r, "quote signature").passed);
}

TEST(TdxVerify, APckCertificateOutsideItsValidityFailsTheChain) {
  // The Edgeless PCK certificate was issued on 2023-01-26.
  const VerificationReport r = verify_quote(edgeless(), intel_root(), sys_days(year{2022} / 1 / 1));
  const Check& chain = check_named(r, "PCK certificate chain");
  EXPECT_FALSE(chain.passed);
  EXPECT_NE(chain.actual.find("not yet valid"), std::string::npos) << chain.actual;
}

TEST(TdxVerify, ABrokenPckChainFailsEveryCheckThatNeedsIt) {
  Quote quote = edgeless();
  quote.pck_chain_pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
  const VerificationReport r = verify_quote(quote, intel_root(), kAt);
  const std::vector<std::string> expected = {"PCK certificate chain", "PCK key",
                                             "QE report signature", "PCK extensions"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  EXPECT_EQ(check_named(r, "PCK key").actual, "no PCK certificate");
}

TEST(TdxVerify, ReferenceValues) {
  const Quote quote = edgeless();
  VerificationReport r = verify_quote(quote, intel_root(), kAt);
  const std::size_t before = r.checks().size();
  check_reference_values(quote, ReferenceValues{}, r);
  EXPECT_EQ(r.checks().size(), before);  // nothing expected, nothing checked

  ReferenceValues expected;
  expected.mr_td = quote.body.mr_td;
  expected.rtmrs = {quote.body.rtmrs[0], quote.body.rtmrs[1], quote.body.rtmrs[2],
                    quote.body.rtmrs[3]};
  expected.mr_seam = quote.body.mr_seam;
  expected.xfam = quote.body.xfam;
  expected.td_attributes = std::array<std::byte, 8>{std::byte{0}, std::byte{0}, std::byte{0},
                                                    std::byte{0x10}};  // SEPT_VE_DISABLE
  std::array<std::byte, 32> config{};
  std::copy_n(quote.body.mr_config_id.begin(), 32, config.begin());
  expected.mr_config_id_prefix = config;
  check_reference_values(quote, expected, r);
  EXPECT_EQ(r.checks().size(), before + 9);
  EXPECT_TRUE(r.passed()) << r.to_text();

  expected.rtmrs[2]->at(47) ^= std::byte{0x80};
  expected.td_attributes->at(0) = std::byte{1};  // DEBUG as well
  VerificationReport wrong = verify_quote(quote, intel_root(), kAt);
  check_reference_values(quote, expected, wrong);
  const std::vector<std::string> failed = {"RTMR2", "TD attributes"};
  EXPECT_EQ(failed_checks(wrong), failed) << wrong.to_text();
  EXPECT_EQ(check_named(wrong, "TD attributes").actual, "0000001000000000");
}

TEST(TdxVerify, EachMeasurementMismatchFailsByName) {
  const Quote quote = edgeless();
  ReferenceValues expected;
  expected.mr_seam = quote.body.mr_seam;
  expected.xfam = quote.body.xfam;
  std::array<std::byte, 32> config{};
  std::copy_n(quote.body.mr_config_id.begin(), 32, config.begin());
  expected.mr_config_id_prefix = config;
  const auto failures = [&](const ReferenceValues& values) {
    VerificationReport r = verify_quote(quote, intel_root(), kAt);
    check_reference_values(quote, values, r);
    return failed_checks(r);
  };
  EXPECT_TRUE(failures(expected).empty());
  ReferenceValues wrong = expected;
  wrong.mr_seam->at(0) ^= std::byte{1};
  EXPECT_EQ(failures(wrong), std::vector<std::string>{"MRSEAM"});
  wrong = expected;
  wrong.xfam->at(0) ^= std::byte{1};
  EXPECT_EQ(failures(wrong), std::vector<std::string>{"XFAM"});
  wrong = expected;
  wrong.mr_config_id_prefix->at(31) ^= std::byte{1};
  EXPECT_EQ(failures(wrong), std::vector<std::string>{"MRCONFIGID[0:32]"});
}

TEST(TdxVerify, APckKeyThatIsNotP256FailsThePckKeyCheck) {
  // The Edgeless quote re-signed under a local PKI whose PCK key is P-384:
  // the chain holds, the key type does not, and the QE report signature is
  // not even tried.
  local_pki::TestPki pki;
  const Quote p256 = pki.resign(edgeless());
  EXPECT_TRUE(verify_quote(p256, pki.trusted_root(), kAt).passed());
  const Quote q = pki.resign(edgeless(), crypto::KeyType::ec_p384);
  const VerificationReport r = verify_quote(q, pki.trusted_root(), kAt);
  EXPECT_EQ(failed_checks(r), (std::vector<std::string>{"PCK key", "QE report signature"}))
      << r.to_text();
  EXPECT_EQ(check_named(r, "PCK key").actual, "EC P-384");
  EXPECT_EQ(check_named(r, "QE report signature").actual, "no P-256 PCK key");
}

// with_unusable_pck: `quote` (re-signed by `pki`) with its PCK certificate
// replaced by one from the same PCK CA, with the same SGX extension, whose
// public key has an algorithm OpenSSL does not know.
Quote with_unusable_pck(local_pki::TestPki& pki, Quote quote) {
  const auto sgx = pki.pck->extension(local_pki::kSgxExtension).value();
  const crypto::Certificate odd = cipherline::testing::certificate_with_unknown_key(
      "Intel SGX PCK Certificate", pki.pck_ca_key.native(), pki.pck_ca.native(),
      {{std::string(local_pki::kSgxExtension), sgx}});
  quote.pck_chain_pem = crypto::to_pem(odd) + crypto::to_pem(pki.pck_ca) + crypto::to_pem(pki.root);
  return quote;
}

TEST(TdxVerify, APckCertificateWithAKeyOpenSslCannotUseFailsTheChain) {
  // Issued by the right CA with the right extension, but OpenSSL cannot
  // decode the key it certifies: the chain fails saying why, the key is not
  // examined, the QE report signature not tried, and nothing crashes.
  local_pki::TestPki pki;
  const Quote q = with_unusable_pck(pki, pki.resign(edgeless()));
  const VerificationReport r = verify_quote(q, pki.trusted_root(), kAt);
  EXPECT_EQ(failed_checks(r),
            (std::vector<std::string>{"PCK certificate chain", "PCK key", "QE report signature"}))
      << r.to_text();
  const Check& chain = check_named(r, "PCK certificate chain");
  EXPECT_NE(chain.actual.find("certificate at depth 0 (CN=Intel SGX PCK Certificate)"),
            std::string::npos)
      << chain.actual;
  EXPECT_NE(
      chain.actual.find("its public key is one OpenSSL cannot use (algorithm 1.3.6.1.4.1.55555.1)"),
      std::string::npos)
      << chain.actual;
  EXPECT_EQ(check_named(r, "PCK key").actual,
            "not examined: the PCK certificate chain did not verify");
  EXPECT_EQ(check_named(r, "QE report signature").actual, "no verified PCK key");
  EXPECT_EQ(*r.find_claim("FMSPC"), "00806f050000");  // the extension is still read
}

TEST(TdxVerify, APckKeyIsNotExaminedWhenTheChainFails) {
  // A genuine P-256 PCK certificate under a root that is not trusted: its
  // key and the QE report signature under it mean nothing, and the report
  // says so instead of passing them.
  local_pki::TestPki pki;
  local_pki::TestPki other;
  const Quote q = pki.resign(edgeless());
  const VerificationReport r = verify_quote(q, other.trusted_root(), kAt);
  EXPECT_EQ(failed_checks(r),
            (std::vector<std::string>{"PCK certificate chain", "PCK key", "QE report signature"}))
      << r.to_text();
  EXPECT_EQ(check_named(r, "PCK key").actual,
            "not examined: the PCK certificate chain did not verify");
  EXPECT_EQ(check_named(r, "QE report signature").actual, "no verified PCK key");
  EXPECT_TRUE(check_named(r, "quote signature").passed);
}

}  // namespace
}  // namespace cipherline::attest::tdx
