// Test support: TDX evidence and collateral re-signed under a locally
// generated PKI, for checks that only a signer can make fail (a PCK key
// that is not P-256, a revoked PCK certificate, collateral for a modified
// platform) and for a Coordinator quote whose REPORTDATA is bound to a
// nonce. The shapes are real: the quote's QE report and body, the PCK
// certificate's SGX extension and the collateral documents are taken from
// the vectors and changed only where a test says so; the names are Intel's
// ("Intel SGX TCB Signing"), the keys are generated here.
//
//   TestPki pki;                                   // root, PCK CA, PCK, TCB signing
//   Quote q = pki.resign(real_quote);              // same body, our signatures
//   std::string tcb = pki.resign_json(real_tcb_info_text, "tcbInfo");
//   auto crl = pki.crl(pki.pck_ca, pki.pck_ca_key, {pki.pck}, from, until);
#pragma once

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "cipherline/attest/tdx/quote.hpp"
#include "cipherline/attest/tdx/verify.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::attest::tdx::local_pki {

using namespace std::chrono;

inline constexpr std::string_view kSgxExtension = "1.2.840.113741.1.13.1";

template <class T>
T must(Result<T, Error> r) {
  if (!r) throw std::runtime_error(r.error().message());
  return std::move(*r);
}

// The body of a TDX 1.0 quote in quote layout (spec §5.1).
inline void write_body(const TdQuoteBody& b, std::span<std::byte> out) {
  std::size_t at = 0;
  const auto put = [&](std::span<const std::byte> v) {
    std::copy(v.begin(), v.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
    at += v.size();
  };
  put(b.tee_tcb_svn);
  put(b.mr_seam);
  put(b.mr_signer_seam);
  put(b.seam_attributes);
  put(b.td_attributes);
  put(b.xfam);
  put(b.mr_td);
  put(b.mr_config_id);
  put(b.mr_owner);
  put(b.mr_owner_config);
  for (const auto& rtmr : b.rtmrs) put(rtmr);
  put(b.report_data);
}

inline void put_le(std::vector<std::byte>& out, std::uint64_t v, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<std::byte>(v >> (8 * i)));
}

struct TestPki {
  const system_clock::time_point from = sys_days(year{2020} / 1 / 1);
  const system_clock::time_point until = sys_days(year{2040} / 1 / 1);
  crypto::PrivateKey root_key = must(crypto::PrivateKey::generate(crypto::KeyType::ec_p256));
  crypto::PrivateKey pck_ca_key = must(crypto::PrivateKey::generate(crypto::KeyType::ec_p256));
  crypto::PrivateKey tcb_signing_key = must(crypto::PrivateKey::generate(crypto::KeyType::ec_p256));
  crypto::PrivateKey attestation_key = must(crypto::PrivateKey::generate(crypto::KeyType::ec_p256));
  crypto::Certificate root =
      must(crypto::issue_certificate({.subject = {{"CN", "Test SGX Root CA"}},
                                      .public_key = root_key.public_key(),
                                      .not_before = from,
                                      .not_after = until,
                                      .ca = true},
                                     root_key, nullptr, crypto::Signature::ecdsa_sha256));
  crypto::Certificate pck_ca =
      must(crypto::issue_certificate({.subject = {{"CN", "Test SGX PCK Platform CA"}},
                                      .public_key = pck_ca_key.public_key(),
                                      .not_before = from,
                                      .not_after = until,
                                      .serial = 2,
                                      .ca = true},
                                     root_key, &root, crypto::Signature::ecdsa_sha256));
  crypto::Certificate tcb_signing =
      must(crypto::issue_certificate({.subject = {{"CN", "Intel SGX TCB Signing"}},
                                      .public_key = tcb_signing_key.public_key(),
                                      .not_before = from,
                                      .not_after = until,
                                      .serial = 3},
                                     root_key, &root, crypto::Signature::ecdsa_sha256));
  // Set by resign(): the PCK key and certificate of the last quote.
  std::optional<crypto::PrivateKey> pck_key;
  std::optional<crypto::Certificate> pck;

  TrustedRoot trusted_root() const { return {root, true}; }

