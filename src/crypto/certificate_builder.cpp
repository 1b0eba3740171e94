#include "cipherline/crypto/certificate_builder.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "byte_access.hpp"
#include "cipherline/crypto/crl.hpp"
#include "cipherline/crypto/error.hpp"

namespace cipherline::crypto {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using MdContext = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

Error builder_error(const std::string& why) {
  return Error(errc::unsupported, "issuing a certificate: " + why);
}

bool set_time(ASN1_TIME* field, std::chrono::system_clock::time_point t) {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch());
  return ASN1_TIME_set(field, static_cast<time_t>(seconds.count())) != nullptr;
}

bool add_names(X509_NAME* name, const std::vector<std::pair<std::string, std::string>>& rdns) {
  for (const auto& [attribute, value] : rdns) {
    if (X509_NAME_add_entry_by_txt(name, attribute.c_str(), MBSTRING_UTF8,
                                   reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                   0) != 1) {
      return false;
    }
  }
  return true;
}

bool add_conf(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str());
  if (e == nullptr) return false;
  const bool ok = X509_add_ext(cert, e, -1) == 1;
  X509_EXTENSION_free(e);
  return ok;
}

std::vector<std::byte> der_tlv(std::uint8_t tag, std::span<const std::byte> value) {
  std::vector<std::byte> out{static_cast<std::byte>(tag)};
  const std::size_t n = value.size();
  if (n < 0x80) {
    out.push_back(static_cast<std::byte>(n));
  } else if (n < 0x100) {
    out.push_back(std::byte{0x81});
    out.push_back(static_cast<std::byte>(n));
  } else {
    out.push_back(std::byte{0x82});
    out.push_back(static_cast<std::byte>(n >> 8));
    out.push_back(static_cast<std::byte>(n));
  }
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

// sign_context: a digest-sign context for `signature` with `key`.
Result<MdContext, Error> sign_context(const PrivateKey& key, Signature signature) {
  MdContext md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;  // owned by md
  const EVP_MD* digest = signature == Signature::ecdsa_sha256 ? EVP_sha256() : EVP_sha384();
  if (!md || EVP_DigestSignInit(md.get(), &pctx, digest, nullptr, key.native()) != 1) {
    ERR_clear_error();
    return Error(errc::unsupported, "the issuer key cannot sign");
  }
  if (signature == Signature::rsa_pss_sha384 &&
      (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
       EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha384()) != 1 ||
       EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 48) != 1)) {
    ERR_clear_error();
    return Error(errc::unsupported, "RSA-PSS needs an RSA issuer key");
  }
  return md;
}

}  // namespace

std::vector<std::byte> der_integer(std::uint64_t value) {
  std::vector<std::byte> content;
  for (int shift = 56; shift >= 0; shift -= 8) {
    const auto b = static_cast<std::byte>(value >> shift);
    if (content.empty() && b == std::byte{0} && shift != 0) continue;
    content.push_back(b);
  }
  if ((std::to_integer<unsigned>(content.front()) & 0x80) != 0)
    content.insert(content.begin(), std::byte{0});
  return der_tlv(0x02, content);
}

std::vector<std::byte> der_ia5_string(std::string_view text) {
  return der_tlv(0x16, std::as_bytes(std::span(text.data(), text.size())));
}

std::vector<std::byte> der_octet_string(std::span<const std::byte> bytes) {
  return der_tlv(0x04, bytes);
}

std::string to_pem(const Certificate& certificate) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509(bio.get(), certificate.native());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size > 0 ? size : 0));
}

