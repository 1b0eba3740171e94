// Error codes of the client (std::error_code category "cipherline.client").
// Failures come as cipherline::Error with one of these codes and a detail
// naming the step and the reason; the code is what callers compare against.
#pragma once

#include <system_error>

namespace cipherline::client {

enum class errc {
  manifest_mismatch = 1,     // the backend's manifest is not the expected one (never retried)
  attestation_failed,        // the Coordinator's evidence did not verify (detail: the check)
  exchange_failed,           // the key exchange failed (detail: signature, chain, …)
  unauthorized,              // the gateway refused the API key (401)
  bad_status,                // the gateway answered a key-setup call with another status
  invalid_request,           // a request the client cannot send (invalid JSON, no model, …)
  bad_configuration,         // a flag, file or trust directory the client cannot use
  unauthenticated_response,  // an answer the gateway could have forged (plaintext 2xx, wrong
                             // format)
  response_cut_off,          // the request may have reached a worker, but the answer was cut
                             // off before it began (never resent: the model may have run it)
};

const std::error_category& client_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

}  // namespace cipherline::client

template <>
struct std::is_error_code_enum<cipherline::client::errc> : std::true_type {};
