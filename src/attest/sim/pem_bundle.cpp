#include "pem_bundle.hpp"

#include <cstring>
#include <string>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/certificate_builder.hpp"

namespace cipherline::attest::sim::internal {
namespace {

// pem_blocks returns the spans of every "-----BEGIN <label>-----" block.
std::vector<std::span<const std::byte>> pem_blocks(std::span<const std::byte> text,
                                                   std::string_view label) {
  const std::string begin = "-----BEGIN " + std::string(label) + "-----";
  const std::string end = "-----END " + std::string(label) + "-----";
  const std::string_view all(reinterpret_cast<const char*>(text.data()), text.size());
  std::vector<std::span<const std::byte>> out;
  std::size_t at = 0;
  while ((at = all.find(begin, at)) != std::string_view::npos) {
    const std::size_t stop = all.find(end, at);
    if (stop == std::string_view::npos) break;
    out.push_back(text.subspan(at, stop + end.size() - at));
    at = stop + end.size();
  }
  return out;
}

}  // namespace

crypto::SecretBytes write_pem_bundle(std::span<const crypto::Certificate> certificates,
                                     std::span<const crypto::PrivateKey> keys) {
  std::string certs;
  for (const auto& c : certificates) certs += crypto::to_pem(c);
  std::vector<crypto::SecretBytes> key_pems;
  std::size_t size = certs.size();
  for (const auto& k : keys) size += key_pems.emplace_back(k.to_pem()).size();
  crypto::SecretBytes out(size);
  std::byte* at = out.writable_bytes().data();
  std::memcpy(at, certs.data(), certs.size());
  at += certs.size();
  for (const auto& k : key_pems) {
    std::memcpy(at, k.bytes().data(), k.size());
    at += k.size();
  }
  return out;
}

Result<PemBundle, Error> read_pem_bundle(std::span<const std::byte> pem, std::string_view what,
                                         std::span<const char* const> roles) {
  const auto bad = [what](const std::string& why) {
    return Error(errc::malformed_evidence, std::string(what) + " bundle: " + why);
  };
  const auto cert_blocks = pem_blocks(pem, "CERTIFICATE");
  const auto key_blocks = pem_blocks(pem, "PRIVATE KEY");
  const std::string n = std::to_string(roles.size());
  if (cert_blocks.size() != roles.size() || key_blocks.size() != roles.size()) {
    return bad("expected " + n + " certificates and " + n + " private keys, found " +
               std::to_string(cert_blocks.size()) + " and " + std::to_string(key_blocks.size()));
  }
  PemBundle bundle;
  for (auto block : cert_blocks) {
    auto c = crypto::Certificate::from_pem(
        std::string_view(reinterpret_cast<const char*>(block.data()), block.size()));
    if (!c) return bad(c.error().message());
    bundle.certificates.push_back(*c);
  }
  for (auto block : key_blocks) {
    auto k = crypto::PrivateKey::from_pem(block);
    if (!k) return bad(k.error().message());
    bundle.keys.push_back(*k);
  }
  // A bundle whose keys were reordered or replaced would issue evidence that
  // fails verification far from here; say so now.
  for (std::size_t i = 0; i < roles.size(); ++i) {
    const auto certified = bundle.certificates[i].public_key();
    if (!certified || !bundle.keys[i].matches(*certified)) {
      return bad("private key " + std::to_string(i + 1) + " is not the " + roles[i] +
                 " certificate's key");
    }
  }
  return bundle;
}

}  // namespace cipherline::attest::sim::internal
