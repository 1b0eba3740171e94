// Every SEV-SNP check failing on its own: evidence from the software TEE
// (real-format reports signed by a local AMD-shaped chain) with exactly one
// thing changed — a field of the report (signed again), a VCEK extension or
// key, a reference value, or AMD's CRL — and the check that must catch it.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <algorithm>
#include <functional>
#include <memory>

#include "../../src/attest/little_endian.hpp"
#include "cipherline/attest/sim/snp_issuer.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/sha512.hpp"

namespace cipherline::attest::snp {
namespace {

using namespace std::chrono;
using sim::DevelopmentSnpPki;

const system_clock::time_point kNow = system_clock::now();

std::vector<std::string> failed_checks(const VerificationReport& r) {
  std::vector<std::string> out;
  for (const Check& c : r.checks()) {
    if (!c.passed) out.push_back(c.name);
  }
  return out;
}

const Check& named(const VerificationReport& r, std::string_view name) {
  for (const Check& c : r.checks()) {
    if (c.name == name) return c;
  }
  throw std::runtime_error("no check named " + std::string(name) + " in\n" + r.to_text());
}

using Names = std::vector<std::string>;

class SnpChecks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    genoa_ = new DevelopmentSnpPki(DevelopmentSnpPki::generate(Product::genoa, kNow).value());
    turin_ = new DevelopmentSnpPki(DevelopmentSnpPki::generate(Product::turin, kNow).value());
  }
  static void TearDownTestSuite() {
    delete genoa_;
    delete turin_;
  }
  static const DevelopmentSnpPki& genoa() { return *genoa_; }
  static const DevelopmentSnpPki& turin() { return *turin_; }

  static sim::SnpLaunch launch() {
    sim::SnpLaunch l;
    l.measurement = sim::measurement_of(std::as_bytes(std::span("checks", 6)));
    return l;
  }
  static std::array<std::byte, 64> report_data() {
    std::array<std::byte, 64> d{};
    d.fill(std::byte{0x42});
    return d;
  }
  static AttestationReport issued(const DevelopmentSnpPki& pki) {
    return sim::issue_snp_report(pki, launch(), report_data()).value();
  }
  // edited: an issued report with `edit` applied to its raw bytes, signed again.
  template <class Edit>
  static AttestationReport edited(const DevelopmentSnpPki& pki, Edit edit) {
    auto raw = issued(pki).raw;
    edit(raw.data());
    return sim::sign_snp_report(pki, raw).value();
  }
  static VerificationReport verify(const AttestationReport& report,
                                   const DevelopmentSnpPki& pki = genoa(),
                                   const Revocation& revocation = {}) {
    return verify_report(report, pki.vcek, pki.trusted_chain(), kNow, nullptr, revocation);
  }
  static VerificationReport verify_with(const AttestationReport& report,
                                        const crypto::Certificate& vcek,
                                        const DevelopmentSnpPki& pki = genoa()) {
    return verify_report(report, vcek, pki.trusted_chain(), kNow);
  }
  // The reference values the issued launch meets (as a manifest would give them).
  static ReferenceValues reference(const DevelopmentSnpPki& pki = genoa()) {
    ReferenceValues ref;
    ref.product = pki.product;
    ref.trusted_measurement = launch().measurement;
    ref.minimum_tcb = pki.tcb;
    ref.guest_policy.smt = true;
    ref.platform_info = {.smt_enabled = true, .ecc_enabled = true, .alias_check_complete = true};
    ref.report_data = report_data();
    return ref;
  }
  static VerificationReport check_reference(const AttestationReport& report,
                                            const ReferenceValues& ref) {
    VerificationReport r("reference values");
    check_reference_values(report, ref, r);
    return r;
  }
  // A VCEK like the PKI's with its extensions changed by `edit`.
  template <class Edit>
  static crypto::Certificate vcek_with(const DevelopmentSnpPki& pki, Edit edit) {
    auto extensions = sim::vcek_extensions(pki);
    edit(extensions);
    return sim::issue_vcek(pki, pki.vcek_key.public_key(), std::move(extensions)).value();
  }
  static void erase_extension(std::vector<crypto::CertificateExtension>& x, std::string suffix) {
    const std::string oid = "1.3.6.1.4.1.3704.1." + suffix;
    const auto before = x.size();
    std::erase_if(x, [&](const auto& e) { return e.oid == oid; });
    if (x.size() == before) throw std::logic_error("no extension " + oid);
  }
  static void set_extension(std::vector<crypto::CertificateExtension>& x, std::string suffix,
                            std::vector<std::byte> der) {
    const std::string oid = "1.3.6.1.4.1.3704.1." + suffix;
    for (auto& e : x) {
      if (e.oid == oid) e.der = std::move(der);
    }
  }
  static void store(std::byte* raw, std::size_t offset, std::uint64_t value, std::size_t size) {
    attest::internal::store_le(raw + offset, value, size);
  }

