// The SHA-512 family: SHA-384 (attestation reports and certificates) and
// SHA-512 (OpenSSL).
//
//   Sha384Digest d = sha384(report_body);
//   Sha384Digest d2 = sha384({header, body});          // over the concatenation
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>

namespace cipherline::crypto {

using Sha384Digest = std::array<std::byte, 48>;
using Sha512Digest = std::array<std::byte, 64>;

Sha384Digest sha384(std::initializer_list<std::span<const std::byte>> parts) noexcept;
inline Sha384Digest sha384(std::span<const std::byte> data) noexcept { return sha384({data}); }
Sha512Digest sha512(std::initializer_list<std::span<const std::byte>> parts) noexcept;
inline Sha512Digest sha512(std::span<const std::byte> data) noexcept { return sha512({data}); }

}  // namespace cipherline::crypto
