// TDX collateral: parsing Intel PCS TCB info and QE identity, their
// signatures over the exact served bytes, freshness at a fixed and at the
// real time, TCB level selection (with and without TDX module identities),
// status convergence, and the QE identity comparison.
//
// The collateral documents are real PCS responses. Each is signed by the
// "Intel SGX TCB Signing" certificate, which PCS sends in a response header:
// it is not part of the go-tdx-guest vectors, but Edgeless's go-tdx-qpl test
// data carries it (tdx/intel_tcb_signing.pem) and it signs all five
// documents here. It expired on 2025-05-21, so its chain verifies only at
// times before that.
#include "cipherline/attest/tdx/collateral.hpp"

#include <gtest/gtest.h>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "tdx_test_pki.hpp"
#include "vector_files.hpp"

namespace cipherline::attest::tdx {
namespace {

using namespace std::chrono;
using testing::read_text;
using testing::read_vector;

// Inside the validity of the go-tdx-guest TCB info (2023-06-18..07-18) and
// QE identity (2023-06-08..07-08).
const TimePoint kGoTdxGuestTime = sys_days(year{2023} / 7 / 1);
// Inside the validity of the go-tdx-qpl documents (2023-02-17..03-19).
const TimePoint kEdgelessTime = sys_days(year{2023} / 2 / 20);

Quote quote(const std::string& name) { return parse_quote(read_vector(name)).value(); }

crypto::Certificate tcb_signing_certificate() {
  return crypto::Certificate::from_pem(read_text("tdx/intel_tcb_signing.pem")).value();
}

// The go-tdx-guest documents with the PCK Platform CA's and the root CA's
// CRLs of the same month (all current at kGoTdxGuestTime).
Collateral go_tdx_guest_collateral(bool signed_by_intel = true) {
  Collateral c{parse_tcb_info(read_text("tdx/go_tdx_guest_tcb_info.json")).value(),
               parse_qe_identity(read_text("tdx/go_tdx_guest_qe_identity.json")).value(),
               std::nullopt, read_vector("tdx/go_tdx_guest_pck_crl.der"),
               read_vector("tdx/go_tdx_guest_root_crl.der")};
  if (signed_by_intel) c.signing_certificate = tcb_signing_certificate();
  return c;
}

// The go-tdx-qpl documents; no CRLs of their time are in the vectors, so
// tests that use them allow that explicitly (without_crls).
Collateral edgeless_collateral() {
  return {parse_tcb_info(read_text("tdx/edgeless_qpl_tcb_info.json")).value(),
          parse_qe_identity(read_text("tdx/edgeless_qpl_qe_identity.json")).value(),
          tcb_signing_certificate(), std::nullopt, std::nullopt};
}

CollateralPolicy without_crls() {
  CollateralPolicy p;
  p.allow_missing_crls = true;
  return p;
}

VerificationReport collateral_report(const Quote& q, const Collateral& c, TimePoint now,
                                     const CollateralPolicy& policy = {}) {
  VerificationReport r("TDX collateral");
  check_collateral(q, c, intel_root(), policy, now, r);
  return r;
}

const Check& check_named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name));
}

bool has_check(const VerificationReport& r, std::string_view name) {
  return std::any_of(r.checks().begin(), r.checks().end(),
                     [name](const Check& c) { return c.name == name; });
}

std::vector<std::string> failed_checks(const VerificationReport& r) {
  std::vector<std::string> out;
  for (const Check& c : r.checks()) {
    if (!c.passed) out.push_back(c.name);
  }
  return out;
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  if (at == std::string::npos) throw std::runtime_error("no " + std::string(from) + " in the text");
  return text.replace(at, from.size(), to);
}

TEST(TdxCollateral, ParseTcbInfo) {
  const std::string text = read_text("tdx/go_tdx_guest_tcb_info.json");
  const TcbInfo info = parse_tcb_info(text).value();
  // The signed bytes are exactly those between {"tcbInfo": and ,"signature".
  const auto begin = text.find(':') + 1;
  EXPECT_EQ(info.signed_body, text.substr(begin, text.rfind(",\"signature\"") - begin));
  EXPECT_EQ(crypto::to_hex(info.signature).substr(0, 8), "f6502d6f");
  EXPECT_EQ(info.id, "TDX");
  EXPECT_EQ(info.version, 3);
  EXPECT_EQ(info.issue_date, sys_days(year{2023} / 6 / 18) + 8h + 42min + 58s);
  EXPECT_EQ(info.next_update, sys_days(year{2023} / 7 / 18) + 8h + 42min + 58s);
  EXPECT_EQ(crypto::to_hex(info.fmspc), "50806f000000");
  EXPECT_EQ(crypto::to_hex(info.pce_id), "0000");
  EXPECT_EQ(info.tcb_evaluation_data_number, 15u);
  EXPECT_EQ(info.tdx_module.mrsigner, Measurement{});
  EXPECT_EQ(crypto::to_hex(info.tdx_module.attributes_mask), "ffffffffffffffff");
  EXPECT_TRUE(info.tdx_module_identities.empty());
  ASSERT_EQ(info.levels.size(), 2u);
  const std::array<std::uint8_t, 16> sgx = {5, 5, 2, 2, 3, 1, 0, 3};
  const std::array<std::uint8_t, 16> tdx = {3, 0, 5};
  EXPECT_EQ(info.levels[0].sgx_components, sgx);
  EXPECT_EQ(info.levels[0].pcesvn, 11);
  EXPECT_EQ(info.levels[0].tdx_components, tdx);
  EXPECT_EQ(info.levels[0].status, TcbStatus::up_to_date);
  EXPECT_EQ(info.levels[0].tcb_date, sys_days(year{2023} / 2 / 15));
  EXPECT_TRUE(info.levels[0].advisory_ids.empty());
  EXPECT_EQ(info.levels[1].pcesvn, 5);
  EXPECT_EQ(info.levels[1].status, TcbStatus::out_of_date);
  ASSERT_EQ(info.levels[1].advisory_ids.size(), 13u);
  EXPECT_EQ(info.levels[1].advisory_ids.front(), "INTEL-SA-00106");
}