 private:
  static inline DevelopmentSnpPki* genoa_ = nullptr;
  static inline DevelopmentSnpPki* turin_ = nullptr;
};

TEST_F(SnpChecks, TheUneditedEvidencePassesEveryCheck) {
  for (const DevelopmentSnpPki* pki : {&genoa(), &turin()}) {
    const auto report = issued(*pki);
    const VerificationReport r = verify(report, *pki);
    EXPECT_TRUE(r.passed()) << r.to_text();
    EXPECT_TRUE(check_reference(report, reference(*pki)).passed())
        << check_reference(report, reference(*pki)).to_text();
  }
  // sign_snp_report of unchanged bytes gives a report that verifies alike.
  EXPECT_TRUE(verify(edited(genoa(), [](std::byte*) {})).passed());
}

TEST_F(SnpChecks, VcekKeyNotP384) {
  const auto p256 = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  const auto vcek =
      sim::issue_vcek(genoa(), p256.public_key(), sim::vcek_extensions(genoa())).value();
  const VerificationReport r = verify_with(issued(genoa()), vcek);
  // The signature cannot be checked with that key either.
  EXPECT_EQ(failed_checks(r), (Names{"VCEK key", "report signature"})) << r.to_text();
  EXPECT_EQ(named(r, "VCEK key").actual, "EC P-256");
}

// A VCEK under the ASK whose SubjectPublicKeyInfo names an algorithm
// OpenSSL does not know (so X509_get_pubkey gives NULL).
crypto::Certificate vcek_with_unknown_key(const DevelopmentSnpPki& pki) {
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 0);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), system_clock::to_time_t(kNow - hours(1)));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), system_clock::to_time_t(kNow + hours(1)));
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("SEV-VCEK"), -1, -1, 0);
  X509_set_issuer_name(x.get(), X509_get_subject_name(pki.ask.native()));
  auto* key_bytes = static_cast<unsigned char*>(OPENSSL_zalloc(97));
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x.get()), OBJ_txt2obj("1.3.6.1.4.1.55555.2", 1),
                             V_ASN1_UNDEF, nullptr, key_bytes, 97) != 1 ||
      X509_sign(x.get(), pki.ask_key.native(), EVP_sha384()) <= 0) {
    throw std::runtime_error("building the certificate");
  }
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  auto cert = crypto::Certificate::from_der(
                  std::span(reinterpret_cast<const std::byte*>(der), static_cast<std::size_t>(len)))
                  .value();
  OPENSSL_free(der);
  return cert;
}

TEST_F(SnpChecks, VcekKeyOpenSslCannotUse) {
  const VerificationReport r = verify_with(issued(genoa()), vcek_with_unknown_key(genoa()));
  // Errors in the checks, not a crash (OpenSSL cannot verify the chain of
  // such a leaf either, and it has no KDS extensions).
  EXPECT_EQ(failed_checks(r),
            (Names{"certificate chain", "VCEK key", "report signature", "VCEK extensions"}))
      << r.to_text();
  EXPECT_NE(named(r, "VCEK key").actual.find("algorithm 1.3.6.1.4.1.55555.2"), std::string::npos)
      << named(r, "VCEK key").actual;
}

