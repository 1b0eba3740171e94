// The built-in AMD SEV-SNP certificate chains (private to attest/snp).
#pragma once

namespace cipherline::attest::snp::internal {

// PEM texts: the ASK, then the ARK.
extern const char kMilanChainPem[];
extern const char kGenoaChainPem[];
extern const char kTurinChainPem[];

// The ASVKs (VLEK intermediates), one certificate each.
extern const char kMilanAsvkPem[];
extern const char kGenoaAsvkPem[];
extern const char kTurinAsvkPem[];

}  // namespace cipherline::attest::snp::internal
