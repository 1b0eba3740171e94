// Base64, standard alphabet with padding (RFC 4648 §4), as the Privatemode
// protocol uses for public keys, encapsulated keys and secret IDs.
//
// Encoding and decoding are libsodium's constant-time implementations.
// Decoding rejects anything but canonical padded base64 — whitespace,
// missing padding, the URL-safe alphabet — with crypto::errc::invalid_base64
// and the position of the first offending character.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

std::string to_base64(std::span<const std::byte> in);
Result<std::vector<std::byte>, Error> from_base64(std::string_view in);

}  // namespace cipherline::crypto
