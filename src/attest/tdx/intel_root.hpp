// The built-in Intel SGX Root CA (private to attest/tdx).
#pragma once

namespace cipherline::attest::tdx::internal {

// PEM text of the Intel SGX Root CA certificate.
extern const char kIntelSgxRootCaPem[];

}  // namespace cipherline::attest::tdx::internal
