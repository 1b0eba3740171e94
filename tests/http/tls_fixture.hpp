// Test support for TLS: a private CA and certificates made with OpenSSL,
// written as PEM files into a temporary directory.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace cipherline::http::testing {

struct Pki {
  std::filesystem::path dir;

  Pki() {
    char tmpl[] = "/tmp/cipherline-pki-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp");
    dir = tmpl;
  }
  Pki(const Pki&) = delete;
  Pki& operator=(const Pki&) = delete;
  ~Pki() { std::filesystem::remove_all(dir); }

  std::string path(const std::string& name) const { return (dir / name).string(); }

  using Key = std::shared_ptr<EVP_PKEY>;
  using Cert = std::shared_ptr<X509>;

  static Key key() { return Key(EVP_EC_gen("P-256"), &EVP_PKEY_free); }

  // issue makes a certificate for `key` named `cn` with subjectAltName
  // `san` ("DNS:localhost,IP:127.0.0.1"), valid from now + from to now + to,
  // signed by issuer (self-signed when null).
  static Cert issue(const std::string& cn, const Key& subject, const Key& issuer_key, X509* issuer,
                    bool ca, const std::string& san, std::chrono::seconds from,
                    std::chrono::seconds to) {
    Cert x(X509_new(), &X509_free);
    X509_set_version(x.get(), 2);
    static long serial = 100;
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), static_cast<long>(from.count()));
    X509_gmtime_adj(X509_getm_notAfter(x.get()), static_cast<long>(to.count()));
    X509_set_pubkey(x.get(), subject.get());
    X509_NAME* name = X509_get_subject_name(x.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
    X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX v3;
    X509V3_set_ctx(&v3, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    auto add = [&](int nid, const std::string& value) {
      X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
      X509_add_ext(x.get(), e, -1);
      X509_EXTENSION_free(e);
    };
    add(NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    if (ca) add(NID_key_usage, "critical,keyCertSign,cRLSign");
    if (!san.empty()) add(NID_subject_alt_name, san);
    if (X509_sign(x.get(), issuer_key.get(), EVP_sha256()) <= 0) throw std::runtime_error("sign");
    return x;
  }

  void write_cert(const std::string& name, const Cert& cert) const {
    FILE* f = std::fopen(path(name).c_str(), "w");
    PEM_write_X509(f, cert.get());
    std::fclose(f);
  }
  void write_key(const std::string& name, const Key& key) const {
    FILE* f = std::fopen(path(name).c_str(), "w");
    PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }

  // The standard set: ca.pem; server.pem/server.key for localhost and
  // 127.0.0.1; expired.pem; other-host.pem (names only example.org);
  // rogue-ca.pem with rogue.pem (a valid-looking cert from an unknown CA);
  // client.pem/client.key issued by the CA.
  void make_standard_set() {
    using namespace std::chrono;
    const Key ca_key = key();
    const Cert ca = issue("Test CA", ca_key, ca_key, nullptr, true, "", -hours(1), hours(24));
    write_cert("ca.pem", ca);
    auto leaf = [&](const std::string& file, const std::string& cn, const std::string& san,
                    seconds from, seconds to, const Key& signer, X509* issuer) {
      const Key k = key();
      write_cert(file + ".pem", issue(cn, k, signer, issuer, false, san, from, to));
      write_key(file + ".key", k);
    };
    leaf("server", "localhost", "DNS:localhost,IP:127.0.0.1", -hours(1), hours(24), ca_key,
         ca.get());
    leaf("expired", "localhost", "DNS:localhost,IP:127.0.0.1", -hours(48), -hours(24), ca_key,
         ca.get());
    leaf("other-host", "example.org", "DNS:example.org", -hours(1), hours(24), ca_key, ca.get());
    leaf("client", "mesh client", "", -hours(1), hours(24), ca_key, ca.get());
    const Key rogue_key = key();
    const Cert rogue_ca =
        issue("Rogue CA", rogue_key, rogue_key, nullptr, true, "", -hours(1), hours(24));
    write_cert("rogue-ca.pem", rogue_ca);
    leaf("rogue", "localhost", "DNS:localhost,IP:127.0.0.1", -hours(1), hours(24), rogue_key,
         rogue_ca.get());
  }
};

}  // namespace cipherline::http::testing