TEST_F(SnpChecks, CommittedTcbAboveCurrent) {
  TcbVersion higher = genoa().tcb;
  higher.snp += 1;
  const auto report = edited(genoa(), [&](std::byte* raw) {
    store(raw, 0x1E0, encode_tcb(higher, Product::genoa), 8);  // COMMITTED_TCB
  });
  const VerificationReport r = verify(report);
  EXPECT_EQ(failed_checks(r), Names{"committed TCB"}) << r.to_text();
}

TEST_F(SnpChecks, VcekTcbAboveCurrent) {
  TcbVersion lower = genoa().tcb;
  lower.snp -= 1;
  const auto report = edited(genoa(), [&](std::byte* raw) {
    store(raw, 0x038, encode_tcb(lower, Product::genoa), 8);  // CURRENT_TCB
    store(raw, 0x1E0, encode_tcb(lower, Product::genoa), 8);  // COMMITTED_TCB, not above it
  });
  const VerificationReport r = verify(report);
  EXPECT_EQ(failed_checks(r), Names{"VCEK TCB"}) << r.to_text();
}

TEST_F(SnpChecks, ReportedTcbNotTheVceks) {
  TcbVersion other = genoa().tcb;
  other.microcode += 1;
  const auto report = edited(genoa(), [&](std::byte* raw) {
    store(raw, 0x180, encode_tcb(other, Product::genoa), 8);  // REPORTED_TCB
  });
  EXPECT_EQ(failed_checks(verify(report)), Names{"reported TCB"});
}

TEST_F(SnpChecks, MissingOrMalformedVcekExtensions) {
  const auto report = issued(genoa());
  const struct {
    const char* what;
    std::function<void(std::vector<crypto::CertificateExtension>&)> edit;
    const char* message;
  } cases[] = {
      {"no blSPL", [](auto& x) { erase_extension(x, "3.1"); },
       "blSPL (1.3.6.1.4.1.3704.1.3.1) is missing"},
      {"no ucodeSPL", [](auto& x) { erase_extension(x, "3.8"); }, "ucodeSPL"},
      {"no productName", [](auto& x) { erase_extension(x, "2"); }, "productName"},
      {"productName not IA5", [](auto& x) { set_extension(x, "2", crypto::der_integer(3)); },
       "not an IA5String"},
      {"snpSPL negative",
       [](auto& x) {
         set_extension(x, "3.3", {std::byte{0x02}, std::byte{0x01}, std::byte{0xFF}});
       },
       "snpSPL (1.3.6.1.4.1.3704.1.3.3) is not a small non-negative INTEGER"},
      {"teeSPL above 255", [](auto& x) { set_extension(x, "3.2", crypto::der_integer(256)); },
       "teeSPL 256 exceeds 255"},
      {"hwID short", [](auto& x) { set_extension(x, "4", std::vector<std::byte>(63)); },
       "hwID has 63 bytes, expected 64"},
      {"neither hwID nor cspID", [](auto& x) { erase_extension(x, "4"); },
       "neither hwID (1.3.6.1.4.1.3704.1.4) nor cspID"},
  };
  for (const auto& c : cases) {
    const VerificationReport r = verify_with(report, vcek_with(genoa(), c.edit));
    EXPECT_EQ(failed_checks(r), Names{"VCEK extensions"}) << c.what << "\n" << r.to_text();
    EXPECT_NE(named(r, "VCEK extensions").actual.find(c.message), std::string::npos)
        << c.what << ": " << named(r, "VCEK extensions").actual;
  }
}

TEST_F(SnpChecks, TurinVcekWithoutFmcSpl) {
  const auto vcek = vcek_with(turin(), [](auto& x) { erase_extension(x, "3.9"); });
  const VerificationReport r = verify_with(issued(turin()), vcek, turin());
  EXPECT_EQ(failed_checks(r), Names{"VCEK extensions"}) << r.to_text();
  EXPECT_NE(named(r, "VCEK extensions").actual.find("fmcSPL (1.3.6.1.4.1.3704.1.3.9) is missing"),
            std::string::npos)
      << named(r, "VCEK extensions").actual;
  // A Turin hwID is 8 bytes.
  const auto long_id =
      vcek_with(turin(), [](auto& x) { set_extension(x, "4", std::vector<std::byte>(64)); });
  EXPECT_NE(named(verify_with(issued(turin()), long_id, turin()), "VCEK extensions")
                .actual.find("hwID has 64 bytes, expected 8"),
            std::string::npos);
}

