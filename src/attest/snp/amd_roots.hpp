// The built-in AMD SEV-SNP certificate chains (private to attest/snp).
#pragma once

namespace cipherline::attest::snp::internal {

// PEM texts: the ASK, then the ARK.
extern const char kMilanChainPem[];
extern const char kGenoaChainPem[];
extern const char kTurinChainPem[];

}  // namespace cipherline::attest::snp::internal
