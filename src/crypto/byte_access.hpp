// Byte-span helpers for the C libraries' unsigned char APIs, and the
// "wrong size" error the crypto functions share (private).
#pragma once

#include <cstddef>
#include <span>
#include <string>

#include "cipherline/crypto/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

inline const unsigned char* u8(std::span<const std::byte> s) noexcept {
  return reinterpret_cast<const unsigned char*>(s.data());
}

inline unsigned char* u8(std::span<std::byte> s) noexcept {
  return reinterpret_cast<unsigned char*>(s.data());
}

// wrong_size: "<what> must be <expected> bytes, got <got>".
inline Error wrong_size(const char* what, std::size_t expected, std::size_t got) {
  return Error(errc::invalid_length, std::string(what) + " must be " + std::to_string(expected) +
                                         " bytes, got " + std::to_string(got));
}

}  // namespace cipherline::crypto
