// The software TEE's GPU evidence: real SPDM reports that the production
// verifier accepts with the development root and rejects without it.
#include <gtest/gtest.h>

#include "cipherline/attest/error.hpp"
#include "cipherline/attest/sim/gpu_issuer.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::attest::sim {
namespace {

using namespace std::chrono;

const system_clock::time_point kNow = system_clock::now();

std::array<std::byte, nvgpu::kNonceSize> nonce(std::uint8_t fill) {
  std::array<std::byte, nvgpu::kNonceSize> n{};
  n.fill(static_cast<std::byte>(fill));
  return n;
}

std::vector<std::string> failed_checks(const VerificationReport& r) {
  std::vector<std::string> out;
  for (const Check& c : r.checks()) {
    if (!c.passed) out.push_back(c.name);
  }
  return out;
}

// The reference values of the default development GPU, every block listed.
nvgpu::ReferenceValues development_reference() {
  nvgpu::ReferenceValues ref{.driver_versions = {"550.90.07"},
                             .vbios_versions = {"96.00.9F.00.01"}};
  const auto values = development_gpu_measurements();
  for (std::size_t i = 0; i < values.size(); ++i) {
    ref.measurements.push_back({static_cast<std::uint8_t>(i + 1),
                                {std::vector<std::byte>(values[i].begin(), values[i].end())}});
  }
  return ref;
}

class SimGpu : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    pki_ = new DevelopmentGpuPki(DevelopmentGpuPki::generate(kNow).value());
  }
  static void TearDownTestSuite() { delete pki_; }
  static const DevelopmentGpuPki& pki() { return *pki_; }

  static VerificationReport verify(const nvgpu::AttestationReport& report,
                                   const nvgpu::TrustedGpuRoot& root,
                                   std::uint8_t expected_nonce = 0xA5) {
    return nvgpu::verify_report(report, pki().certificate_chain(), root, nonce(expected_nonce),
                                development_reference(), kNow);
  }

 private:
  static inline DevelopmentGpuPki* pki_ = nullptr;
};

TEST_F(SimGpu, ReportsVerifyWithTheDevelopmentRootOnly) {
  const auto report = issue_gpu_report(pki(), GpuState{}, nonce(0xA5)).value();
  const VerificationReport trusted = verify(report, pki().trusted_root());
  EXPECT_TRUE(trusted.passed()) << trusted.to_text();
  EXPECT_EQ(trusted.checks().size(), 5u + 2u + 64u);
  EXPECT_EQ(trusted.checks().front().expected, "a development root (explicitly trusted)");

  // NVIDIA's root: the pin holds (it is NVIDIA's), the chain does not.
  const VerificationReport nvidia = verify(report, nvgpu::nvidia_root());
  EXPECT_EQ(failed_checks(nvidia), std::vector<std::string>{"certificate chain"})
      << nvidia.to_text();

  // The development root without development trust fails the pin.
  const nvgpu::TrustedGpuRoot undeclared{pki().root, false};
  const VerificationReport pinned = verify(report, undeclared);
  EXPECT_EQ(failed_checks(pinned), std::vector<std::string>{"root"}) << pinned.to_text();
}

TEST_F(SimGpu, LeafKeyNotP384) {
  // The same chain with a P-256 key in the leaf, under the same intermediate.
  const auto p256 = crypto::PrivateKey::generate(crypto::KeyType::ec_p256).value();
  const crypto::Certificate leaf =
      crypto::issue_certificate({.subject = {{"CN", "leaf with a P-256 key"}},
                                 .public_key = p256.public_key(),
                                 .not_before = kNow - hours(1),
                                 .not_after = kNow + hours(1),
                                 .serial = 77},
                                pki().intermediate_key, &pki().intermediate,
                                crypto::Signature::ecdsa_sha384)
          .value();
  const crypto::Certificate chain[] = {leaf, pki().intermediate, pki().root};
  const auto report = issue_gpu_report(pki(), GpuState{}, nonce(0xA5)).value();
  const VerificationReport r = nvgpu::verify_report(report, chain, pki().trusted_root(),
                                                    nonce(0xA5), development_reference(), kNow);
  // The signature cannot be checked with that key either.
  EXPECT_EQ(failed_checks(r), (std::vector<std::string>{"leaf key", "report signature"}))
      << r.to_text();
  for (const Check& c : r.checks()) {
    if (c.name == "leaf key") EXPECT_EQ(c.actual, "EC P-256");
  }
}

TEST_F(SimGpu, ReportsHaveTheRealLayout) {
  GpuState state;
  state.driver_version = "570.124.06";
  state.vbios_version = "96.00.af.00.02";
  state.measurements.resize(3);
  const auto report = issue_gpu_report(pki(), state, nonce(0x11)).value();
  EXPECT_EQ(report.request.version, 0x11);
  EXPECT_EQ(report.request.operation, 0xFF);
  EXPECT_EQ(report.request.nonce, nonce(0x11));
  std::size_t opaque_size = 0;
  for (const nvgpu::OpaqueField& f : report.response.opaque) opaque_size += 4 + f.value.size();
  EXPECT_EQ(report.raw.size(),
            nvgpu::kRequestSize + 8 + 3 * 55 + 32 + 2 + opaque_size + nvgpu::kSignatureSize);
  ASSERT_EQ(report.response.blocks.size(), 3u);
  EXPECT_EQ(report.response.blocks[2].index, 3);
  EXPECT_EQ(report.response.blocks[0].value,
            std::vector<std::byte>(state.measurements[0].begin(), state.measurements[0].end()));
  EXPECT_EQ(report.driver_version, "570.124.06");
  EXPECT_EQ(report.vbios_version, "96.00.AF.00.02");
  EXPECT_EQ(report.project, "1010");
  EXPECT_EQ(report.project_sku, "0200");
  EXPECT_EQ(report.chip_sku, "882");
  // The responder's nonce is fresh for every report.
  const auto again = issue_gpu_report(pki(), state, nonce(0x11)).value();
  EXPECT_NE(again.response.nonce, report.response.nonce);

  // Hex text, as NVIDIA's tools write reports, parses to the same bytes.
  const std::string text = crypto::to_hex(report.raw);
  const auto from_text =
      nvgpu::parse_report(std::as_bytes(std::span(text.data(), text.size()))).value();
  EXPECT_EQ(from_text.raw, report.raw);
}

