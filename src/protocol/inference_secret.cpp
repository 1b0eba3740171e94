#include "cipherline/protocol/inference_secret.hpp"

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::protocol {

std::string secret_id_for(std::span<const std::byte> public_key) {
  return crypto::to_base64(crypto::sha256(public_key));
}

}  // namespace cipherline::protocol
