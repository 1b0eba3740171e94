// HKDF-SHA256 (RFC 5869) in its two halves, through OpenSSL's HKDF.
//
//   SecretBytes prk = hkdf_sha256_extract(salt, ikm);
//   SecretBytes okm = hkdf_sha256_expand(prk.bytes(), info, 32);
//
// Outputs are SecretBytes: they are keys. expand throws
// std::invalid_argument for lengths above 255 * 32 bytes (the RFC's limit)
// and std::runtime_error if OpenSSL fails.
#pragma once

#include <cstddef>
#include <span>

#include "cipherline/crypto/secret_bytes.hpp"

namespace cipherline::crypto {

SecretBytes hkdf_sha256_extract(std::span<const std::byte> salt, std::span<const std::byte> ikm);
SecretBytes hkdf_sha256_expand(std::span<const std::byte> prk, std::span<const std::byte> info,
                               std::size_t length);

}  // namespace cipherline::crypto
