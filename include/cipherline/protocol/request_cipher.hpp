// RequestCipher (client) and ResponseCipher (server): the sequence rules of
// one request/response exchange (spec §4.3).
//
//   RequestCipher rc(secret);                    // fresh random nonce
//   rc.seal(field_plaintext, body);              // request fields, seq 0, 1, …
//   rc.open(response_field, plaintext);          // response fields, seq 0, 1, …
//
//   ResponseCipher sc(secret);                   // server, after looking up the ID
//   sc.open(request_field, plaintext);           // takes the nonce from the first field
//   sc.seal(response_plaintext, body);
//
// Contract:
// - Both sides use the request's nonce; request and response fields count
//   their sequence numbers independently from 0.
// - RequestCipher: sealing after the first open fails (crypto::errc::
//   cipher_state); response fields must name the request's secret ID.
// - ResponseCipher: the nonce comes from the first field it opens (later
//   fields' nonce components are ignored, as the protocol defines); every
//   field must name the same secret ID (secret_id_mismatch); opening after
//   the first seal, and sealing before any open, fail with cipher_state.
// - A failed open does not advance the sequence number.
// - One cipher per exchange, used by one task at a time (not thread-safe);
//   the InferenceSecret is shared and immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/protocol/field_cipher.hpp"
#include "cipherline/protocol/inference_secret.hpp"

namespace cipherline::protocol {

class RequestCipher {
 public:
  explicit RequestCipher(std::shared_ptr<const InferenceSecret> secret);
  // For known-answer tests: a given nonce instead of a random one.
  RequestCipher(std::shared_ptr<const InferenceSecret> secret, const FieldNonce& nonce);

  Result<void, Error> seal(std::span<const std::byte> plaintext, std::string& out);
  Result<void, Error> seal(std::string_view plaintext, std::string& out) {
    return seal(std::as_bytes(std::span(plaintext)), out);
  }
  Result<void, Error> open(std::string_view field, std::string& out);

  const FieldNonce& nonce() const noexcept { return nonce_; }
  const InferenceSecret& secret() const noexcept { return *secret_; }
  // The number of response fields opened so far.
  std::uint32_t opened() const noexcept { return open_sequence_; }

 private:
  std::shared_ptr<const InferenceSecret> secret_;
  FieldNonce nonce_;
  std::vector<FieldIv> sealed_ivs_;  // sorted at the first open
  std::uint32_t seal_sequence_ = 0;
  std::uint32_t open_sequence_ = 0;
  bool opened_ = false;
};

class ResponseCipher {
 public:
  explicit ResponseCipher(std::shared_ptr<const InferenceSecret> secret);

  Result<void, Error> open(std::string_view field, std::string& out);
  Result<void, Error> seal(std::span<const std::byte> plaintext, std::string& out);
  Result<void, Error> seal(std::string_view plaintext, std::string& out) {
    return seal(std::as_bytes(std::span(plaintext)), out);
  }

  bool has_nonce() const noexcept { return open_sequence_ > 0; }
  const InferenceSecret& secret() const noexcept { return *secret_; }

 private:
  std::shared_ptr<const InferenceSecret> secret_;
  FieldNonce nonce_{};
  std::uint32_t open_sequence_ = 0;
  std::uint32_t seal_sequence_ = 0;
  bool sealed_ = false;
};

}  // namespace cipherline::protocol