TEST_F(SimGpu, FreshnessAndReferenceValuesAreChecked) {
  const auto report = issue_gpu_report(pki(), GpuState{}, nonce(0xA5)).value();
  EXPECT_EQ(failed_checks(verify(report, pki().trusted_root(), 0x5A)),
            std::vector<std::string>{"nonce"});

  GpuState changed;
  changed.measurements[9][0] ^= std::byte{0x01};
  changed.driver_version = "550.54.15";
  const auto other = issue_gpu_report(pki(), changed, nonce(0xA5)).value();
  EXPECT_EQ(failed_checks(verify(other, pki().trusted_root())),
            (std::vector<std::string>{"driver version", "measurement 10"}));

  auto tampered = report.raw;
  tampered[nvgpu::kRequestSize + 8 + 7] ^= std::byte{0x01};  // block 1's value
  EXPECT_EQ(failed_checks(verify(nvgpu::parse_report(tampered).value(), pki().trusted_root())),
            (std::vector<std::string>{"report signature", "measurement 1"}));
}

TEST_F(SimGpu, InvalidStatesAreRefused) {
  GpuState none;
  none.measurements.clear();
  auto r = issue_gpu_report(pki(), none, nonce(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("0 measurements"), std::string::npos);

  GpuState too_many;
  too_many.measurements.resize(255);
  EXPECT_FALSE(issue_gpu_report(pki(), too_many, nonce(1)));
  too_many.measurements.resize(254);
  EXPECT_EQ(issue_gpu_report(pki(), too_many, nonce(1)).value().response.blocks.size(), 254u);

  GpuState bad_vbios;
  bad_vbios.vbios_version = "96.00.9F";
  r = issue_gpu_report(pki(), bad_vbios, nonce(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("VBIOS version '96.00.9F'"), std::string::npos);

  GpuState bad_driver;
  bad_driver.driver_version = std::string("550\n90", 6);
  r = issue_gpu_report(pki(), bad_driver, nonce(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("driver version is not printable ASCII"), std::string::npos);
}

TEST_F(SimGpu, CertificateNamesSayNotNvidia) {
  for (const crypto::Certificate& c : pki().certificate_chain()) {
    EXPECT_NE(c.subject().find("O=cipherline development TEE (NOT NVIDIA)"), std::string::npos)
        << c.subject();
  }
  EXPECT_NE(pki().leaf.subject().find("CN=GH100 A01 GSP FMC LF"), std::string::npos);
  EXPECT_EQ(pki().leaf.issuer(), pki().intermediate.subject());
  EXPECT_EQ(pki().intermediate.issuer(), pki().root.subject());
  EXPECT_EQ(pki().leaf.public_key()->type(), crypto::PublicKey::Type::ec_p384);
}

TEST_F(SimGpu, PemBundleRoundTrip) {
  const auto bundle = pki().to_pem_bundle();
  const auto loaded = DevelopmentGpuPki::from_pem_bundle(bundle.bytes()).value();
  EXPECT_EQ(loaded.root.der(), pki().root.der());
  EXPECT_EQ(loaded.intermediate.der(), pki().intermediate.der());
  EXPECT_EQ(loaded.leaf.der(), pki().leaf.der());
  // The loaded keys sign reports that verify under the original root.
  const auto report = issue_gpu_report(loaded, GpuState{}, nonce(0xA5)).value();
  EXPECT_TRUE(verify(report, pki().trusted_root()).passed());

  const std::string_view text(reinterpret_cast<const char*>(bundle.bytes().data()), bundle.size());
  const auto truncated =
      DevelopmentGpuPki::from_pem_bundle(std::as_bytes(std::span(text.data(), text.size() / 2)));
  ASSERT_FALSE(truncated);
  EXPECT_NE(truncated.error().message().find("expected 3 certificates and 3 private keys"),
            std::string::npos);

  // Keys in the wrong order are caught when the bundle is read.
  const auto other = DevelopmentGpuPki::generate(kNow).value();
  DevelopmentGpuPki mixed = pki();
  mixed.leaf_key = other.leaf_key;
  const auto mixed_bundle = mixed.to_pem_bundle();
  const auto rejected = DevelopmentGpuPki::from_pem_bundle(mixed_bundle.bytes());
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error(), errc::malformed_evidence);
  EXPECT_NE(rejected.error().message().find("private key 3 is not the leaf certificate's key"),
            std::string::npos)
      << rejected.error().message();
}

}  // namespace
}  // namespace cipherline::attest::sim
