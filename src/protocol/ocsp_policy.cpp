#include "cipherline/protocol/ocsp_policy.hpp"

#include <charconv>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/crypto/sha256.hpp"

namespace cipherline::protocol {

std::string ocsp_policy_header(const OcspPolicy& policy,
                               std::chrono::system_clock::time_point now) {
  std::string rules = "allow-good";
  if (policy.revoked_grace_period > std::chrono::seconds::zero()) rules += ",allow-revoked";
  if (policy.allow_unknown) rules += ",allow-unknown";
  const auto not_before = std::chrono::duration_cast<std::chrono::seconds>(
                              (now - policy.revoked_grace_period).time_since_epoch())
                              .count();
  return "rules=" + rules + "; revocation-time-not-before=" + std::to_string(not_before);
}

std::string ocsp_policy_mac(const InferenceSecret& secret, std::string_view header) {
  return crypto::to_hex(
      crypto::hmac_sha256(secret.key().bytes(), std::as_bytes(std::span(header))));
}

}  // namespace cipherline::protocol

namespace cipherline::protocol {

std::string_view to_string(OcspStatus::Value value) noexcept {
  switch (value) {
    case OcspStatus::Value::good:
      return "GOOD";
    case OcspStatus::Value::revoked:
      return "REVOKED";
    case OcspStatus::Value::unknown:
      return "UNKNOWN";
  }
  return "?";
}

bool AcceptedOcsp::accepts(const OcspStatus& status) const noexcept {
  switch (status.value) {
    case OcspStatus::Value::good:
      return good;
    case OcspStatus::Value::unknown:
      return unknown;
    case OcspStatus::Value::revoked:
      return revoked && status.revoked_at >= revocation_time_not_before;
  }
  return false;
}

Result<AcceptedOcsp, Error> check_ocsp_policy(std::optional<std::string_view> header,
                                              std::optional<std::string_view> mac,
                                              const InferenceSecret& secret) {
  if (!header && !mac) return AcceptedOcsp{};
  if (!header || !mac) {
    return Error(crypto::errc::signature_invalid,
                 "verifying OCSP header: the policy and its MAC must be sent together");
  }
  const std::string expected = ocsp_policy_mac(secret, *header);
  if (!crypto::constant_time_equal(std::as_bytes(std::span(expected)),
                                   std::as_bytes(std::span(*mac)))) {
    return Error(crypto::errc::signature_invalid,
                 "verifying OCSP header: HMAC verification failed");
  }
  const auto malformed = [](std::string what) {
    return Error(crypto::errc::malformed_field, "verifying OCSP header: " + std::move(what));
  };
  constexpr std::string_view kRules = "rules=";
  constexpr std::string_view kNotBefore = "; revocation-time-not-before=";
  const auto split = header->find(kNotBefore);
  if (!header->starts_with(kRules) || split == std::string_view::npos) {
    return malformed("expected \"rules=…; revocation-time-not-before=…\"");
  }
  AcceptedOcsp accepted{.good = false};
  std::string_view rules = header->substr(kRules.size(), split - kRules.size());
  while (!rules.empty()) {
    const auto comma = rules.find(',');
    const auto rule = rules.substr(0, comma);
    if (rule == "allow-good") {
      accepted.good = true;
    } else if (rule == "allow-revoked") {
      accepted.revoked = true;
    } else if (rule == "allow-unknown") {
      accepted.unknown = true;
    } else {
      return malformed("unknown rule \"" + std::string(rule) + "\"");
    }
    rules = comma == std::string_view::npos ? std::string_view() : rules.substr(comma + 1);
  }
  const auto seconds_text = header->substr(split + kNotBefore.size());
  std::int64_t seconds = 0;
  const auto [end, ec] =
      std::from_chars(seconds_text.data(), seconds_text.data() + seconds_text.size(), seconds);
  if (ec != std::errc() || end != seconds_text.data() + seconds_text.size() ||
      seconds_text.empty()) {
    return malformed("revocation-time-not-before is not a number of seconds");
  }
  accepted.revocation_time_not_before =
      std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  return accepted;
}

}  // namespace cipherline::protocol
