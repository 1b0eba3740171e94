#include "cipherline/crypto/oae.hpp"

#include <cstring>
#include <stdexcept>
#include <string_view>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hkdf.hpp"
#include "cipherline/crypto/random.hpp"

namespace cipherline::crypto {
namespace {

constexpr std::string_view kRequestKeyInfo{"privatemode oae request key\0", 28};
constexpr std::string_view kResponseKeyInfo{"privatemode oae response key\0", 29};

constexpr std::byte kMore{0x00};
constexpr std::byte kFinal{0x01};

std::array<std::byte, 5> aad_of(std::uint64_t sequence, std::byte flag) noexcept {
  const auto s = static_cast<std::uint32_t>(sequence);
  return {std::byte(s >> 24), std::byte(s >> 16), std::byte(s >> 8), std::byte(s), flag};
}

SecretBytes response_key(std::span<const std::byte> prk, std::span<const std::byte> salt) {
  std::array<std::byte, kResponseKeyInfo.size() + kOaeHeaderSize> info;
  std::memcpy(info.data(), kResponseKeyInfo.data(), kResponseKeyInfo.size());
  std::memcpy(info.data() + kResponseKeyInfo.size(), salt.data(), salt.size());
  return hkdf_sha256_expand(prk, info, Aes256Gcm::kKeySize);
}

SecretBytes request_key(std::span<const std::byte> prk) {
  return hkdf_sha256_expand(prk, std::as_bytes(std::span(kRequestKeyInfo)), Aes256Gcm::kKeySize);
}

Error wrong_size(const char* what, std::size_t size) {
  return Error(errc::invalid_length,
               std::string(what) + " has " + std::to_string(size) + " bytes, expected 32");
}

}  // namespace

Result<void, Error> OaeSealer::seal(std::span<const std::byte> plaintext, bool final,
                                    std::string& out) {
  OaeNonce nonce;
  random_bytes(nonce);
  return seal_with_nonce(plaintext, final, nonce, out);
}

Result<void, Error> OaeSealer::seal_with_nonce(std::span<const std::byte> plaintext, bool final,
                                               const OaeNonce& nonce, std::string& out) {
  if (closed_) {
    return Error(errc::stream_closed, sequence_ >= kOaeMaxMessages
                                          ? "the stream has sealed 2^32 messages"
                                          : "the stream's final message was already sealed");
  }
  const std::byte flag = final ? kFinal : kMore;
  const auto aad = aad_of(sequence_, flag);
  const std::size_t start = out.size();
  out.resize(start + kOaeOverhead + plaintext.size());
  auto* message = reinterpret_cast<std::byte*>(out.data() + start);
  message[0] = flag;
  std::memcpy(message + 1, nonce.data(), nonce.size());
  aead_.seal({message + 1 + kOaeNonceSize, plaintext.size() + Aes256Gcm::kTagSize}, plaintext,
             nonce, aad);
  ++sequence_;
  closed_ = final || sequence_ >= kOaeMaxMessages;
  return {};
}

Result<void, Error> OaeOpener::open(std::span<const std::byte> message, std::string& out) {
  if (failure_) return *failure_;
  const auto fail = [this](Error e) -> Result<void, Error> {
    failure_ = e;
    return e;
  };
  if (closed_) {
    return fail(Error(errc::stream_closed, sequence_ >= kOaeMaxMessages
                                               ? "the stream has opened 2^32 messages"
                                               : "a message after the stream's final one"));
  }
  if (message.size() < kOaeOverhead) {
    return fail(Error(errc::malformed_message, "message " + std::to_string(sequence_) + " has " +
                                                   std::to_string(message.size()) +
                                                   " bytes, at least 29 expected"));
  }
  const std::byte flag = message[0];
  if (flag != kMore && flag != kFinal) {
    return fail(Error(errc::malformed_message,
                      "message " + std::to_string(sequence_) + " has flag byte " +
                          std::to_string(std::to_integer<int>(flag)) + ", expected 0 or 1"));
  }
  const auto aad = aad_of(sequence_, flag);
  const std::size_t size = message.size() - kOaeOverhead;
  const std::size_t start = out.size();
  out.resize(start + size);
  auto opened =
      aead_.open({reinterpret_cast<std::byte*>(out.data() + start), size},
                 message.subspan(1 + kOaeNonceSize), message.subspan(1, kOaeNonceSize), aad);
  if (!opened) {
    out.resize(start);
    return fail(Error(errc::authentication_failed,
                      "message " + std::to_string(sequence_) + " does not authenticate"));
  }
  ++sequence_;
  closed_ = flag == kFinal || sequence_ >= kOaeMaxMessages;
  return {};
}

Result<void, Error> OaeOpener::finish() const {
  if (failure_) return *failure_;
  if (!closed_) {
    return Error(errc::stream_truncated, "the stream ended after " + std::to_string(sequence_) +
                                             " messages without its final one");
  }
  return {};
}

namespace {

OaeHeader random_salt() {
  OaeHeader salt;
  random_bytes(salt);
  return salt;
}

std::span<const std::byte> checked_secret(std::span<const std::byte> secret) {
  if (secret.size() != kOaeSecretSize) {
    throw std::invalid_argument("OAE: the shared secret has " + std::to_string(secret.size()) +
                                " bytes, expected 32");
  }
  return secret;
}

}  // namespace

OaeRequester::OaeRequester(std::span<const std::byte> secret)
    : OaeRequester(secret, random_salt()) {}

OaeRequester::OaeRequester(std::span<const std::byte> secret, const OaeHeader& request_salt)
    : salt_(request_salt),
      prk_(hkdf_sha256_extract(request_salt, checked_secret(secret))),
      request_(request_key(prk_.bytes()).bytes()) {}

Result<OaeOpener, Error> OaeRequester::accept_response(std::span<const std::byte> response_header) {
  // Single use, whatever the outcome: the PRK leaves the object first.
  SecretBytes prk = std::move(prk_);
  if (prk.empty()) {
    return Error(errc::cipher_state, "a response header was already accepted for this exchange");
  }
  if (response_header.size() != kOaeHeaderSize) {
    return Error(errc::malformed_message, "the response header has " +
                                              std::to_string(response_header.size()) +
                                              " bytes, expected 32");
  }
  return OaeOpener(response_key(prk.bytes(), response_header).bytes());
}

Result<OaeResponder, Error> OaeResponder::create(std::span<const std::byte> secret,
                                                 std::span<const std::byte> request_header,
                                                 const OaeHeader* response_salt) {
  if (secret.size() != kOaeSecretSize) return wrong_size("the shared secret", secret.size());
  if (request_header.size() != kOaeHeaderSize) {
    return Error(
        errc::malformed_message,
        "the request header has " + std::to_string(request_header.size()) + " bytes, expected 32");
  }
  const OaeHeader salt = response_salt != nullptr ? *response_salt : random_salt();
  const SecretBytes prk = hkdf_sha256_extract(request_header, secret);
  return OaeResponder(request_key(prk.bytes()).bytes(), response_key(prk.bytes(), salt).bytes(),
                      salt);
}

}  // namespace cipherline::crypto
