#include "cipherline/protocol/ocsp_policy.hpp"

#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::protocol {

std::string ocsp_policy_header(const OcspPolicy& policy, std::chrono::system_clock::time_point now) {
  std::string rules = "allow-good";
  if (policy.revoked_grace_period > std::chrono::seconds::zero()) rules += ",allow-revoked";
  if (policy.allow_unknown) rules += ",allow-unknown";
  const auto not_before = std::chrono::duration_cast<std::chrono::seconds>(
                              (now - policy.revoked_grace_period).time_since_epoch())
                              .count();
  return "rules=" + rules + "; revocation-time-not-before=" + std::to_string(not_before);
}

std::string ocsp_policy_mac(const InferenceSecret& secret, std::string_view header) {
  return crypto::to_hex(crypto::hmac_sha256(secret.key().bytes(), std::as_bytes(std::span(header))));
}

}  // namespace cipherline::protocol
