// Error codes of the backend (std::error_code category "cipherline.backend").
// Failures that can say more come as cipherline::Error with one of these
// codes and a detail; the code is what callers compare against.
#pragma once

#include <system_error>

namespace cipherline::backend {

enum class errc {
  secret_exists = 1,  // a secret with this ID is already stored (create-only)
  no_secret,          // no (unexpired) secret for the ID; workers answer "no secret for ID"
  store_failed,       // the store's medium failed (the detail says how)
  admission_refused,  // a service's evidence did not pass the Coordinator's checks
  bad_configuration,  // a flag, state directory or file the backend cannot use
};

const std::error_category& backend_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), backend_category()};
}

}  // namespace cipherline::backend

template <>
struct std::is_error_code_enum<cipherline::backend::errc> : std::true_type {};
