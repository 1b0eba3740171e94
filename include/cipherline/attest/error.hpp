// Error codes of the attestation layer (std::error_code category
// "cipherline.attest"). Parsers report cipherline::Error with one of these
// codes and a detail naming the structure, the field and the byte offset:
//
//   "SNP report: VERSION at offset 0x0: version 1 is not supported (2–5)"
//
// A verification that runs to the end does not fail with an error: it returns
// a VerificationReport whose failed checks say what did not hold.
#pragma once

#include <system_error>

namespace cipherline::attest {

enum class errc {
  malformed_evidence = 1,  // evidence that does not parse (the detail says where and why)
  unsupported_evidence,    // a well-formed variant this verifier does not handle
};

const std::error_category& attest_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), attest_category()};
}

}  // namespace cipherline::attest

template <>
struct std::is_error_code_enum<cipherline::attest::errc> : std::true_type {};
