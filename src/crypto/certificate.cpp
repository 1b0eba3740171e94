#include "cipherline/crypto/certificate.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <ctime>

#include "byte_access.hpp"
#include "cipherline/crypto/crl.hpp"
#include "cipherline/crypto/error.hpp"
#include "openssl_error.hpp"
#include "x509_text.hpp"

namespace cipherline::crypto {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

Error cert_error(const std::string& what) {
  const std::string reason = openssl_reason();
  return Error(errc::certificate_invalid, reason.empty() ? what : what + ": " + reason);
}

// key_algorithm: the dotted OID of the SubjectPublicKeyInfo's algorithm.
std::string key_algorithm(X509* cert) {
  ASN1_OBJECT* oid = nullptr;
  char text[128];
  if (X509_PUBKEY_get0_param(&oid, nullptr, nullptr, nullptr, X509_get_X509_PUBKEY(cert)) == 1 &&
      oid != nullptr && OBJ_obj2txt(text, sizeof text, oid, 1) > 0) {
    return text;
  }
  return "unknown";
}

}  // namespace

Result<Certificate, Error> Certificate::from_der(std::span<const std::byte> der) {
  const unsigned char* p = u8(der);
  X509* x = d2i_X509(nullptr, &p, static_cast<long>(der.size()));
  if (x == nullptr) return cert_error("not a DER certificate");
  if (p != u8(der) + der.size()) {
    X509_free(x);
    return Error(errc::certificate_invalid, "trailing bytes after the DER certificate");
  }
  return Certificate(std::shared_ptr<X509>(x, &X509_free));
}

Result<Certificate, Error> Certificate::from_pem(std::string_view pem) {
  auto all = all_from_pem(pem);
  if (!all) return all.error();
  return std::move(all->front());
}

Result<std::vector<Certificate>, Error> Certificate::all_from_pem(std::string_view pem) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  std::vector<Certificate> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
    out.push_back(Certificate(std::shared_ptr<X509>(x, &X509_free)));
  }
  const unsigned long err = ERR_peek_last_error();
  if (ERR_GET_REASON(err) == PEM_R_NO_START_LINE && !out.empty()) {
    ERR_clear_error();  // the normal end of the text
  } else if (err != 0) {
    return cert_error(out.empty() ? "no PEM certificate"
                                  : "bad PEM certificate after " + std::to_string(out.size()));
  }
  if (out.empty()) return Error(errc::certificate_invalid, "no PEM certificate");
  return out;
}

std::string Certificate::subject() const { return name_text(X509_get_subject_name(cert_.get())); }
std::string Certificate::issuer() const { return name_text(X509_get_issuer_name(cert_.get())); }

std::chrono::system_clock::time_point Certificate::not_before() const {
  return to_time_point(X509_get0_notBefore(cert_.get()));
}

std::chrono::system_clock::time_point Certificate::not_after() const {
  return to_time_point(X509_get0_notAfter(cert_.get()));
}

Result<PublicKey, Error> Certificate::public_key() const {
  EVP_PKEY* key = X509_get_pubkey(cert_.get());  // a new reference
  if (key == nullptr) {
    const std::string reason = openssl_reason();
    return Error(errc::invalid_public_key,
                 "certificate " + subject() + " has a public key OpenSSL cannot use (algorithm " +
                     key_algorithm(cert_.get()) + ")" + (reason.empty() ? "" : ": " + reason));
  }
  return PublicKey(std::shared_ptr<EVP_PKEY>(key, &EVP_PKEY_free));
}

std::vector<std::byte> Certificate::serial() const {
  const ASN1_INTEGER* serial = X509_get0_serialNumber(cert_.get());
  const auto* data = reinterpret_cast<const std::byte*>(ASN1_STRING_get0_data(serial));
  return std::vector<std::byte>(data, data + ASN1_STRING_length(serial));
}

std::vector<std::byte> Certificate::der() const {
  const int len = i2d_X509(cert_.get(), nullptr);
  std::vector<std::byte> out(static_cast<std::size_t>(len > 0 ? len : 0));
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_X509(cert_.get(), &p);
  return out;
}