TEST(TdxCollateral, ParseTcbInfoWithModuleIdentities) {
  const TcbInfo info = parse_tcb_info(read_text("tdx/go_tdx_guest_tcb_info_v5.json")).value();
  EXPECT_EQ(crypto::to_hex(info.fmspc), "90c06f000000");
  EXPECT_EQ(info.tcb_evaluation_data_number, 18u);
  ASSERT_EQ(info.tdx_module_identities.size(), 2u);
  EXPECT_EQ(info.tdx_module_identities[0].id, "TDX_03");
  const TdxModuleIdentity& tdx01 = info.tdx_module_identities[1];
  EXPECT_EQ(tdx01.id, "TDX_01");
  ASSERT_EQ(tdx01.levels.size(), 3u);
  EXPECT_EQ(tdx01.levels[0].isvsvn, 6);
  EXPECT_EQ(tdx01.levels[0].status, TcbStatus::up_to_date);
  EXPECT_EQ(tdx01.levels[1].isvsvn, 4);
  EXPECT_EQ(tdx01.levels[1].status, TcbStatus::out_of_date);
  EXPECT_EQ(info.levels.size(), 3u);
}

TEST(TdxCollateral, ParseQeIdentity) {
  const std::string text = read_text("tdx/go_tdx_guest_qe_identity.json");
  const QeIdentity qe = parse_qe_identity(text).value();
  const auto begin = text.find(':') + 1;
  EXPECT_EQ(qe.signed_body, text.substr(begin, text.rfind(",\"signature\"") - begin));
  EXPECT_EQ(qe.id, "TD_QE");
  EXPECT_EQ(qe.version, 2);
  EXPECT_EQ(qe.miscselect, 0u);
  EXPECT_EQ(qe.miscselect_mask, 0xFFFFFFFFu);
  EXPECT_EQ(crypto::to_hex(qe.attributes), "11000000000000000000000000000000");
  EXPECT_EQ(crypto::to_hex(qe.attributes_mask), "fbffffffffffffff0000000000000000");
  EXPECT_EQ(crypto::to_hex(qe.mrsigner),
            "dc9e2a7c6f948f17474e34a7fc43ed030f7c1563f1babddf6340c82e0e54a8c5");
  EXPECT_EQ(qe.isvprodid, 2);
  ASSERT_EQ(qe.levels.size(), 1u);
  EXPECT_EQ(qe.levels[0].isvsvn, 4);
  EXPECT_EQ(qe_tcb_level(qe, 7), &qe.levels[0]);
  EXPECT_EQ(qe_tcb_level(qe, 3), nullptr);
}

TEST(TdxCollateral, SignedCollateralOfAnUpToDatePlatform) {
  // The trustee quote's platform (FMSPC 50806f000000, SGX components 5 5 13
  // 2 3 1 0 3, PCESVN 11, TEE_TCB_SVN 03 00 05) meets the first level.
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  VerificationReport r = verify_quote(q, intel_root(), kGoTdxGuestTime);
  check_collateral(q, go_tdx_guest_collateral(), intel_root(), CollateralPolicy{}, kGoTdxGuestTime,
                   r);
  EXPECT_TRUE(r.passed()) << r.to_text();
  EXPECT_TRUE(check_named(r, "TCB info signature").passed);
  EXPECT_TRUE(check_named(r, "QE identity signature").passed);
  EXPECT_EQ(check_named(r, "TCB level").actual,
            "level 1 of 2 (UpToDate, tcbDate 2023-02-15T00:00:00Z)");
  EXPECT_EQ(*r.find_claim("TCB status"), "UpToDate");
  EXPECT_EQ(*r.find_claim("QE TCB status"), "UpToDate");
  EXPECT_EQ(*r.find_claim("TCB evaluation data number"), "15");
  EXPECT_FALSE(has_check(r, "TDX module identity"));  // TEE_TCB_SVN[1] is 0
}

