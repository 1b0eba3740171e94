// Reading the inputs of `cipherline verify …` from flags: evidence files
// (binary or hex text), certificates (DER or PEM), times (RFC 3339) and
// development trust directories. Every problem is a UsageError naming the
// flag, the file and what was wrong (exit status 2).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/attest/tdx/collateral.hpp"
#include "cipherline/client/attestation_log.hpp"
#include "cipherline/client/session.hpp"
#include "cipherline/crypto/certificate.hpp"
#include "flags.hpp"

namespace cipherline::cli {

// The file in a development trust directory that holds the software TEE's
// SEV-SNP chain: ASK then ARK, as AMD's cert_chain.
inline constexpr std::string_view kDevSnpChainFile = "sev-snp-dev-cert-chain.pem";

std::vector<std::byte> read_file_flag(const Flags& flags, std::string_view name);
std::string read_text_flag(const Flags& flags, std::string_view name);
// read_file_in reads `file` in the directory given by flag `name`;
// read_optional_file_in returns nullopt when it does not exist.
std::string read_file_in(const Flags& flags, std::string_view name, std::string_view file);
std::optional<std::string> read_optional_file_in(const Flags& flags, std::string_view name,
                                                 std::string_view file);
// read_tdx_collateral reads Intel PCS collateral from the directory given
// by flag `name`: tcb_info.json and qe_identity.json (required, as served),
// tcb_signing.pem (the TCB-Info-Issuer-Chain, signing certificate first),
// pck_crl.der and root_crl.der (DER or PEM), each of the last three
// optional here: their absence fails the verification, not the reading.
inline constexpr std::string_view kTdxCollateralFiles =
    "tcb_info.json, qe_identity.json, tcb_signing.pem, pck_crl.der, root_crl.der";
attest::tdx::CollateralDocuments read_tdx_collateral(const Flags& flags, std::string_view name);

// The revocation and collateral flags of the commands that attest a
// Coordinator (proxy, batch): --tdx-collateral DIR, --tdx-allow-missing-crl,
// --require-amd-crl, --amd-crl-fail-open.
inline constexpr const char* kTdxCollateralHelp =
    "Intel PCS collateral for a TDX Coordinator (tcb_info.json, qe_identity.json, "
    "tcb_signing.pem, pck_crl.der, root_crl.der)";
void read_trust_flags(const Flags& flags, client::SessionOptions& session);

// The record-keeping flags of the commands that attest (proxy, batch):
// --workspace DIR (default `workspace`: "none" or "."), --capture-dir DIR
// (where the manifest log and captures go; default: the workspace),
// --no-capture (the manifest log only), --capture-keep N, and
// --attest-every-request.
void add_record_flags(Flags& flags, const char* workspace);
void read_record_flags(const Flags& flags, client::SessionOptions& session);
// The SEV-SNP checks of `verify snp` (and of an snp-report capture): the
// report under its VCEK and chain at `at`, then, when given, the reference
// values (a manifest ReferenceValues.snp entry, JSON; UsageError when it
// does not parse) and the expected REPORT_DATA.
struct SnpInputs {
  attest::snp::AttestationReport report;
  crypto::Certificate vcek;
  attest::snp::TrustedChain chain;
  std::chrono::system_clock::time_point at;
  std::vector<std::byte> crl;
  attest::snp::RevocationPolicy policy;
  std::optional<std::string> reference_json{};
  std::optional<std::vector<std::byte>> report_data{};
};
attest::VerificationReport check_snp(const SnpInputs& inputs);

// record_capture records `capture` in the directory of --capture-dir and
// says so on stderr; UsageError when it cannot.
void record_capture(const Flags& flags, const client::Capture& capture);

// read_evidence reads a binary file, or hex text (whitespace allowed).
std::vector<std::byte> read_evidence(const Flags& flags, std::string_view name);
crypto::Certificate certificate_flag(const Flags& flags, std::string_view name);
std::vector<crypto::Certificate> certificates_flag(const Flags& flags, std::string_view name);
// time_flag: "now" (the default) or RFC 3339 ("2024-06-01T12:00:00Z",
// "…+02:00", or a bare date meaning midnight UTC).
std::chrono::system_clock::time_point time_flag(const Flags& flags, std::string_view name);
attest::snp::TrustedChain development_chain(const Flags& flags, std::string_view name);
// ark_product: the product an ARK names in its CN ("ARK-Genoa"), or unknown.
attest::snp::Product ark_product(const crypto::Certificate& ark);
// unwrap_privatemode_document returns the Coordinator document inside
// Privatemode's {"AttestationDoc": "<base64>"} response, or `json` itself.
std::string unwrap_privatemode_document(const std::string& json);

template <class T>
T parse_or_usage(Result<T, Error> r) {
  if (!r) throw UsageError(r.error().message());
  return std::move(*r);
}

}  // namespace cipherline::cli
