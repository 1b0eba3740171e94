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
// UNKNOWN only with allow-unknown. Without either header only GOOD is
// accepted; with one, both must be present and the MAC must verify
// (compared in constant time) before the policy counts.
//
//   auto accepted = check_ocsp_policy(policy_header, mac_header, secret);   // server side
//   if (!accepted) ...   // "verifying OCSP header: HMAC verification failed"
//   if (!accepted->accepts(status)) ...
//
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "cipherline/protocol/inference_secret.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::protocol {

struct OcspPolicy {
  // REVOKED is tolerated for revocations newer than this; zero rejects them.
  std::chrono::seconds revoked_grace_period{0};
  bool allow_unknown = false;
};

// One certificate's OCSP status, as the attestation agent recorded it.
struct OcspStatus {
  enum class Value { good, revoked, unknown } value = Value::good;
  std::chrono::system_clock::time_point revoked_at{};  // for revoked
};
std::string_view to_string(OcspStatus::Value value) noexcept;

// The policy a server applies, parsed from the header.
struct AcceptedOcsp {
  bool good = true;
  bool revoked = false;
  bool unknown = false;
  std::chrono::system_clock::time_point revocation_time_not_before{};
  bool accepts(const OcspStatus& status) const noexcept;
};

std::string ocsp_policy_header(const OcspPolicy& policy, std::chrono::system_clock::time_point now);
std::string ocsp_policy_mac(const InferenceSecret& secret, std::string_view header);

// check_ocsp_policy: the server's reading of the two headers (either may be
// absent). Errors: crypto::errc::signature_invalid for a missing or wrong
// MAC, malformed_field for a policy that does not parse (naming the part).
Result<AcceptedOcsp, Error> check_ocsp_policy(std::optional<std::string_view> header,
                                              std::optional<std::string_view> mac,
                                              const InferenceSecret& secret);

}  // namespace cipherline::protocol
