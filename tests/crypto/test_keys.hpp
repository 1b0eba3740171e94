// Test support: keys and certificates made on the fly with OpenSSL, and
// signatures made with them, for the verification tests.
#pragma once

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "cipherline/crypto/certificate.hpp"

namespace cipherline::testing {

using Pkey = std::shared_ptr<EVP_PKEY>;

inline Pkey make_ec_key(const char* curve) {
  EVP_PKEY* k = EVP_EC_gen(curve);
  if (k == nullptr) throw std::runtime_error("EC key generation failed");
  return Pkey(k, &EVP_PKEY_free);
}

inline Pkey make_rsa_key(unsigned bits) {
  EVP_PKEY* k = EVP_RSA_gen(bits);
  if (k == nullptr) throw std::runtime_error("RSA key generation failed");
  return Pkey(k, &EVP_PKEY_free);
}

inline crypto::PublicKey public_of(const Pkey& key) {
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key.get(), &der);
  auto pk = crypto::PublicKey::from_spki_der(
                std::span(reinterpret_cast<const std::byte*>(der), static_cast<std::size_t>(len)))
                .value();
  OPENSSL_free(der);
  return pk;
}

// sign_message signs with `md` (ECDSA: DER signature; RSA: PSS when pss).
inline std::vector<std::byte> sign_message(const Pkey& key, const EVP_MD* md,
                                           std::span<const std::byte> message, bool pss = false) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key.get()) != 1)
    throw std::runtime_error("sign init");
  if (pss) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t len = 0;
  const auto* m = reinterpret_cast<const unsigned char*>(message.data());
  EVP_DigestSign(ctx.get(), nullptr, &len, m, message.size());
  std::vector<std::byte> sig(len);
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, m,
                     message.size()) != 1) {
    throw std::runtime_error("sign");
  }
  sig.resize(len);
  return sig;
}

// make_certificate issues a certificate for `subject_key` named `cn`, signed
// by `issuer_key` (self-signed when issuer is null), valid for [from, to].
inline crypto::Certificate make_certificate(const std::string& cn, const Pkey& subject_key,
                                            const Pkey& issuer_key, X509* issuer, bool is_ca,
                                            std::chrono::system_clock::time_point from,
                                            std::chrono::system_clock::time_point to) {
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  static long serial = 1;
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
  X509_time_adj_ex(X509_getm_notBefore(x.get()), 0, 0, nullptr);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), std::chrono::system_clock::to_time_t(from));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), std::chrono::system_clock::to_time_t(to));
  X509_set_pubkey(x.get(), subject_key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer != nullptr ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  X509_EXTENSION* bc = X509V3_EXT_conf_nid(nullptr, &v3, NID_basic_constraints,
                                           is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  X509_add_ext(x.get(), bc, -1);
  X509_EXTENSION_free(bc);
  if (is_ca) {
    X509_EXTENSION* ku =
        X509V3_EXT_conf_nid(nullptr, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
    X509_add_ext(x.get(), ku, -1);
    X509_EXTENSION_free(ku);
  }
  if (X509_sign(x.get(), issuer_key.get(), EVP_sha384()) <= 0)
    throw std::runtime_error("X509_sign");
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  auto cert = crypto::Certificate::from_der(
                  std::span(reinterpret_cast<const std::byte*>(der), static_cast<std::size_t>(len)))
                  .value();
  OPENSSL_free(der);
  return cert;
}

// certificate_with_unknown_key: a certificate named `cn`, signed by
// `issuer_key` (EC) as `issuer` (self-issued when null), carrying
// `extensions` (dotted OID, DER value), whose SubjectPublicKeyInfo has an
// algorithm OpenSSL does not know (1.3.6.1.4.1.55555.1, 32 key bytes): it
// parses, but X509_get_pubkey returns NULL.
inline crypto::Certificate certificate_with_unknown_key(
    const std::string& cn, EVP_PKEY* issuer_key, X509* issuer = nullptr,
    const std::vector<std::pair<std::string, std::vector<std::byte>>>& extensions = {}) {
  std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), &X509_free);
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 99);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), 0);
  ASN1_TIME_set(X509_getm_notAfter(x.get()), 4102444800);  // 2100-01-01
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer != nullptr ? X509_get_subject_name(issuer) : name);
  for (const auto& [oid, der] : extensions) {
    std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> object(OBJ_txt2obj(oid.c_str(), 1),
                                                                     &ASN1_OBJECT_free);
    std::unique_ptr<ASN1_OCTET_STRING, decltype(&ASN1_OCTET_STRING_free)> value(
        ASN1_OCTET_STRING_new(), &ASN1_OCTET_STRING_free);
    ASN1_OCTET_STRING_set(value.get(), reinterpret_cast<const unsigned char*>(der.data()),
                          static_cast<int>(der.size()));
    X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, object.get(), 0, value.get());
    if (ext == nullptr || X509_add_ext(x.get(), ext, -1) != 1) {
      throw std::runtime_error("X509_add_ext " + oid);
    }
    X509_EXTENSION_free(ext);
  }
  auto* key_bytes = static_cast<unsigned char*>(OPENSSL_zalloc(32));
  if (X509_PUBKEY_set0_param(X509_get_X509_PUBKEY(x.get()), OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1),
                             V_ASN1_UNDEF, nullptr, key_bytes, 32) != 1) {
    throw std::runtime_error("X509_PUBKEY_set0_param");
  }
  if (X509_sign(x.get(), issuer_key, EVP_sha384()) <= 0) throw std::runtime_error("X509_sign");
  unsigned char* der = nullptr;
  const int len = i2d_X509(x.get(), &der);
  auto cert = crypto::Certificate::from_der(
                  std::span(reinterpret_cast<const std::byte*>(der), static_cast<std::size_t>(len)))
                  .value();
  OPENSSL_free(der);
  return cert;
}

}  // namespace cipherline::testing
