#include "cipherline/crypto/error.hpp"

#include <string>

namespace cipherline::crypto {
namespace {

class CryptoCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline.crypto"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::invalid_hex:
        return "invalid hex";
      case errc::invalid_base64:
        return "invalid base64";
      case errc::invalid_length:
        return "wrong length";
      case errc::malformed_field:
        return "malformed encrypted field";
      case errc::authentication_failed:
        return "authentication failed";
      case errc::secret_id_mismatch:
        return "secret ID mismatch";
      case errc::cipher_state:
        return "operation not allowed in the cipher's current state";
      case errc::invalid_public_key:
        return "invalid public key";
      case errc::signature_invalid:
        return "signature does not verify";
      case errc::certificate_invalid:
        return "certificate does not verify";
      case errc::unsupported:
        return "unsupported algorithm or parameter";
      case errc::invalid_json:
        return "invalid JSON";
      case errc::crl_invalid:
        return "CRL does not verify";
    }
    return "unknown crypto error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& crypto_category() noexcept {
  static const CryptoCategory category;
  return category;
}

}  // namespace cipherline::crypto