TEST(TdxCollateral, EdgelessKnownAnswer) {
  // Spec §5.5: FMSPC 00806F050000, SGX components 05 05 0D 02 03 01 00 03,
  // PCESVN 11, TEE_TCB_SVN 03 00 05 against evaluation number 14: the first
  // level, UpToDate.
  const Quote q = quote("tdx/edgeless_qpl_quote.dat");
  const VerificationReport r =
      collateral_report(q, edgeless_collateral(), kEdgelessTime, without_crls());
  EXPECT_TRUE(r.passed()) << r.to_text();
  EXPECT_EQ(check_named(r, "TCB level").actual,
            "level 1 of 2 (UpToDate, tcbDate 2022-11-09T00:00:00Z)");
  EXPECT_EQ(*r.find_claim("TCB evaluation data number"), "14");
}

TEST(TdxCollateral, ModuleIdentityLevelsForTdx15) {
  // TEE_TCB_SVN 0b 01 04: module major version 1, so TDX_01 decides the
  // module's status (ISVSVN 11 >= 6: UpToDate) and the platform levels are
  // compared from byte 2 (4 >= 3).
  const Quote q = quote("tdx/v5_go_tdx_guest_quote.dat");
  const TcbInfo info = parse_tcb_info(read_text("tdx/go_tdx_guest_tcb_info_v5.json")).value();
  const PckExtensions pck = parse_pck_extensions(parse_pck_chain(q).value().leaf).value();
  const TcbEvaluation e = evaluate_tcb(info, pck, q.body);
  EXPECT_EQ(e.level, &info.levels[0]);
  EXPECT_TRUE(e.module_consulted);
  EXPECT_EQ(e.module_id, "TDX_01");
  EXPECT_EQ(e.module, &info.tdx_module_identities[1]);
  EXPECT_EQ(e.module_level, &info.tdx_module_identities[1].levels[0]);
  EXPECT_EQ(e.status, TcbStatus::up_to_date);

  // An older module (ISVSVN 5) meets only the OutOfDate level 4 of TDX_01,
  // which makes the up-to-date platform OutOfDate.
  Quote older = q;
  older.body.tee_tcb_svn[0] = std::byte{5};
  const TcbEvaluation stale = evaluate_tcb(info, pck, older.body);
  EXPECT_EQ(stale.level, &info.levels[0]);
  EXPECT_EQ(stale.module_level, &info.tdx_module_identities[1].levels[1]);
  EXPECT_EQ(stale.status, TcbStatus::out_of_date);
  // Older than every TDX_01 level: no status at all.
  older.body.tee_tcb_svn[0] = std::byte{1};
  EXPECT_EQ(evaluate_tcb(info, pck, older.body).status, std::nullopt);
}

