// The OCSP revocation policy a client asks the backend to apply to its GPUs
// (spec §6.5), and the MAC that binds it to the client's secret.
//
//   OcspPolicy p{.revoked_grace_period = std::chrono::hours(24), .allow_unknown = true};
//   std::string header = ocsp_policy_header(p, std::chrono::system_clock::now());
//   // "rules=allow-good,allow-revoked,allow-unknown; revocation-time-not-before=1764201600"
//   std::string mac = ocsp_policy_mac(secret, header);   // hex HMAC-SHA256, keyed with the secret
//
// The server accepts a REVOKED status only if the revocation happened at or
// after `revocation-time-not-before` (now minus the grace period), and
// UNKNOWN only with allow-unknown. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cipherline/protocol/inference_secret.hpp"

namespace cipherline::protocol {

struct OcspPolicy {
  // REVOKED is tolerated for revocations newer than this; zero rejects them.
  std::chrono::seconds revoked_grace_period{0};
  bool allow_unknown = false;
};

std::string ocsp_policy_header(const OcspPolicy& policy, std::chrono::system_clock::time_point now);
std::string ocsp_policy_mac(const InferenceSecret& secret, std::string_view header);

}  // namespace cipherline::protocol