TEST_F(SnpChecks, MaskChipKeyRequiresAZeroChipId) {
  // MASK_CHIP_KEY with the chip's ID still in the report: refused.
  const auto unmasked_id = edited(genoa(), [](std::byte* raw) { raw[0x048] |= std::byte{0x02}; });
  ASSERT_TRUE(unmasked_id.mask_chip_key);
  const VerificationReport r = verify(unmasked_id);
  EXPECT_EQ(failed_checks(r), Names{"chip ID"}) << r.to_text();
  EXPECT_EQ(named(r, "chip ID").expected, "all zero (MASK_CHIP_KEY)");
  // With the ID masked as the firmware does: accepted.
  const auto masked = edited(genoa(), [](std::byte* raw) {
    raw[0x048] |= std::byte{0x02};
    std::fill(raw + 0x1A0, raw + 0x1E0, std::byte{0});
  });
  const VerificationReport ok = verify(masked);
  EXPECT_TRUE(ok.passed()) << ok.to_text();
  EXPECT_EQ(named(ok, "chip ID").actual, "all zero");
  // Without MASK_CHIP_KEY a zero chip ID is not the VCEK's.
  const auto zero =
      edited(genoa(), [](std::byte* raw) { std::fill(raw + 0x1A0, raw + 0x1E0, std::byte{0}); });
  EXPECT_EQ(failed_checks(verify(zero)), Names{"chip ID"});
}

TEST_F(SnpChecks, TurinChipIdBytesAfterTheEighthMustBeZero) {
  EXPECT_TRUE(verify(issued(turin()), turin()).passed());
  const auto report = edited(turin(), [](std::byte* raw) { raw[0x1A0 + 8] = std::byte{1}; });
  const VerificationReport r = verify(report, turin());
  EXPECT_EQ(failed_checks(r), Names{"chip ID"}) << r.to_text();
  const auto last = edited(turin(), [](std::byte* raw) { raw[0x1A0 + 63] = std::byte{0x80}; });
  EXPECT_EQ(failed_checks(verify(last, turin())), Names{"chip ID"});
}

TEST_F(SnpChecks, WrongProductVcek) {
  // A v2 report takes its product from the VCEK: one that names Milan,
  // under the Genoa chain.
  const auto v2 = edited(genoa(), [](std::byte* raw) {
    store(raw, 0x000, 2, 4);
    std::fill(raw + 0x188, raw + 0x18B, std::byte{0});
  });
  const auto milan =
      vcek_with(genoa(), [](auto& x) { set_extension(x, "2", crypto::der_ia5_string("Milan")); });
  const VerificationReport r = verify_with(v2, milan);
  EXPECT_EQ(failed_checks(r), Names{"product"}) << r.to_text();
  EXPECT_EQ(named(r, "product").actual, "Milan");
}

TEST_F(SnpChecks, VmplNotZero) {
  const auto report = edited(genoa(), [](std::byte* raw) { store(raw, 0x030, 1, 4); });
  EXPECT_TRUE(verify(report).passed());
  EXPECT_EQ(failed_checks(check_reference(report, reference())), Names{"VMPL"});
}

TEST_F(SnpChecks, FirmwareBuildAndApiVersion) {
  const auto build = edited(genoa(), [](std::byte* raw) { raw[0x1EC] = std::byte{22}; });
  EXPECT_EQ(failed_checks(check_reference(build, reference())), Names{"firmware build"});
  const auto minor = edited(genoa(), [](std::byte* raw) { raw[0x1ED] = std::byte{56}; });
  EXPECT_EQ(failed_checks(check_reference(minor, reference())), Names{"firmware API version"});
  const auto major = edited(genoa(), [](std::byte* raw) {
    raw[0x1EE] = std::byte{2};
    raw[0x1ED] = std::byte{0};
  });
  EXPECT_EQ(failed_checks(check_reference(major, reference())), Names{"firmware API version"});
}