  // resign rebuilds a version 4 quote with `original`'s header, body (as
  // given, possibly changed) and QE report (fields as given; REPORTDATA
  // recomputed), a fresh attestation key, and a PCK certificate of key type
  // `pck_key_type` carrying `sgx_extension` (default: the original PCK's).
  Quote resign(const Quote& original, crypto::KeyType pck_key_type = crypto::KeyType::ec_p256,
               std::optional<std::vector<std::byte>> sgx_extension = std::nullopt) {
    const auto real_pck = must(parse_pck_chain(original)).leaf;
    if (!sgx_extension) sgx_extension = real_pck.extension(kSgxExtension).value();
    pck_key = must(crypto::PrivateKey::generate(pck_key_type));
    pck = must(crypto::issue_certificate(
        {.subject = {{"CN", "Intel SGX PCK Certificate"}},
         .public_key = pck_key->public_key(),
         .not_before = from,
         .not_after = until,
         .serial = 0x1234,
         .extensions = {{std::string(kSgxExtension), *sgx_extension, false}}},
        pck_ca_key, &pck_ca, crypto::Signature::ecdsa_sha256));
    std::vector<std::byte> raw(original.raw.begin(), original.raw.begin() + kHeaderSize);
    raw.resize(kHeaderSize + kTdx10BodySize);
    write_body(original.body, std::span(raw).subspan(kHeaderSize));
    const auto spki = attestation_key.public_key().spki_der();
    const auto key_xy = std::span(spki).last(64);
    const auto quote_signature =
        must(attestation_key.sign_ecdsa(crypto::Hash::sha256, raw, crypto::SignatureFormat::raw));

    std::array<std::byte, kQeReportSize> qe = original.qe_report.raw;
    const auto put_u16 = [&qe](std::size_t at, std::uint16_t v) {
      qe[at] = static_cast<std::byte>(v);
      qe[at + 1] = static_cast<std::byte>(v >> 8);
    };
    for (std::size_t i = 0; i < 4; ++i) {
      qe[16 + i] = static_cast<std::byte>(original.qe_report.misc_select >> (8 * i));
    }
    std::copy(original.qe_report.attributes.begin(), original.qe_report.attributes.end(),
              qe.begin() + 48);
    std::copy(original.qe_report.mr_signer.begin(), original.qe_report.mr_signer.end(),
              qe.begin() + 128);
    put_u16(256, original.qe_report.isv_prod_id);
    put_u16(258, original.qe_report.isv_svn);
    const auto binding = crypto::sha256({key_xy, original.qe_auth_data});
    std::fill(qe.begin() + 320, qe.end(), std::byte{0});
    std::copy(binding.begin(), binding.end(), qe.begin() + 320);
    auto qe_signature =
        must(pck_key->sign_ecdsa(crypto::Hash::sha256, qe, crypto::SignatureFormat::raw));
    // The field holds a P-256 r ‖ s; another key's signature cannot fit.
    if (qe_signature.size() != 64) qe_signature.assign(64, std::byte{0});

    const std::string chain = crypto::to_pem(*pck) + crypto::to_pem(pck_ca) + crypto::to_pem(root);
    std::vector<std::byte> qe_cert(qe.begin(), qe.end());
    qe_cert.insert(qe_cert.end(), qe_signature.begin(), qe_signature.end());
    put_le(qe_cert, original.qe_auth_data.size(), 2);
    qe_cert.insert(qe_cert.end(), original.qe_auth_data.begin(), original.qe_auth_data.end());
    put_le(qe_cert, kCertificationDataPckChain, 2);
    put_le(qe_cert, chain.size(), 4);
    const auto chain_bytes = std::as_bytes(std::span(chain));
    qe_cert.insert(qe_cert.end(), chain_bytes.begin(), chain_bytes.end());
    std::vector<std::byte> signature_data(quote_signature.begin(), quote_signature.end());
    signature_data.insert(signature_data.end(), key_xy.begin(), key_xy.end());
    put_le(signature_data, kCertificationDataQeReport, 2);
    put_le(signature_data, qe_cert.size(), 4);
    signature_data.insert(signature_data.end(), qe_cert.begin(), qe_cert.end());
    put_le(raw, signature_data.size(), 4);
    raw.insert(raw.end(), signature_data.begin(), signature_data.end());
    return must(parse_quote(raw));
  }

  // resign_json signs the exact text of the `key` value of a PCS response
  // (`{"<key>":<value>,"signature":"…"}`) with the TCB signing key.
  std::string resign_json(const std::string& response, const std::string& key) const {
    const std::string open = "{\"" + key + "\":";
    if (response.rfind(open, 0) != 0) throw std::runtime_error("not a " + key + " response");
    const auto end = response.rfind(",\"signature\"");
    const std::string body = response.substr(open.size(), end - open.size());
    const auto signature = must(tcb_signing_key.sign_ecdsa(
        crypto::Hash::sha256, std::as_bytes(std::span(body)), crypto::SignatureFormat::raw));
    return open + body + ",\"signature\":\"" + crypto::to_hex(signature) + "\"}";
  }

  // crl issues a DER CRL by `issuer` listing `revoked`, valid from..until.
  static std::vector<std::byte> crl(const crypto::Certificate& issuer,
                                    const crypto::PrivateKey& issuer_key,
                                    const std::vector<crypto::Certificate>& revoked,
                                    system_clock::time_point this_update,
                                    system_clock::time_point next_update) {
    crypto::CrlSpec spec{.this_update = this_update, .next_update = next_update};
    for (const crypto::Certificate& c : revoked) {
      std::uint64_t serial = 0;
      for (std::byte b : c.serial()) serial = (serial << 8) | std::to_integer<std::uint64_t>(b);
      spec.revoked_serials.push_back(serial);
    }
    return must(crypto::issue_crl(spec, issuer_key, issuer, crypto::Signature::ecdsa_sha256)).der();
  }
};

}  // namespace cipherline::attest::tdx::local_pki