TEST(TdxCollateral, Tdx15CollateralWithAnExpiredSigningCertificate) {
  // The 2026 v5 TCB info is signed by the same key, but the certificate
  // here expired in 2025; and no QE identity of 2026 is in the vectors.
  const Quote q = quote("tdx/v5_go_tdx_guest_quote.dat");
  Collateral c = go_tdx_guest_collateral();
  c.tcb_info = parse_tcb_info(read_text("tdx/go_tdx_guest_tcb_info_v5.json")).value();
  c.pck_crl = c.root_crl = std::nullopt;
  const VerificationReport r =
      collateral_report(q, c, sys_days(year{2026} / 2 / 15), without_crls());
  const std::vector<std::string> expected = {"TCB signing certificate", "QE identity freshness"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  EXPECT_NE(check_named(r, "TCB signing certificate").actual.find("expired"), std::string::npos);
  EXPECT_TRUE(check_named(r, "TCB info signature").passed);
  EXPECT_TRUE(check_named(r, "TDX module identity").passed);
  EXPECT_EQ(check_named(r, "TDX module TCB level").actual, "ISVSVN 6 (UpToDate)");
  EXPECT_EQ(*r.find_claim("TCB status"), "UpToDate");
}

TEST(TdxCollateral, OnlyTheTcbSigningCertificateMaySign) {
  // The quote's Platform CA chains to the Intel root as well, but it is not
  // the TCB signing certificate (and did not sign the documents).
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  Collateral c = go_tdx_guest_collateral();
  c.signing_certificate = parse_pck_chain(q).value().intermediates.at(0);
  const VerificationReport r = collateral_report(q, c, kGoTdxGuestTime);
  const std::vector<std::string> expected = {"TCB signing certificate", "TCB info signature",
                                             "QE identity signature"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  EXPECT_NE(check_named(r, "TCB signing certificate").actual.find("CN=Intel SGX PCK Platform CA"),
            std::string::npos);
}

TEST(TdxCollateral, APlatformBelowEveryLevelHasNoStatus) {
  // The SPR quote's PCK certificate has SGX components 3 3 2 2 2 1 0 2, below
  // both levels of the TCB info for its FMSPC.
  const Quote q = quote("tdx/spr_go_tdx_guest_quote.dat");
  const VerificationReport r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  const std::vector<std::string> expected = {"TCB level", "TCB status"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  EXPECT_EQ(check_named(r, "TCB level").actual,
            "none of 2 (SGX components 3 3 2 2 2 1 0 2 0 0 0 0 0 0 0 0, PCESVN 11, TEE_TCB_SVN "
            "03000400000000000000000000000000)");
}

TEST(TdxCollateral, AMissingModuleIdentityHasNoStatus) {
  // The COS quote runs module major version 1, but this (older) TCB info for
  // its FMSPC lists no module identities.
  const Quote q = quote("tdx/cos_go_tdx_guest_quote.dat");
  const VerificationReport r =
      collateral_report(q, edgeless_collateral(), kEdgelessTime, without_crls());
  const std::vector<std::string> expected = {"TDX module identity", "TCB status"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  EXPECT_EQ(check_named(r, "TDX module identity").expected, "TDX_01 in the TCB info");
}

TEST(TdxCollateral, AnotherPlatformsTcbInfoFailsTheFmspc) {
  const Quote q = quote("tdx/phala_v4_quote.dat");
  const VerificationReport r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  const Check& fmspc = check_named(r, "TCB info FMSPC");
  EXPECT_FALSE(fmspc.passed);
  EXPECT_EQ(fmspc.expected, "b0c06f000000");
  EXPECT_EQ(fmspc.actual, "50806f000000");
}

TEST(TdxCollateral, UnsignedCollateralFailsUnlessAllowed) {
  // Without the TCB signing certificate nothing says the documents are
  // Intel's: a failing check, not a claim.
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  VerificationReport r = collateral_report(q, go_tdx_guest_collateral(false), kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"TCB signing certificate"}) << r.to_text();
  EXPECT_EQ(check_named(r, "TCB signing certificate").actual,
            "none given: the collateral's signatures cannot be checked");
  EXPECT_FALSE(has_check(r, "TCB info signature"));
  // Explicitly allowed (collateral from an authenticated channel): a claim.
  CollateralPolicy policy;
  policy.allow_unsigned_collateral = true;
  r = collateral_report(q, go_tdx_guest_collateral(false), kGoTdxGuestTime, policy);
  EXPECT_TRUE(r.passed()) << r.to_text();
  EXPECT_FALSE(has_check(r, "TCB signing certificate"));
  EXPECT_EQ(*r.find_claim("collateral signatures"),
            "not checked: no TCB signing certificate given (allowed by policy)");
}

TEST(TdxCollateral, ExpiredCollateralAtTheRealTimeFailsFreshness) {
  // Both documents expired in 2023, and so did their CRLs.
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  CollateralPolicy policy;
  policy.allow_unsigned_collateral = true;  // the signing certificate expired too
  const VerificationReport r =
      collateral_report(q, go_tdx_guest_collateral(false), system_clock::now(), policy);
  ASSERT_NE(r.first_failure(), nullptr);
  EXPECT_EQ(r.first_failure()->name, "TCB info freshness");
  EXPECT_EQ(r.first_failure()->expected, "2023-06-18T08:42:58Z <= now < 2023-07-18T08:42:58Z");
  EXPECT_FALSE(check_named(r, "QE identity freshness").passed);
  EXPECT_FALSE(check_named(r, "root CA CRL").passed);
  EXPECT_NE(check_named(r, "PCK CRL").actual.find("expired at 2023-07-08T07:27:52Z"),
            std::string::npos)
      << check_named(r, "PCK CRL").actual;
}

TEST(TdxCollateral, RealCrlsOfThePlatformCaAndTheRoot) {
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  VerificationReport r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  EXPECT_TRUE(r.passed()) << r.to_text();
  EXPECT_EQ(check_named(r, "root CA CRL").expected, "signed by Intel SGX Root CA, current");
  EXPECT_EQ(check_named(r, "root CA CRL").actual, "signed, current until 2024-04-02T10:22:51Z");
  EXPECT_EQ(check_named(r, "PCK CRL").expected, "signed by Intel SGX PCK Platform CA, current");
  EXPECT_TRUE(check_named(r, "PCK revocation").passed);
  EXPECT_TRUE(check_named(r, "PCK CA revocation").passed);
  EXPECT_TRUE(check_named(r, "TCB signing certificate revocation").passed);

  // Missing CRLs fail closed; allowing it is explicit and claimed.
  Collateral c = go_tdx_guest_collateral();
  c.pck_crl = std::nullopt;
  r = collateral_report(q, c, kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"PCK CRL"}) << r.to_text();
  EXPECT_EQ(check_named(r, "PCK CRL").actual, "none given: revocation cannot be checked");
  r = collateral_report(q, c, kGoTdxGuestTime, without_crls());
  EXPECT_TRUE(r.passed()) << r.to_text();
  EXPECT_EQ(*r.find_claim("PCK CRL"), "not checked: none given (allowed by policy)");

  // The root's CRL given as the PCK CA's: not its issuer.
  c = go_tdx_guest_collateral();
  c.pck_crl = c.root_crl;
  r = collateral_report(q, c, kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"PCK CRL"}) << r.to_text();
  EXPECT_EQ(check_named(r, "PCK CRL").actual,
            "CRL issuer (C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX Root CA) is not "
            "C=US,ST=CA,L=Santa Clara,O=Intel Corporation,CN=Intel SGX PCK Platform CA");
  EXPECT_FALSE(has_check(r, "PCK revocation"));

  // One bit of the signature changed.
  c = go_tdx_guest_collateral();
  c.pck_crl->back() ^= std::byte{1};
  r = collateral_report(q, c, kGoTdxGuestTime);
  EXPECT_NE(check_named(r, "PCK CRL").actual.find("signature does not verify"), std::string::npos)
      << r.to_text();

  // After nextUpdate (2023-07-08) the PCK CRL is stale.
  r = collateral_report(q, go_tdx_guest_collateral(), sys_days(year{2023} / 7 / 10));
  EXPECT_FALSE(check_named(r, "PCK CRL").passed);
  EXPECT_TRUE(check_named(r, "root CA CRL").passed);

  c = go_tdx_guest_collateral();
  c.root_crl = std::vector<std::byte>(10, std::byte{0x30});
  r = collateral_report(q, c, kGoTdxGuestTime);
  EXPECT_EQ(check_named(r, "root CA CRL").actual.rfind("not a DER CRL", 0), 0u);
}

TEST(TdxCollateral, SignaturesCoverTheExactServedBytes) {
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  const std::string text = read_text("tdx/go_tdx_guest_tcb_info.json");
  Collateral c = go_tdx_guest_collateral();

  // Outside the signed value, layout does not matter.
  c.tcb_info = parse_tcb_info(replaced(text, "{\"tcbInfo\":", "{ \"tcbInfo\" :\n")).value();
  EXPECT_TRUE(check_named(collateral_report(q, c, kGoTdxGuestTime), "TCB info signature").passed);

  // Inside it, a changed level or even added whitespace breaks the signature.
  c.tcb_info = parse_tcb_info(replaced(text, "\"pcesvn\":5", "\"pcesvn\":4")).value();
  EXPECT_EQ(c.tcb_info.levels[1].pcesvn, 4);
  VerificationReport r = collateral_report(q, c, kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"TCB info signature"}) << r.to_text();
  c.tcb_info = parse_tcb_info(replaced(text, "{\"id\":\"TDX\"", "{ \"id\":\"TDX\"")).value();
  EXPECT_FALSE(check_named(collateral_report(q, c, kGoTdxGuestTime), "TCB info signature").passed);

  // A QE identity with a raised ISVSVN threshold is no longer Intel's.
  c = go_tdx_guest_collateral();
  c.qe_identity = parse_qe_identity(replaced(read_text("tdx/go_tdx_guest_qe_identity.json"),
                                             "\"isvsvn\":4", "\"isvsvn\":3"))
                      .value();
  r = collateral_report(q, c, kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"QE identity signature"}) << r.to_text();
}

