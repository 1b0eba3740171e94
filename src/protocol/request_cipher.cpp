#include "cipherline/protocol/request_cipher.hpp"

#include <algorithm>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/random.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

Result<ParsedField, Error> parse_for(const InferenceSecret& secret, std::string_view text) {
  auto field = parse_field(text);
  if (!field) return field;
  if (field->secret_id != secret.id()) {
    return Error(errc::secret_id_mismatch, "field is encrypted for secret '" +
                                               std::string(field->secret_id) +
                                               "', this exchange uses '" + secret.id() + "'");
  }
  return field;
}

}  // namespace

RequestCipher::RequestCipher(std::shared_ptr<const InferenceSecret> secret)
    : secret_(std::move(secret)) {
  crypto::random_bytes(nonce_);
}

RequestCipher::RequestCipher(std::shared_ptr<const InferenceSecret> secret, const FieldNonce& nonce)
    : secret_(std::move(secret)), nonce_(nonce) {}

Result<void, Error> RequestCipher::seal(std::span<const std::byte> plaintext, std::string& out) {
  if (opened_) {
    return Error(errc::cipher_state,
                 "cannot encrypt a request field after decrypting the response");
  }
  FieldIv iv;
  crypto::random_bytes(iv);
  sealed_ivs_.push_back(iv);
  seal_field_with_iv(secret_->aead(), secret_->id(), nonce_, iv, seal_sequence_++, plaintext, out);
  return {};
}

Result<void, Error> RequestCipher::open(std::string_view text, std::string& out) {
  auto field = parse_for(*secret_, text);
  if (!field) return field.error();
  // Both directions share key, nonce and AAD layout, so the gateway could
  // hand a request field back as a response field of the same position and
  // it would authenticate. A response field must carry this exchange's
  // nonce and an IV of the responder's own.
  if (field->nonce != nonce_) {
    return Error(errc::authentication_failed, "a response field carries another exchange's nonce");
  }
  if (!opened_) std::sort(sealed_ivs_.begin(), sealed_ivs_.end());
  if (std::binary_search(sealed_ivs_.begin(), sealed_ivs_.end(), field->iv)) {
    return Error(errc::authentication_failed,
                 "a response field reuses the IV of a request field (a reflected request field)");
  }
  if (auto r = open_field(secret_->aead(), *field, nonce_, open_sequence_, out); !r) return r;
  ++open_sequence_;
  opened_ = true;
  return {};
}

ResponseCipher::ResponseCipher(std::shared_ptr<const InferenceSecret> secret)
    : secret_(std::move(secret)) {}

Result<void, Error> ResponseCipher::open(std::string_view text, std::string& out) {
  if (sealed_) {
    return Error(errc::cipher_state,
                 "cannot decrypt a request field after encrypting the response");
  }
  auto field = parse_for(*secret_, text);
  if (!field) return field.error();
  const FieldNonce& nonce = open_sequence_ == 0 ? field->nonce : nonce_;
  if (auto r = open_field(secret_->aead(), *field, nonce, open_sequence_, out); !r) return r;
  if (open_sequence_ == 0) nonce_ = field->nonce;
  ++open_sequence_;
  return {};
}

Result<void, Error> ResponseCipher::seal(std::span<const std::byte> plaintext, std::string& out) {
  if (open_sequence_ == 0) {
    return Error(errc::cipher_state,
                 "cannot encrypt a response before decrypting a request field (no nonce yet)");
  }
  sealed_ = true;
  seal_field(secret_->aead(), secret_->id(), nonce_, seal_sequence_++, plaintext, out);
  return {};
}

}  // namespace cipherline::protocol