Sha256Digest Certificate::fingerprint_sha256() const { return sha256(der()); }

std::optional<std::vector<std::byte>> Certificate::extension(std::string_view oid) const {
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> obj(
      OBJ_txt2obj(std::string(oid).c_str(), 1), &ASN1_OBJECT_free);
  if (!obj) return std::nullopt;
  const int index = X509_get_ext_by_OBJ(cert_.get(), obj.get(), -1);
  if (index < 0) return std::nullopt;
  const ASN1_OCTET_STRING* data = X509_EXTENSION_get_data(X509_get_ext(cert_.get(), index));
  const auto* bytes = reinterpret_cast<const std::byte*>(ASN1_STRING_get0_data(data));
  return std::vector<std::byte>(bytes, bytes + ASN1_STRING_length(data));
}

std::optional<std::vector<std::string>> Certificate::extended_key_usage() const {
  int critical = -1;
  std::unique_ptr<EXTENDED_KEY_USAGE, decltype(&EXTENDED_KEY_USAGE_free)> usage(
      static_cast<EXTENDED_KEY_USAGE*>(
          X509_get_ext_d2i(cert_.get(), NID_ext_key_usage, &critical, nullptr)),
      &EXTENDED_KEY_USAGE_free);
  if (!usage) {
    if (critical == -1) return std::nullopt;  // absent
    return std::vector<std::string>{};        // present but malformed, or repeated
  }
  std::vector<std::string> oids;
  for (int i = 0; i < sk_ASN1_OBJECT_num(usage.get()); ++i) {
    char text[128];
    const int n = OBJ_obj2txt(text, sizeof text, sk_ASN1_OBJECT_value(usage.get(), i), 1);
    if (n > 0 && static_cast<std::size_t>(n) < sizeof text) oids.emplace_back(text);
  }
  return oids;
}

Result<void, Error> verify_chain(const Certificate& leaf,
                                 std::span<const Certificate> intermediates,
                                 std::span<const Certificate> roots,
                                 std::chrono::system_clock::time_point at, ChainOptions options) {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), &X509_STORE_free);
  std::unique_ptr<STACK_OF(X509), void (*)(STACK_OF(X509)*)> chain(
      sk_X509_new_null(), [](STACK_OF(X509) * s) { sk_X509_free(s); });
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      &X509_STORE_CTX_free);
  if (!store || !chain || !ctx) throw std::bad_alloc();
  if (roots.empty()) return Error(errc::certificate_invalid, "no trusted root certificate given");
  for (const Certificate& r : roots) X509_STORE_add_cert(store.get(), r.native());
  for (const Certificate& i : intermediates) sk_X509_push(chain.get(), i.native());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf.native(), chain.get()) != 1) {
    return cert_error("cannot set up chain verification");
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, std::chrono::system_clock::to_time_t(at));
  if (options.partial_chain) X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
  if (!options.crls.empty()) {
    for (const Crl& crl : options.crls) X509_STORE_add_crl(store.get(), crl.native());
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
  }
  if (X509_verify_cert(ctx.get()) == 1) return {};
  const int code = X509_STORE_CTX_get_error(ctx.get());
  const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
  X509* failing = X509_STORE_CTX_get_current_cert(ctx.get());
  if (failing == nullptr && depth == 0) failing = leaf.native();  // depth 0 is the leaf
  // OpenSSL fails a certificate whose key it cannot decode with a vague
  // reason ("unspecified certificate verification error"); say why.
  const bool unusable_key = failing != nullptr && X509_get0_pubkey(failing) == nullptr;
  openssl_reason();  // clear the queue
  std::string where = "certificate at depth " + std::to_string(depth);
  if (failing != nullptr) where += " (" + name_text(X509_get_subject_name(failing)) + ")";
  std::string why = X509_verify_cert_error_string(code);
  if (unusable_key) {
    why += "; its public key is one OpenSSL cannot use (algorithm " + key_algorithm(failing) + ")";
  }
  return Error(errc::certificate_invalid, where + ": " + why);
}

}  // namespace cipherline::crypto