TEST(TdxCollateral, QeIdentityComparison) {
  Quote q = quote("tdx/trustee_v4_quote.dat");
  q.qe_report.mr_signer[0] ^= std::byte{1};
  q.qe_report.isv_prod_id = 1;
  q.qe_report.attributes[0] = std::byte{0x05};  // INIT | MODE64BIT, without PROVISIONKEY
  q.qe_report.isv_svn = 3;                      // below the only level (4)
  const VerificationReport r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  const std::vector<std::string> expected = {"QE identity MRSIGNER", "QE identity ISVPRODID",
                                             "QE identity attributes", "QE TCB level",
                                             "TCB status"};
  EXPECT_EQ(failed_checks(r), expected) << r.to_text();
  // Bits outside the mask (0xfb: MODE64BIT) do not count.
  q = quote("tdx/trustee_v4_quote.dat");
  ASSERT_EQ(q.qe_report.attributes[0], std::byte{0x15});
  q.qe_report.attributes[0] = std::byte{0x11};
  EXPECT_TRUE(check_named(collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime),
                          "QE identity attributes")
                  .passed);
}

TEST(TdxCollateral, Policy) {
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  CollateralPolicy policy;
  policy.min_tcb_evaluation_data_number = 16;
  VerificationReport r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime, policy);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"TCB evaluation data number"});
  EXPECT_EQ(check_named(r, "TCB evaluation data number").expected, ">= 16");

  policy = {};
  policy.accepted_statuses = {TcbStatus::sw_hardening_needed};
  r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime, policy);
  const Check& status = check_named(r, "TCB status");
  EXPECT_FALSE(status.passed);
  EXPECT_EQ(status.expected, "SWHardeningNeeded");
  EXPECT_EQ(status.actual, "UpToDate");
}