TEST_F(SnpChecks, PolicyBitsAndAbi) {
  // The ID key digest pins the policy too; without an ID block required,
  // the policy check alone must catch each.
  ReferenceValues ref = reference();
  ref.require_id_block = false;
  const auto migrate = edited(genoa(), [](std::byte* raw) { raw[0x008 + 2] |= std::byte{0x04}; });
  VerificationReport r = check_reference(migrate, ref);
  EXPECT_EQ(failed_checks(r), Names{"guest policy"}) << r.to_text();
  EXPECT_NE(named(r, "guest policy").actual.find("MIGRATE_MA set but not allowed"),
            std::string::npos);

  ReferenceValues no_smt = ref;
  no_smt.guest_policy.smt = false;
  r = check_reference(issued(genoa()), no_smt);
  EXPECT_EQ(failed_checks(r), Names{"guest policy"}) << r.to_text();
  EXPECT_NE(named(r, "guest policy").actual.find("SMT set but not allowed"), std::string::npos);

  ReferenceValues abi = ref;
  abi.guest_policy.abi_major = 1;
  abi.guest_policy.abi_minor = 51;
  r = check_reference(issued(genoa()), abi);
  EXPECT_EQ(failed_checks(r), Names{"guest policy"}) << r.to_text();
  EXPECT_NE(named(r, "guest policy").actual.find("ABI 0.0 below 1.51"), std::string::npos)
      << named(r, "guest policy").actual;
}

TEST_F(SnpChecks, MinimumReportedAndLaunchTcbSeparately) {
  TcbVersion higher = genoa().tcb;
  higher.snp += 2;
  TcbVersion lower = genoa().tcb;
  lower.snp -= 1;
  // LAUNCH_TCB below the minimum, REPORTED_TCB at it.
  const auto old_launch = edited(
      genoa(), [&](std::byte* raw) { store(raw, 0x1F0, encode_tcb(lower, Product::genoa), 8); });
  EXPECT_EQ(failed_checks(check_reference(old_launch, reference())), Names{"minimum TCB (launch)"});
  // REPORTED_TCB below a minimum that LAUNCH_TCB meets.
  const auto new_launch = edited(
      genoa(), [&](std::byte* raw) { store(raw, 0x1F0, encode_tcb(higher, Product::genoa), 8); });
  ReferenceValues ref = reference();
  ref.minimum_tcb.snp += 1;
  EXPECT_EQ(failed_checks(check_reference(new_launch, ref)), Names{"minimum TCB (reported)"});
}

TEST_F(SnpChecks, MitigationVectorsOnV5Only) {
  ReferenceValues ref = reference();
  ref.minimum_mitigation_vector = 0x3;
  const auto v5 = [&](std::uint64_t launch_vector, std::uint64_t current_vector) {
    return edited(genoa(), [&](std::byte* raw) {
      store(raw, 0x000, 5, 4);
      store(raw, 0x1F8, launch_vector, 8);
      store(raw, 0x200, current_vector, 8);
    });
  };
  EXPECT_TRUE(check_reference(v5(0x7, 0xB), ref).passed());
  EXPECT_EQ(failed_checks(check_reference(v5(0x1, 0x3), ref)), Names{"mitigation vectors"});
  EXPECT_EQ(failed_checks(check_reference(v5(0x3, 0x2), ref)), Names{"mitigation vectors"});
  // A v3 report has none: not checked (Contrast's rule), and said so.
  const VerificationReport v3 = check_reference(issued(genoa()), ref);
  EXPECT_TRUE(v3.passed()) << v3.to_text();
  EXPECT_EQ(named(v3, "mitigation vectors").actual, "none in a version 3 report");
}