Result<Certificate, Error> issue_certificate(const CertificateSpec& spec,
                                             const PrivateKey& issuer_key,
                                             const Certificate* issuer, Signature signature) {
  X509Ptr cert(X509_new(), &X509_free);
  if (!cert || X509_set_version(cert.get(), 2) != 1 ||
      ASN1_INTEGER_set_uint64(X509_get_serialNumber(cert.get()), spec.serial) != 1 ||
      !set_time(X509_getm_notBefore(cert.get()), spec.not_before) ||
      !set_time(X509_getm_notAfter(cert.get()), spec.not_after) ||
      X509_set_pubkey(cert.get(), spec.public_key.native()) != 1) {
    return builder_error("basic fields rejected");
  }
  if (!add_names(X509_get_subject_name(cert.get()), spec.subject)) {
    return builder_error("invalid subject name");
  }
  if (X509_set_issuer_name(cert.get(), issuer != nullptr
                                           ? X509_get_subject_name(issuer->native())
                                           : X509_get_subject_name(cert.get())) != 1) {
    return builder_error("invalid issuer name");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer != nullptr ? issuer->native() : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  std::string san;
  for (const auto& name : spec.dns_names) san += (san.empty() ? "DNS:" : ",DNS:") + name;
  for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "IP:" : ",IP:") + ip;
  if (!add_conf(cert.get(), &ctx, NID_basic_constraints,
                spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE") ||
      !add_conf(
          cert.get(), &ctx, NID_key_usage,
          spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment") ||
      !add_conf(cert.get(), &ctx, NID_subject_key_identifier, "hash") ||
      (issuer != nullptr && !add_conf(cert.get(), &ctx, NID_authority_key_identifier, "keyid")) ||
      (!san.empty() && !add_conf(cert.get(), &ctx, NID_subject_alt_name, san))) {
    return builder_error("standard extensions rejected");
  }
  for (const CertificateExtension& e : spec.extensions) {
    std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> oid(OBJ_txt2obj(e.oid.c_str(), 1),
                                                                  &ASN1_OBJECT_free);
    std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)> value(
        ASN1_OCTET_STRING_new(), &ASN1_OCTET_STRING_free);
    if (!oid || !value ||
        ASN1_OCTET_STRING_set(value.get(), u8(std::span(e.der)), static_cast<int>(e.der.size())) !=
            1) {
      return builder_error("extension " + e.oid + " rejected");
    }
    X509_EXTENSION* ext =
        X509_EXTENSION_create_by_OBJ(nullptr, oid.get(), e.critical ? 1 : 0, value.get());
    const bool ok = ext != nullptr && X509_add_ext(cert.get(), ext, -1) == 1;
    X509_EXTENSION_free(ext);
    if (!ok) return builder_error("extension " + e.oid + " rejected");
  }

  auto md = sign_context(issuer_key, signature);
  if (!md) return builder_error(md.error().message());
  if (X509_sign_ctx(cert.get(), md->get()) <= 0) return builder_error("signing failed");

  unsigned char* der = nullptr;
  const int size = i2d_X509(cert.get(), &der);
  if (size <= 0) return builder_error("encoding failed");
  auto result =
      Certificate::from_der(std::as_bytes(std::span(der, static_cast<std::size_t>(size))));
  OPENSSL_free(der);
  return result;
}

Result<Crl, Error> issue_crl(const CrlSpec& spec, const PrivateKey& issuer_key,
                             const Certificate& issuer, Signature signature) {
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), &X509_CRL_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> this_update(ASN1_TIME_new(),
                                                                    &ASN1_TIME_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next_update(ASN1_TIME_new(),
                                                                    &ASN1_TIME_free);
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), 1) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.native())) != 1 ||
      !set_time(this_update.get(), spec.this_update) ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      (spec.next_update && (!set_time(next_update.get(), *spec.next_update) ||
                            X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1))) {
    return Error(errc::unsupported, "issuing a CRL: basic fields rejected");
  }
  for (const std::uint64_t serial : spec.revoked_serials) {
    std::unique_ptr<ASN1_INTEGER, decltype(&ASN1_INTEGER_free)> number(ASN1_INTEGER_new(),
                                                                       &ASN1_INTEGER_free);
    X509_REVOKED* entry = X509_REVOKED_new();
    if (entry == nullptr || !number || ASN1_INTEGER_set_uint64(number.get(), serial) != 1 ||
        X509_REVOKED_set_serialNumber(entry, number.get()) != 1 ||
        X509_REVOKED_set_revocationDate(entry, this_update.get()) != 1 ||
        X509_CRL_add0_revoked(crl.get(), entry) != 1) {
      X509_REVOKED_free(entry);
      return Error(errc::unsupported, "issuing a CRL: revoked entry rejected");
    }
  }
  X509_CRL_sort(crl.get());
  auto md = sign_context(issuer_key, signature);
  if (!md) return Error(errc::unsupported, "issuing a CRL: " + md.error().message());
  if (X509_CRL_sign_ctx(crl.get(), md->get()) <= 0) {
    ERR_clear_error();
    return Error(errc::unsupported, "issuing a CRL: signing failed");
  }
  unsigned char* der = nullptr;
  const int size = i2d_X509_CRL(crl.get(), &der);
  if (size <= 0) return Error(errc::unsupported, "issuing a CRL: encoding failed");
  auto result = Crl::from_der(std::as_bytes(std::span(der, static_cast<std::size_t>(size))));
  OPENSSL_free(der);
  return result;
}

std::string to_pem(const Crl& crl) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  PEM_write_bio_X509_CRL(bio.get(), crl.native());
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(size > 0 ? size : 0));
}

}  // namespace cipherline::crypto