TEST(TdxCollateral, StatusNamesAndConvergence) {
  for (TcbStatus s :
       {TcbStatus::up_to_date, TcbStatus::sw_hardening_needed, TcbStatus::configuration_needed,
        TcbStatus::configuration_and_sw_hardening_needed, TcbStatus::out_of_date,
        TcbStatus::out_of_date_configuration_needed, TcbStatus::revoked}) {
    EXPECT_EQ(tcb_status_from_name(tcb_status_name(s)), s);
    EXPECT_EQ(converge_tcb_status(s, TcbStatus::up_to_date), s);
    EXPECT_EQ(converge_tcb_status(s, TcbStatus::revoked), TcbStatus::revoked);
  }
  EXPECT_EQ(tcb_status_from_name("uptodate"), std::nullopt);
  EXPECT_EQ(converge_tcb_status(TcbStatus::up_to_date, TcbStatus::out_of_date),
            TcbStatus::out_of_date);
  EXPECT_EQ(converge_tcb_status(TcbStatus::sw_hardening_needed, TcbStatus::out_of_date),
            TcbStatus::out_of_date);
  EXPECT_EQ(converge_tcb_status(TcbStatus::configuration_needed, TcbStatus::out_of_date),
            TcbStatus::out_of_date_configuration_needed);
  EXPECT_EQ(
      converge_tcb_status(TcbStatus::configuration_and_sw_hardening_needed, TcbStatus::out_of_date),
      TcbStatus::out_of_date_configuration_needed);
  EXPECT_EQ(converge_tcb_status(TcbStatus::revoked, TcbStatus::out_of_date), TcbStatus::revoked);
}

// Each platform and module comparison against the TCB info fails by name
// when the quote (or the document) differs in that field alone.
TEST(TdxCollateral, EachPlatformComparisonFailsByName) {
  const Quote real = quote("tdx/trustee_v4_quote.dat");
  Collateral c = go_tdx_guest_collateral();
  c.tcb_info = parse_tcb_info(replaced(read_text("tdx/go_tdx_guest_tcb_info.json"),
                                       "\"pceId\":\"0000\"", "\"pceId\":\"0100\""))
                   .value();
  VerificationReport r = collateral_report(real, c, kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), (std::vector<std::string>{"TCB info signature", "TCB info PCE-ID"}))
      << r.to_text();
  EXPECT_EQ(check_named(r, "TCB info PCE-ID").expected, "0000");

  Quote q = real;
  q.body.mr_signer_seam[5] ^= std::byte{1};
  r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"TDX module signer"}) << r.to_text();

  q = real;
  q.body.seam_attributes[0] = std::byte{1};
  r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"TDX module attributes"}) << r.to_text();

  q = real;
  q.qe_report.misc_select = 1;
  r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"QE identity MISCSELECT"}) << r.to_text();
  EXPECT_EQ(check_named(r, "QE identity MISCSELECT").actual, "0x00000001");
}

TEST(TdxCollateral, ModuleIdentityComparisonsFailByName) {
  // TDX 1.5 (module major version 1): TDX_01's signer and attributes.
  const Quote real = quote("tdx/v5_go_tdx_guest_quote.dat");
  Collateral c = edgeless_collateral();
  c.tcb_info = parse_tcb_info(read_text("tdx/go_tdx_guest_tcb_info_v5.json")).value();
  c.qe_identity = parse_qe_identity(read_text("tdx/go_tdx_guest_qe_identity.json")).value();
  CollateralPolicy policy = without_crls();
  policy.allow_unsigned_collateral = true;  // the certificate expired before this TCB info
  const TimePoint at = sys_days(year{2026} / 2 / 15);
  Quote q = real;
  q.body.mr_signer_seam[0] ^= std::byte{1};
  VerificationReport r = collateral_report(q, c, at, policy);
  EXPECT_TRUE(check_named(r, "TDX module identity").passed) << r.to_text();
  EXPECT_FALSE(check_named(r, "TDX module identity signer").passed);
  EXPECT_FALSE(check_named(r, "TDX module signer").passed);
  q = real;
  q.body.seam_attributes[7] = std::byte{0x80};
  r = collateral_report(q, c, at, policy);
  EXPECT_FALSE(check_named(r, "TDX module identity attributes").passed) << r.to_text();
  EXPECT_TRUE(check_named(r, "TDX module identity signer").passed);
  // A module older than every TDX_01 level.
  q = real;
  q.body.tee_tcb_svn[0] = std::byte{1};
  r = collateral_report(q, c, at, policy);
  EXPECT_EQ(check_named(r, "TDX module TCB level").actual, "none") << r.to_text();
  EXPECT_FALSE(check_named(r, "TDX module TCB level").passed);
  // A major version the TCB info does not list.
  q = real;
  q.body.tee_tcb_svn[1] = std::byte{2};
  r = collateral_report(q, c, at, policy);
  EXPECT_EQ(check_named(r, "TDX module identity").actual, "absent") << r.to_text();
}

