// ECDSA public-key recovery (SEC 1 v2, §4.1.6) on the NIST curves, from
// OpenSSL's group arithmetic.
//
//   auto keys = recover_ecdsa_public_keys(Curve::p384, digest, r, s).value();
//   // keys: the candidates Q = r⁻¹·(s·R − z·G) for both parities of R's y
//
// Used where a public key is defined by a signature, such as the SEV-SNP ID
// key of a launch whose ID block carries a fixed signature.
//
// Contract:
// - `digest` is the message hash (its leftmost bits, up to the order's
//   length, are z); `r` and `s` are big-endian integers in [1, n−1].
// - Only x = r is tried (the j = 0 candidates), so at most two keys come
//   back, each as x ‖ y, big-endian, coordinate-sized. An r that is not the
//   x-coordinate of a curve point gives no candidate for it.
// - Errors: crypto::errc::invalid_length for out-of-range r or s.
// - Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "cipherline/crypto/public_key.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

Result<std::vector<std::vector<std::byte>>, Error> recover_ecdsa_public_keys(
    Curve curve, std::span<const std::byte> digest, std::span<const std::byte> r,
    std::span<const std::byte> s);

}  // namespace cipherline::crypto
