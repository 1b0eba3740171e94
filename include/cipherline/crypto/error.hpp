// Error codes of the crypto and protocol layers (std::error_code category
// "cipherline.crypto"). Failures that can say more — which part of a field,
// which byte offset, which certificate — come as cipherline::Error, carrying
// one of these codes plus a detail message.
#pragma once

#include <system_error>

namespace cipherline::crypto {

enum class errc {
  invalid_hex = 1,        // odd length or a non-hex digit (the detail says where)
  invalid_base64,         // not standard padded base64 (the detail says where)
  invalid_length,         // a key, nonce, IV or buffer of the wrong size
  malformed_field,        // an encrypted field that is not "id:nonce:iv:ciphertext"
  authentication_failed,  // AEAD tag mismatch: wrong key, nonce, sequence number or data
  secret_id_mismatch,     // fields of one request name different secrets
  cipher_state,           // an operation the sequence rules forbid (encrypt after decrypt, ...)
  invalid_public_key,     // a KEM or DH public key that is malformed or of low order
  signature_invalid,      // a signature that does not verify
  certificate_invalid,    // a certificate or chain that does not verify (detail says why)
  unsupported,            // an algorithm or parameter this build does not support
  invalid_json,           // a body that is not the JSON expected (the detail says what and where)
  malformed_message,  // an OAE message or frame that cannot be one (too short, bad flag, too long)
  stream_closed,      // an OAE stream used after its final message (or past 2^32 messages)
  stream_truncated,   // an OAE stream that ended without its final message
  crl_invalid,        // a CRL that is malformed, not signed by its issuer, or not current
};

const std::error_category& crypto_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), crypto_category()};
}

}  // namespace cipherline::crypto

template <>
struct std::is_error_code_enum<cipherline::crypto::errc> : std::true_type {};