TEST(TdxCollateral, AllowedPiids) {
  const Quote q = quote("tdx/trustee_v4_quote.dat");
  const PckExtensions pck = parse_pck_extensions(parse_pck_chain(q).value().leaf).value();
  ASSERT_TRUE(pck.platform_instance_id.has_value());
  CollateralPolicy policy;
  policy.allowed_piids = {std::array<std::byte, 16>{}};
  VerificationReport r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime, policy);
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"PIID"}) << r.to_text();
  EXPECT_EQ(check_named(r, "PIID").actual, crypto::to_hex(*pck.platform_instance_id));
  policy.allowed_piids.push_back(*pck.platform_instance_id);
  r = collateral_report(q, go_tdx_guest_collateral(), kGoTdxGuestTime, policy);
  EXPECT_TRUE(r.passed()) << r.to_text();
}

// A revoked PCK certificate or PCK CA: CRLs signed under a local PKI, with
// the trustee quote and the go-tdx-guest documents re-signed under it.
TEST(TdxCollateral, ListedCertificatesAreRevoked) {
  local_pki::TestPki pki;
  const Quote q = pki.resign(quote("tdx/trustee_v4_quote.dat"));
  Collateral c{
      parse_tcb_info(pki.resign_json(read_text("tdx/go_tdx_guest_tcb_info.json"), "tcbInfo"))
          .value(),
      parse_qe_identity(
          pki.resign_json(read_text("tdx/go_tdx_guest_qe_identity.json"), "enclaveIdentity"))
          .value(),
      pki.tcb_signing, std::nullopt, std::nullopt};
  const TimePoint from = kGoTdxGuestTime - days(1), until = kGoTdxGuestTime + days(30);
  const auto report = [&] {
    VerificationReport r = verify_quote(q, pki.trusted_root(), kGoTdxGuestTime);
    check_collateral(q, c, pki.trusted_root(), CollateralPolicy{}, kGoTdxGuestTime, r);
    return r;
  };
  c.root_crl = local_pki::TestPki::crl(pki.root, pki.root_key, {}, from, until);
  c.pck_crl = local_pki::TestPki::crl(pki.pck_ca, pki.pck_ca_key, {}, from, until);
  VerificationReport r = report();
  EXPECT_TRUE(r.passed()) << r.to_text();

  c.pck_crl = local_pki::TestPki::crl(pki.pck_ca, pki.pck_ca_key, {*pki.pck}, from, until);
  r = report();
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"PCK revocation"}) << r.to_text();
  EXPECT_EQ(check_named(r, "PCK revocation").actual,
            "revoked (Intel SGX PCK Certificate is listed)");

  c.pck_crl = local_pki::TestPki::crl(pki.pck_ca, pki.pck_ca_key, {}, from, until);
  c.root_crl =
      local_pki::TestPki::crl(pki.root, pki.root_key, {pki.pck_ca, pki.tcb_signing}, from, until);
  r = report();
  EXPECT_EQ(failed_checks(r),
            (std::vector<std::string>{"PCK CA revocation", "TCB signing certificate revocation"}))
      << r.to_text();

  // A CRL under the right name but another key.
  const auto other = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  c.root_crl = local_pki::TestPki::crl(pki.root, other, {}, from, until);
  r = report();
  EXPECT_EQ(failed_checks(r), std::vector<std::string>{"root CA CRL"}) << r.to_text();
  EXPECT_NE(check_named(r, "root CA CRL").actual.find("signature does not verify"),
            std::string::npos);
}

// failure parses a TCB info (or QE identity) and returns its error message.
template <class Parse>
std::string failure(Parse parse, const std::string& text, errc code = errc::malformed_evidence) {
  auto r = parse(text);
  EXPECT_FALSE(r);
  if (r) return {};
  EXPECT_EQ(r.error(), code) << r.error().message();
  return r.error().message();
}