TEST_F(SnpChecks, VlekSignedReportsAreRefusedByContrastReferenceValues) {
  const auto vlek = DevelopmentSnpPki::generate(Product::genoa, kNow, SigningKey::vlek).value();
  const auto report = issued(vlek);
  EXPECT_TRUE(verify(report, vlek).passed());  // genuine under its ASVK
  ReferenceValues ref = reference(vlek);
  VerificationReport r = check_reference(report, ref);
  EXPECT_EQ(failed_checks(r), Names{"endorsement key"}) << r.to_text();
  EXPECT_EQ(named(r, "endorsement key").actual, "VLEK");
  ref.allow_vlek = true;
  EXPECT_TRUE(check_reference(report, ref).passed());
}

// AMD's CRL: signed by the ARK, current, the ASK not listed; fail closed
// where it is given, and the fail-open and require choices.
TEST_F(SnpChecks, AmdCrl) {
  const auto report = issued(genoa());
  const auto crl_der = [&](std::vector<std::uint64_t> revoked, system_clock::time_point at = kNow) {
    return sim::issue_amd_crl(genoa(), at, std::move(revoked)).value().der();
  };
  {
    const VerificationReport none = verify(report);
    EXPECT_TRUE(none.passed());
    EXPECT_EQ(named(none, "AMD CRL").actual, "none given: revocation not checked");
    const VerificationReport required = verify(report, genoa(), {.policy = {.require_crl = true}});
    EXPECT_EQ(failed_checks(required), Names{"AMD CRL"});
  }
  {
    const auto der = crl_der({7, 9});
    const VerificationReport r = verify(report, genoa(), {.crl = der});
    EXPECT_TRUE(r.passed()) << r.to_text();
    EXPECT_EQ(named(r, "AMD CRL").actual, "verified (2 serials listed)");
    EXPECT_EQ(named(r, "ASK revocation").actual, "not listed");
    // PEM works as well.
    const std::string pem = crypto::to_pem(crypto::Crl::from_der(der).value());
    EXPECT_TRUE(verify(report, genoa(), {.crl = std::as_bytes(std::span(pem))}).passed());
  }
  {
    const auto der = crl_der({2});  // the ASK's serial
    const VerificationReport r = verify(report, genoa(), {.crl = der});
    EXPECT_EQ(failed_checks(r), Names{"ASK revocation"}) << r.to_text();
    EXPECT_EQ(named(r, "ASK revocation").actual, "revoked");
    // Fail-open concerns unusable CRLs only: a listed ASK still fails.
    EXPECT_EQ(failed_checks(verify(report, genoa(), {.crl = der, .policy = {.fail_open = true}})),
              Names{"ASK revocation"});
  }
  {
    const auto stale = crl_der({}, kNow - hours(24 * 30));
    const VerificationReport closed = verify(report, genoa(), {.crl = stale});
    EXPECT_EQ(failed_checks(closed), Names{"AMD CRL"}) << closed.to_text();
    EXPECT_NE(named(closed, "AMD CRL").actual.find("expired at"), std::string::npos);
    const VerificationReport open =
        verify(report, genoa(), {.crl = stale, .policy = {.fail_open = true}});
    EXPECT_TRUE(open.passed()) << open.to_text();
    EXPECT_NE(named(open, "AMD CRL").actual.find("revocation not checked"), std::string::npos);
  }
  {
    // Signed by another key under the ARK's name, or not a CRL at all.
    const auto other = DevelopmentSnpPki::generate(Product::genoa, kNow).value();
    const auto forged = sim::issue_amd_crl(other, kNow).value().der();
    const VerificationReport r = verify(report, genoa(), {.crl = forged});
    EXPECT_EQ(failed_checks(r), Names{"AMD CRL"}) << r.to_text();
    EXPECT_NE(named(r, "AMD CRL").actual.find("signature does not verify"), std::string::npos)
        << named(r, "AMD CRL").actual;
    const std::byte junk[] = {std::byte{0x30}, std::byte{0x00}};
    EXPECT_EQ(failed_checks(verify(report, genoa(), {.crl = junk})), Names{"AMD CRL"});
  }
}

}  // namespace
}  // namespace cipherline::attest::snp
