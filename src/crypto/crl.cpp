#include "cipherline/crypto/crl.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>

#include "byte_access.hpp"
#include "cipherline/crypto/error.hpp"
#include "openssl_error.hpp"
#include "x509_text.hpp"

namespace cipherline::crypto {
namespace {

Error crl_error(const std::string& what) {
  const std::string reason = openssl_reason();
  return Error(errc::crl_invalid, reason.empty() ? what : what + ": " + reason);
}

// magnitude: big-endian bytes without leading zeros.
std::span<const std::byte> magnitude(std::span<const std::byte> b) {
  std::size_t i = 0;
  while (i < b.size() && b[i] == std::byte{0}) ++i;
  return b.subspan(i);
}

std::vector<std::byte> serial_bytes(const ASN1_INTEGER* serial) {
  const auto* data = reinterpret_cast<const std::byte*>(ASN1_STRING_get0_data(serial));
  const auto len = static_cast<std::size_t>(ASN1_STRING_length(serial));
  return std::vector<std::byte>(data, data + len);
}

}  // namespace

Result<Crl, Error> Crl::parse(std::span<const std::byte> der_or_pem) {
  constexpr std::string_view pem_start = "-----BEGIN";
  const std::string_view text(reinterpret_cast<const char*>(der_or_pem.data()), der_or_pem.size());
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && text.substr(first).starts_with(pem_start)) {
    return from_pem(text);
  }
  return from_der(der_or_pem);
}

Result<Crl, Error> Crl::from_der(std::span<const std::byte> der) {
  if (der.empty()) return Error(errc::crl_invalid, "empty CRL");
  const unsigned char* p = u8(der);
  X509_CRL* c = d2i_X509_CRL(nullptr, &p, static_cast<long>(der.size()));
  if (c == nullptr) return crl_error("not a DER CRL");
  if (p != u8(der) + der.size()) {
    X509_CRL_free(c);
    return Error(errc::crl_invalid, "trailing bytes after the DER CRL");
  }
  return Crl(std::shared_ptr<X509_CRL>(c, &X509_CRL_free));
}

Result<Crl, Error> Crl::from_pem(std::string_view pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  X509_CRL* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  if (c == nullptr) return crl_error("not a PEM CRL (\"-----BEGIN X509 CRL-----\")");
  return Crl(std::shared_ptr<X509_CRL>(c, &X509_CRL_free));
}

std::string Crl::issuer() const { return name_text(X509_CRL_get_issuer(crl_.get())); }

std::chrono::system_clock::time_point Crl::this_update() const {
  return to_time_point(X509_CRL_get0_lastUpdate(crl_.get()));
}

std::optional<std::chrono::system_clock::time_point> Crl::next_update() const {
  const ASN1_TIME* t = X509_CRL_get0_nextUpdate(crl_.get());
  if (t == nullptr) return std::nullopt;
  return to_time_point(t);
}

std::size_t Crl::revoked_count() const {
  const STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl_.get());
  return list == nullptr ? 0 : static_cast<std::size_t>(sk_X509_REVOKED_num(list));
}

std::vector<std::byte> Crl::der() const {
  const int len = i2d_X509_CRL(crl_.get(), nullptr);
  std::vector<std::byte> out(static_cast<std::size_t>(len > 0 ? len : 0));
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_X509_CRL(crl_.get(), &p);
  return out;
}

Result<void, Error> Crl::verify_signature(const Certificate& issuer) const {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl_.get()), X509_get_subject_name(issuer.native())) != 0) {
    return Error(errc::crl_invalid,
                 "CRL issuer (" + this->issuer() + ") is not " + issuer.subject());
  }
  EVP_PKEY* key = X509_get0_pubkey(issuer.native());
  if (key == nullptr) {
    openssl_reason();  // clear the queue
    return Error(errc::crl_invalid, "issuer " + issuer.subject() + " has no usable public key");
  }
  if (X509_CRL_verify(crl_.get(), key) != 1) {
    return crl_error("CRL (" + this->issuer() + ") signature does not verify under " +
                     issuer.subject());
  }
  return {};
}

Result<void, Error> Crl::check_fresh(std::chrono::system_clock::time_point at) const {
  const auto next = next_update();
  const std::string at_text = ", checked at " + iso_text(at);
  if (!next) {
    return Error(errc::crl_invalid, "CRL (" + issuer() + ") has no nextUpdate" + at_text);
  }
  if (at < this_update()) {
    return Error(errc::crl_invalid, "CRL (" + issuer() + ") is not yet valid: thisUpdate " +
                                        iso_text(this_update()) + at_text);
  }
  if (at > *next) {
    return Error(errc::crl_invalid,
                 "CRL (" + issuer() + ") expired at " + iso_text(*next) + at_text);
  }
  return {};
}

Result<void, Error> Crl::verify(const Certificate& issuer,
                                std::chrono::system_clock::time_point at) const {
  if (auto r = verify_signature(issuer); !r) return r;
  return check_fresh(at);
}

Result<bool, Error> Crl::is_revoked(const Certificate& certificate) const {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl_.get()), X509_get_issuer_name(certificate.native())) !=
      0) {
    return Error(errc::crl_invalid, "certificate " + certificate.subject() + " is issued by " +
                                        certificate.issuer() + ", not by the CRL's issuer (" +
                                        issuer() + ")");
  }
  return lists_serial(certificate.serial());
}

bool Crl::lists_serial(std::span<const std::byte> serial) const {
  const STACK_OF(X509_REVOKED)* list = X509_CRL_get_REVOKED(crl_.get());
  const auto wanted = magnitude(serial);
  for (int i = 0; list != nullptr && i < sk_X509_REVOKED_num(list); ++i) {
    const auto listed =
        serial_bytes(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(list, i)));
    if (std::ranges::equal(magnitude(listed), wanted)) return true;
  }
  return false;
}

}  // namespace cipherline::crypto
