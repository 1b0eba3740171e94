// SHA3-256 and SHAKE256 (FIPS 202, through OpenSSL), for X-Wing's key
// expansion and shared-secret combiner.
//
// Pure functions; thread-safe. They throw std::runtime_error only if
// OpenSSL cannot provide the algorithm (a broken installation).
#pragma once

#include <array>
#include <cstddef>
#include <initializer_list>
#include <span>

namespace cipherline::crypto {

std::array<std::byte, 32> sha3_256(std::initializer_list<std::span<const std::byte>> parts);
// shake256 writes out.size() bytes of SHAKE256(input).
void shake256(std::span<const std::byte> input, std::span<std::byte> out);

}  // namespace cipherline::crypto