TEST(TdxCollateral, MalformedTcbInfoNamesTheField) {
  const std::string text = read_text("tdx/go_tdx_guest_tcb_info.json");
  const auto parse = [](const std::string& t) { return parse_tcb_info(t); };
  EXPECT_EQ(failure(parse, "tcbInfo").rfind("TCB info: not JSON (", 0), 0u);
  EXPECT_EQ(failure(parse, "[1, 2]"), "TCB info: not a JSON object");
  EXPECT_EQ(failure(parse, replaced(text, "\"pcesvn\":11,", "")),
            "TCB info: tcbLevels[0].tcb.pcesvn: missing or not an unsigned integer");
  EXPECT_EQ(failure(parse, replaced(text, "\"id\":\"TDX\"", "\"id\":\"SGX\""),
                    errc::unsupported_evidence),
            "TCB info: id: \"SGX\" is not \"TDX\"");
  EXPECT_EQ(
      failure(parse, replaced(text, "\"version\":3", "\"version\":2"), errc::unsupported_evidence),
      "TCB info: version: 2 is not supported (3)");
  EXPECT_EQ(failure(parse, replaced(text, "\"tcbStatus\":\"OutOfDate\"", "\"tcbStatus\":\"Fine\"")),
            "TCB info: tcbLevels[1].tcbStatus: unknown TCB status \"Fine\"");
  EXPECT_EQ(
      failure(parse,
              replaced(text, "{\"svn\":3,\"category\":\"OS/VMM\",\"type\":\"SEAMLDR ACM\"},", "")),
      "TCB info: tcbLevels[0].tcb.sgxtcbcomponents: 15 elements, expected 16");
  EXPECT_EQ(failure(parse, replaced(text, "{\"svn\":5,\"category\":\"BIOS\"",
                                    "{\"svn\":256,\"category\":\"BIOS\"")),
            "TCB info: tcbLevels[0].tcb.sgxtcbcomponents[0].svn: 256 exceeds 255");
  EXPECT_EQ(failure(parse, replaced(text, "\"50806f000000\"", "\"50806f0000\"")),
            "TCB info: fmspc: expected 12 hex digits");
  EXPECT_EQ(failure(parse, replaced(text, "2023-06-18T08:42:58Z", "2023-06-18 08:42:58")),
            "TCB info: issueDate: \"2023-06-18 08:42:58\" is not YYYY-MM-DDThh:mm:ssZ (1970-2200)");
  EXPECT_EQ(
      failure(parse, replaced(text, "2023-06-18T08:42:58Z", "2023-02-30T08:42:58Z")),
      "TCB info: issueDate: \"2023-02-30T08:42:58Z\" is not YYYY-MM-DDThh:mm:ssZ (1970-2200)");
  EXPECT_EQ(failure(parse, replaced(text, "2023-07-18T08:42:58Z", "9999-07-18T08:42:58Z")),
            "TCB info: nextUpdate: \"9999-07-18T08:42:58Z\" is not YYYY-MM-DDThh:mm:ssZ "
            "(1970-2200)");
  EXPECT_EQ(failure(parse, replaced(text, "\"tcbLevels\":[{", "\"tcbLevels\":[], \"x\":[{")),
            "TCB info: tcbLevels: is empty");
  EXPECT_EQ(
      failure(parse, replaced(text, "\"tcbType\":0", "\"tcbType\":1"), errc::unsupported_evidence),
      "TCB info: tcbType: 1 is not supported (0)");
  const std::string signature_field = text.substr(text.rfind(",\"signature\""));
  EXPECT_EQ(failure(parse, replaced(text, signature_field, "}")),
            "TCB info: signature: missing or repeated");
  EXPECT_EQ(
      failure(parse, replaced(text, ",\"signature\":", ",\"signature\":\"00\",\"signature\":")),
      "TCB info: signature: missing or repeated");
  EXPECT_EQ(failure(parse, replaced(text, "\"signature\":\"f6", "\"signature\":\"")),
            "TCB info: signature: expected 128 hex digits (r ‖ s)");
  EXPECT_EQ(failure(parse, replaced(text, "{\"tcbInfo\":", "{\"tcbInfo\":1,\"tcbInfo\":")),
            "TCB info: tcbInfo: missing or repeated");
}

TEST(TdxCollateral, MalformedQeIdentityNamesTheField) {
  const std::string text = read_text("tdx/go_tdx_guest_qe_identity.json");
  const auto parse = [](const std::string& t) { return parse_qe_identity(t); };
  EXPECT_EQ(failure(parse, replaced(text, "\"TD_QE\"", "\"QE\""), errc::unsupported_evidence),
            "QE identity: id: \"QE\" is not \"TD_QE\"");
  EXPECT_EQ(failure(parse, replaced(text, "\"isvprodid\":2", "\"isvprodid\":70000")),
            "QE identity: isvprodid: 70000 exceeds 65535");
  EXPECT_EQ(failure(parse, replaced(text, "\"isvprodid\":2", "\"isvprodid\":-2")),
            "QE identity: isvprodid: missing or not an unsigned integer");
  EXPECT_EQ(
      failure(parse, replaced(text, "\"miscselect\":\"00000000\"", "\"miscselect\":\"0000000g\"")),
      "QE identity: miscselect: expected 8 hex digits");
  EXPECT_EQ(failure(parse, replaced(text, "{\"tcb\":{\"isvsvn\":4}", "{\"tcb\":{}")),
            "QE identity: tcbLevels[0].tcb.isvsvn: missing or not an unsigned integer");
  EXPECT_EQ(failure(parse, replaced(text, "\"enclaveIdentity\":", "\"tcbInfo\":")),
            "QE identity: enclaveIdentity: missing or repeated");
}

}  // namespace
}  // namespace cipherline::attest::tdx
