#include "cipherline/attest/sim/snp_issuer.hpp"

#include <cstring>
#include <string_view>

#include "../assign_or_return.hpp"
#include "../little_endian.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/sha512.hpp"
#include "pem_bundle.hpp"

namespace cipherline::attest::sim {
namespace {

using namespace std::chrono;
using crypto::CertificateExtension;

constexpr std::string_view kKds = "1.3.6.1.4.1.3704.1.";
constexpr std::string_view kOrganization = "cipherline development TEE (NOT AMD)";

std::vector<std::pair<std::string, std::string>> amd_style_name(const std::string& cn) {
  return {{"OU", "Engineering"},
          {"C", "US"},
          {"L", "Santa Clara"},
          {"ST", "CA"},
          {"O", std::string(kOrganization)},
          {"CN", cn}};
}

struct Cpuid {
  std::uint8_t family, model, stepping;
};
Cpuid cpuid_of(snp::Product p) {
  switch (p) {
    case snp::Product::milan:
      return {0x19, 0x01, 0x01};
    case snp::Product::turin:
      return {0x1A, 0x02, 0x00};
    default:
      return {0x19, 0x11, 0x01};
  }
}

}  // namespace

std::array<std::byte, 48> measurement_of(std::span<const std::byte> image) {
  return crypto::sha384(image);
}

Result<DevelopmentSnpPki, Error> DevelopmentSnpPki::generate(snp::Product product,
                                                             system_clock::time_point now,
                                                             snp::SigningKey signing_key) {
  const bool vlek = signing_key == snp::SigningKey::vlek;
  if (product == snp::Product::unknown) {
    return Error(errc::unsupported_evidence, "development SNP PKI: no product given");
  }
  const std::string name(snp::product_name(product));
  ASSIGN_OR_RETURN(ark_key, crypto::PrivateKey::generate(crypto::KeyType::rsa_4096));
  ASSIGN_OR_RETURN(ask_key, crypto::PrivateKey::generate(crypto::KeyType::rsa_4096));
  ASSIGN_OR_RETURN(vcek_key, crypto::PrivateKey::generate(crypto::KeyType::ec_p384));
  const auto from = now - hours(24);
  const auto to = now + hours(24 * 3650);

  crypto::CertificateSpec ark_spec{.subject = amd_style_name("ARK-" + name),
                                   .public_key = ark_key.public_key(),
                                   .not_before = from,
                                   .not_after = to,
                                   .serial = 1,
                                   .ca = true};
  ASSIGN_OR_RETURN(ark, crypto::issue_certificate(ark_spec, ark_key, nullptr,
                                                  crypto::Signature::rsa_pss_sha384));
  crypto::CertificateSpec ask_spec{.subject = amd_style_name((vlek ? "SEV-VLEK-" : "SEV-") + name),
                                   .public_key = ask_key.public_key(),
                                   .not_before = from,
                                   .not_after = to,
                                   .serial = 2,
                                   .ca = true};
  ASSIGN_OR_RETURN(
      ask, crypto::issue_certificate(ask_spec, ark_key, &ark, crypto::Signature::rsa_pss_sha384));

  DevelopmentSnpPki pki{.product = product,
                        .signing_key = signing_key,
                        .ark_key = ark_key,
                        .ask_key = ask_key,
                        .vcek_key = vcek_key,
                        .ark = ark,
                        .ask = ask,
                        .vcek = ark};  // replaced below
  crypto::random_bytes(pki.chip_id);
  if (product == snp::Product::turin)
    std::fill(pki.chip_id.begin() + 8, pki.chip_id.end(), std::byte{0});
  // Current enough for Privatemode's minimum TCB.
  pki.tcb.fmc = product == snp::Product::turin ? 1 : 0;
  pki.tcb.bootloader = 10;
  pki.tcb.tee = 0;
  pki.tcb.snp = 28;
  pki.tcb.microcode = 88;
  pki.tcb.raw = snp::encode_tcb(pki.tcb, product);

  ASSIGN_OR_RETURN(vcek, issue_vcek(pki, vcek_key.public_key(), vcek_extensions(pki)));
  pki.vcek = vcek;
  return pki;
}

std::vector<crypto::CertificateExtension> vcek_extensions(const DevelopmentSnpPki& pki) {
  const snp::Product product = pki.product;
  const bool vlek = pki.signing_key == snp::SigningKey::vlek;
  const std::string name(snp::product_name(product));
  const auto oid = [](std::string_view suffix) { return std::string(kKds) + std::string(suffix); };
  std::vector<CertificateExtension> kds = {
      {oid("1"), crypto::der_integer(product == snp::Product::turin ? 1 : 0)},
      {oid("2"), crypto::der_ia5_string(name)},
      {oid("3.1"), crypto::der_integer(pki.tcb.bootloader)},
      {oid("3.2"), crypto::der_integer(pki.tcb.tee)},
      {oid("3.3"), crypto::der_integer(pki.tcb.snp)},
      {oid("3.8"), crypto::der_integer(pki.tcb.microcode)},
  };
  if (product == snp::Product::turin) {
    kds.push_back({oid("3.9"), crypto::der_integer(pki.tcb.fmc)});
  } else {
    for (int i = 4; i <= 7; ++i)
      kds.push_back({oid("3." + std::to_string(i)), crypto::der_integer(0)});
  }
  if (vlek) {
    kds.push_back({oid("5"), crypto::der_ia5_string("cipherline development")});
  } else {
    const std::size_t id_size = product == snp::Product::turin ? 8 : 64;
    kds.push_back(
        {oid("4"), std::vector<std::byte>(pki.chip_id.begin(), pki.chip_id.begin() + id_size)});
  }
  return kds;
}

Result<crypto::Certificate, Error> issue_vcek(
    const DevelopmentSnpPki& pki, const crypto::PublicKey& key,
    std::vector<crypto::CertificateExtension> extensions) {
  const bool vlek = pki.signing_key == snp::SigningKey::vlek;
  crypto::CertificateSpec spec{.subject = amd_style_name(vlek ? "SEV-VLEK" : "SEV-VCEK"),
                               .public_key = key,
                               .not_before = pki.ask.not_before(),
                               .not_after = pki.ask.not_after(),
                               .serial = 0,
                               .extensions = std::move(extensions)};
  return crypto::issue_certificate(spec, pki.ask_key, &pki.ask, crypto::Signature::rsa_pss_sha384);
}

Result<crypto::Crl, Error> issue_amd_crl(const DevelopmentSnpPki& pki, system_clock::time_point now,
                                         std::vector<std::uint64_t> revoked) {
  return crypto::issue_crl({.this_update = now - hours(1),
                            .next_update = now + hours(24 * 7),
                            .revoked_serials = std::move(revoked)},
                           pki.ark_key, pki.ark, crypto::Signature::rsa_pss_sha384);
}

snp::TrustedChain DevelopmentSnpPki::trusted_chain() const {
  return snp::TrustedChain{product, ask, ark, true, signing_key};
}

crypto::SecretBytes DevelopmentSnpPki::to_pem_bundle() const {
  const crypto::Certificate certs[] = {ark, ask, vcek};
  const crypto::PrivateKey keys[] = {ark_key, ask_key, vcek_key};
  return internal::write_pem_bundle(certs, keys);
}

Result<DevelopmentSnpPki, Error> DevelopmentSnpPki::from_pem_bundle(
    std::span<const std::byte> pem) {
  static constexpr const char* kRoles[] = {"ARK", "ASK", "VCEK"};
  ASSIGN_OR_RETURN(bundle, internal::read_pem_bundle(pem, "development SNP PKI", kRoles));
  const auto& certs = bundle.certificates;
  const auto& keys = bundle.keys;
  auto extensions = snp::parse_vcek_extensions(certs[2]);
  if (!extensions) {
    return Error(errc::malformed_evidence,
                 "development SNP PKI bundle: " + extensions.error().message());
  }
  DevelopmentSnpPki pki{
      .product = snp::product_from_name(extensions->product_name),
      .signing_key = extensions->csp_id.empty() ? snp::SigningKey::vcek : snp::SigningKey::vlek,
      .ark_key = keys[0],
      .ask_key = keys[1],
      .vcek_key = keys[2],
      .ark = certs[0],
      .ask = certs[1],
      .vcek = certs[2]};
  std::copy(extensions->hwid.begin(), extensions->hwid.end(), pki.chip_id.begin());  // VCEK
  pki.tcb = extensions->tcb;
  return pki;
}

Result<snp::AttestationReport, Error> issue_snp_report(const DevelopmentSnpPki& pki,
                                                       const SnpLaunch& launch,
                                                       std::span<const std::byte, 64> report_data) {
  std::array<std::byte, snp::kReportSize> raw{};
  std::byte* r = raw.data();
  const std::uint64_t tcb = pki.tcb.raw;
  attest::internal::store_le(r + 0x000, 3, 4);  // VERSION
  attest::internal::store_le(r + 0x004, 2, 4);  // GUEST_SVN, as Contrast's ID block
  attest::internal::store_le(r + 0x008, launch.policy, 8);
  r[0x010] = std::byte{1};                      // FAMILY_ID
  r[0x020] = std::byte{2};                      // IMAGE_ID
  attest::internal::store_le(r + 0x034, 1, 4);  // SIGNATURE_ALGO: ECDSA P-384 with SHA-384
  attest::internal::store_le(r + 0x038, tcb, 8);
  attest::internal::store_le(r + 0x040, launch.platform_info, 8);
  attest::internal::store_le(r + 0x048, static_cast<std::uint64_t>(pki.signing_key) << 2,
                             4);  // SIGNING_KEY
  std::memcpy(r + 0x050, report_data.data(), 64);
  std::memcpy(r + 0x090, launch.measurement.data(), 48);
  std::memcpy(r + 0x0C0, launch.host_data.data(), 32);
  const auto id_key_digest = snp::contrast_id_key_digest(launch.measurement, launch.policy);
  std::memcpy(r + 0x0E0, id_key_digest.data(), 48);
  crypto::random_bytes(std::span(r + 0x140, 32));  // REPORT_ID
  std::memset(r + 0x160, 0xFF, 32);                // REPORT_ID_MA: none
  attest::internal::store_le(r + 0x180, tcb, 8);   // REPORTED_TCB
  const Cpuid cpuid = cpuid_of(pki.product);
  r[0x188] = static_cast<std::byte>(cpuid.family);
  r[0x189] = static_cast<std::byte>(cpuid.model);
  r[0x18A] = static_cast<std::byte>(cpuid.stepping);
  std::memcpy(r + 0x1A0, pki.chip_id.data(), 64);
  attest::internal::store_le(r + 0x1E0, tcb, 8);  // COMMITTED_TCB
  r[0x1E8] = std::byte{21};                       // firmware 1.55 build 21, current and committed
  r[0x1E9] = std::byte{55};
  r[0x1EA] = std::byte{1};
  r[0x1EC] = std::byte{21};
  r[0x1ED] = std::byte{55};
  r[0x1EE] = std::byte{1};
  attest::internal::store_le(r + 0x1F0, tcb, 8);  // LAUNCH_TCB
  return sign_snp_report(pki, raw);
}

Result<snp::AttestationReport, Error> sign_snp_report(
    const DevelopmentSnpPki& pki, std::span<const std::byte, snp::kReportSize> bytes) {
  std::array<std::byte, snp::kReportSize> raw{};
  std::copy(bytes.begin(), bytes.end(), raw.begin());
  std::byte* r = raw.data();
  auto signature = pki.vcek_key.sign_ecdsa(
      crypto::Hash::sha384, std::span(raw).first(snp::kSignedSize), crypto::SignatureFormat::raw);
  if (!signature) return signature.error();
  for (std::size_t i = 0; i < 48; ++i) {  // big-endian r, s → 72-byte little-endian fields
    r[0x2A0 + i] = (*signature)[47 - i];
    r[0x2E8 + i] = (*signature)[48 + 47 - i];
  }
  return snp::parse_report(raw);
}

}  // namespace cipherline::attest::sim
