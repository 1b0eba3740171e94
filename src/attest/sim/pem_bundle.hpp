// PEM bundles of the software TEE's development PKIs (private to
// attest/sim): certificates, then their private keys, in one text held in
// locked memory.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include "cipherline/crypto/certificate.hpp"
#include "cipherline/crypto/private_key.hpp"

namespace cipherline::attest::sim::internal {

struct PemBundle {
  std::vector<crypto::Certificate> certificates;
  std::vector<crypto::PrivateKey> keys;  // keys[i] belongs to certificates[i]
};

crypto::SecretBytes write_pem_bundle(std::span<const crypto::Certificate> certificates,
                                     std::span<const crypto::PrivateKey> keys);

// read_pem_bundle expects one certificate and one key per role, each key
// the private half of its certificate's key; errors read
// "<what> bundle: …" (attest::errc::malformed_evidence).
Result<PemBundle, Error> read_pem_bundle(std::span<const std::byte> pem, std::string_view what,
                                         std::span<const char* const> roles);

}  // namespace cipherline::attest::sim::internal
