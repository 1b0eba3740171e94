#include "crl.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "cipherline/attest/error.hpp"

namespace cipherline::attest::tdx::internal {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

std::chrono::system_clock::time_point to_time_point(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

Result<Crl, Error> Crl::parse(std::span<const std::byte> bytes, std::string_view what) {
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const unsigned char* p = data;
  X509_CRL* crl = d2i_X509_CRL(nullptr, &p, static_cast<long>(bytes.size()));
  if (crl != nullptr && p != data + bytes.size()) {
    X509_CRL_free(crl);
    return Error(errc::malformed_evidence, std::string(what) + ": trailing bytes after the DER CRL");
  }
  if (crl == nullptr) {
    Bio bio(BIO_new_mem_buf(bytes.data(), static_cast<int>(bytes.size())), &BIO_free);
    crl = PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr);
  }
  if (crl == nullptr) {
    return Error(errc::malformed_evidence, std::string(what) + ": not a DER or PEM CRL");
  }
  return Crl(std::shared_ptr<X509_CRL>(crl, &X509_CRL_free));
}

std::string Crl::issuer() const {
  Bio bio(BIO_new(BIO_s_mem()), &BIO_free);
  X509_NAME_print_ex(bio.get(), X509_CRL_get_issuer(crl_.get()), 0, XN_FLAG_RFC2253);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::chrono::system_clock::time_point Crl::this_update() const {
  return to_time_point(X509_CRL_get0_lastUpdate(crl_.get()));
}

std::chrono::system_clock::time_point Crl::next_update() const {
  return to_time_point(X509_CRL_get0_nextUpdate(crl_.get()));
}

bool Crl::signed_by(const crypto::Certificate& issuer) const {
  EVP_PKEY* key = X509_get0_pubkey(issuer.native());
  return key != nullptr && X509_CRL_verify(crl_.get(), key) == 1;
}

bool Crl::lists(const crypto::Certificate& certificate) const {
  X509_REVOKED* entry = nullptr;
  return X509_CRL_get0_by_serial(crl_.get(), &entry,
                                 X509_get0_serialNumber(certificate.native())) == 1;
}

}  // namespace cipherline::attest::tdx::internal
