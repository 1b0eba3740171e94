// SHA-256 and HMAC-SHA256 (libsodium).
//
//   auto digest = sha256(bytes);                       // std::array<std::byte, 32>
//   auto d2 = sha256({part1, part2});                  // over the concatenation
//   auto mac = hmac_sha256(key, message);
//
// Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>

namespace cipherline::crypto {

using Sha256Digest = std::array<std::byte, 32>;

Sha256Digest sha256(std::span<const std::byte> data) noexcept;
// sha256 of the concatenation of `parts`, without building it.
Sha256Digest sha256(std::initializer_list<std::span<const std::byte>> parts) noexcept;
Sha256Digest hmac_sha256(std::span<const std::byte> key,
                         std::span<const std::byte> message) noexcept;

}  // namespace cipherline::crypto
