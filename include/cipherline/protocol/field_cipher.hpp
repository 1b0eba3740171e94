// The Privatemode encrypted-field format (spec §4.1, §4.2).
//
//   "<secret id>:<hex nonce, 12 B>:<hex iv, 12 B>:<hex ciphertext ‖ tag>"
//
// including the double quotes, so that the result replaces a JSON value as
// is. AES-256-GCM with a fresh random IV per field; AAD = nonce ‖
// little-endian u32 sequence number. The nonce is one per request/response
// exchange; the sequence number orders the fields (see request_cipher.hpp
// and response_cipher.hpp for the rules).
//
// Contract:
// - seal_field appends to `out` and allocates nothing beyond growing it;
//   open_field appends the plaintext to `out` and never appends
//   unauthenticated bytes.
// - Errors (cipherline::Error with a crypto::errc code) name the problem:
//   malformed_field ("3 parts, expected 4 …", "not quoted"), invalid_hex
//   with the part and position, invalid_length for a nonce or IV of the
//   wrong size or a ciphertext shorter than a tag, authentication_failed for
//   a wrong key, nonce, sequence number or tampered data — deliberately one
//   error for all of these.
// - Uppercase hex is accepted on input; output is lowercase.
// - Thread-safe pure functions (the Aes256Gcm is const).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "cipherline/crypto/aes256gcm.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::protocol {

using FieldNonce = std::array<std::byte, 12>;
using FieldIv = std::array<std::byte, 12>;

// The parts of an encrypted field, viewing into the text it was parsed from.
struct ParsedField {
  std::string_view secret_id;
  FieldNonce nonce;
  FieldIv iv;
  std::string_view sealed_hex;  // hex of ciphertext ‖ tag
};

// sealed_field_size is the length of the quoted field for a plaintext of
// `plaintext_size` bytes under an ID of `id_size` characters.
constexpr std::size_t sealed_field_size(std::size_t id_size, std::size_t plaintext_size) noexcept {
  return 2 + id_size + 3 + 24 + 24 + 2 * (plaintext_size + crypto::Aes256Gcm::kTagSize);
}

// seal_field appends the quoted field for `plaintext` to `out`, with a fresh
// random IV.
void seal_field(const crypto::Aes256Gcm& aead, std::string_view secret_id, const FieldNonce& nonce,
                std::uint32_t sequence, std::span<const std::byte> plaintext, std::string& out);
// seal_field_with_iv is seal_field with a given IV, for known-answer tests.
void seal_field_with_iv(const crypto::Aes256Gcm& aead, std::string_view secret_id,
                        const FieldNonce& nonce, const FieldIv& iv, std::uint32_t sequence,
                        std::span<const std::byte> plaintext, std::string& out);

// parse_field splits a quoted field into its parts (surrounding ASCII
// whitespace is ignored); it does not authenticate anything.
Result<ParsedField, Error> parse_field(std::string_view quoted);

// open_field authenticates and decrypts `field`, using `nonce` (not the
// field's own nonce component) and `sequence` in the AAD, and appends the
// plaintext to `out`.
Result<void, Error> open_field(const crypto::Aes256Gcm& aead, const ParsedField& field,
                               const FieldNonce& nonce, std::uint32_t sequence, std::string& out);

}  // namespace cipherline::protocol
