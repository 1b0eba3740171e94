// OAE: online authenticated encryption of the two message streams of one
// request/response exchange (Privatemode's whole-body format; the
// construction of spec privatemode-oae.md §1).
//
//   OaeRequester req(secret);                     // draws the request salt
//   send(req.request_header());                   // 32 bytes
//   req.request().seal(body, /*final=*/true, out);
//   auto opener = req.accept_response(response_header);   // once
//   opener->open(message, plain); …; opener->finish();    // truncated?
//
//   auto resp = OaeResponder::create(secret, request_header);
//   resp->request().open(message, plain);
//   send(resp->response_header());
//   resp->response().seal(event, false, out); … seal(done, true, out);
//
// Keys: PRK = HKDF-Extract(request_salt, secret); request key =
// HKDF-Expand(PRK, "privatemode oae request key\0"); response key =
// HKDF-Expand(PRK, "privatemode oae response key\0" ‖ response_salt). A
// sealed message is flag (0x00 more, 0x01 final) ‖ nonce (12) ‖ ciphertext ‖
// tag (16), with AAD = uint32_be(seq) ‖ flag; seq counts each stream's
// messages from 0.
//
// Contract:
// - Secrets: the shared secret and salts are exactly 32 bytes
//   (errc::invalid_length otherwise). Keys and PRK live in SecretBytes and
//   expanded Aes256Gcm keys; the requester's PRK is consumed by the first
//   accept_response, whatever its outcome (a second call: cipher_state).
// - Errors are sticky: after a failure every later call on that stream
//   returns the same error. Codes: malformed_message (shorter than 29 bytes,
//   a flag other than 0/1), authentication_failed (tampered, replayed,
//   reordered, dropped, another stream's or exchange's message), stream_closed
//   (sealing or opening after the final message, or beyond 2^32 messages),
//   stream_truncated (finish() before a final message was opened).
// - open appends only authenticated plaintext to `out`; seal appends
//   kOverhead + plaintext bytes. Neither allocates beyond growing `out`.
// - Not thread-safe: one stream object per direction per exchange, used by
//   one task at a time.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "cipherline/crypto/aes256gcm.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::crypto {

inline constexpr std::size_t kOaeSecretSize = 32;
inline constexpr std::size_t kOaeHeaderSize = 32;
inline constexpr std::size_t kOaeNonceSize = Aes256Gcm::kIvSize;
inline constexpr std::size_t kOaeOverhead = 1 + kOaeNonceSize + Aes256Gcm::kTagSize;  // 29
inline constexpr std::uint64_t kOaeMaxMessages = std::uint64_t{1} << 32;

using OaeHeader = std::array<std::byte, kOaeHeaderSize>;
using OaeNonce = std::array<std::byte, kOaeNonceSize>;

// The sealing end of one stream.
class OaeSealer {
 public:
  explicit OaeSealer(std::span<const std::byte> key) : aead_(key) {}

  // seal appends the sealed message for `plaintext` to `out` under a fresh
  // random nonce; `final` marks the stream's last message.
  Result<void, Error> seal(std::span<const std::byte> plaintext, bool final, std::string& out);
  Result<void, Error> seal(std::string_view plaintext, bool final, std::string& out) {
    return seal(std::as_bytes(std::span(plaintext)), final, out);
  }
  // seal_with_nonce is seal with a given nonce, for known-answer tests.
  Result<void, Error> seal_with_nonce(std::span<const std::byte> plaintext, bool final,
                                      const OaeNonce& nonce, std::string& out);

  bool closed() const noexcept { return closed_; }
  std::uint64_t sealed() const noexcept { return sequence_; }

 private:
  Aes256Gcm aead_;
  std::uint64_t sequence_ = 0;
  bool closed_ = false;
};

// The opening end of one stream.
class OaeOpener {
 public:
  explicit OaeOpener(std::span<const std::byte> key) : aead_(key) {}

  // open authenticates `message` as the stream's next one and appends its
  // plaintext to `out`.
  Result<void, Error> open(std::span<const std::byte> message, std::string& out);
  Result<void, Error> open(std::string_view message, std::string& out) {
    return open(std::as_bytes(std::span(message)), out);
  }
  // finish: the stream's input ended here. stream_truncated unless its
  // final message was opened (a sticky failure reports itself instead).
  Result<void, Error> finish() const;

  // Whether the final message has been opened.
  bool complete() const noexcept { return closed_ && !failure_; }
  std::uint64_t opened() const noexcept { return sequence_; }

 private:
  Aes256Gcm aead_;
  std::uint64_t sequence_ = 0;
  bool closed_ = false;
  std::optional<Error> failure_;
};

// The requester of an exchange (the client).
class OaeRequester {
 public:
  // A fresh random request salt. Throws std::invalid_argument unless the
  // secret is 32 bytes.
  explicit OaeRequester(std::span<const std::byte> secret);
  // A given salt, for known-answer tests.
  OaeRequester(std::span<const std::byte> secret, const OaeHeader& request_salt);

  const OaeHeader& request_header() const noexcept { return salt_; }
  OaeSealer& request() noexcept { return request_; }

  // accept_response derives the response key from the responder's header
  // and returns the response stream's opener. Single use: the PRK is wiped
  // on entry.
  Result<OaeOpener, Error> accept_response(std::span<const std::byte> response_header);

 private:
  OaeHeader salt_;
  SecretBytes prk_;
  OaeSealer request_;
};

// The responder of an exchange (the worker).
class OaeResponder {
 public:
  // create checks the sizes and derives both keys; a random response salt
  // unless one is given (known-answer tests).
  static Result<OaeResponder, Error> create(std::span<const std::byte> secret,
                                            std::span<const std::byte> request_header,
                                            const OaeHeader* response_salt = nullptr);

  OaeOpener& request() noexcept { return request_; }
  OaeSealer& response() noexcept { return response_; }
  const OaeHeader& response_header() const noexcept { return salt_; }

 private:
  OaeResponder(std::span<const std::byte> request_key, std::span<const std::byte> response_key,
               const OaeHeader& salt)
      : salt_(salt), request_(request_key), response_(response_key) {}

  OaeHeader salt_;
  OaeOpener request_;
  OaeSealer response_;
};

}  // namespace cipherline::crypto
