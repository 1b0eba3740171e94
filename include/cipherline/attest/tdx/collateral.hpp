// Intel PCS collateral for TDX (spec §5.5): the TCB info of a platform
// model (FMSPC) and the identity of the TD quoting enclave, and the checks
// that apply them to a quote: signature, freshness, revocation (Intel's PCK
// and root CA CRLs), TCB level selection and status, QE identity.
//
//   auto info = tdx::parse_tcb_info(tcb_info_response).value();
//   auto qe = tdx::parse_qe_identity(qe_identity_response).value();
//   VerificationReport r = tdx::verify_quote(quote, tdx::intel_root(), now);
//   tdx::check_collateral(quote, {info, qe, tcb_signing_certificate, pck_crl, root_crl},
//                         tdx::intel_root(), tdx::CollateralPolicy{}, now, r);
//   // or, from the documents as served:
//   auto collateral = tdx::parse_collateral(documents).value();
//
// Contract:
// - The parsers take a PCS response body as served, {"tcbInfo": {…},
//   "signature": "<hex r ‖ s>"} or {"enclaveIdentity": {…}, …}, and keep the
//   exact bytes of the signed value; nothing is re-serialized, and the fields
//   are read from those same bytes. Errors are attest::errc::malformed_evidence
//   (::unsupported_evidence for another id, version or TCB type) naming the
//   document and the JSON path:
//     "TCB info: tcbLevels[1].tcb.pcesvn: missing or not an unsigned integer"
// - The collateral must be Intel's: without the "Intel SGX TCB Signing"
//   certificate (PCS sends it in the TCB-Info-Issuer-Chain response header,
//   not in the body) the "TCB signing certificate" check fails, unless the
//   policy explicitly allows unsigned collateral (allow_unsigned_collateral,
//   for collateral that came over an authenticated channel); then the report
//   claims "collateral signatures: not checked …" instead.
// - Revocation is fail-closed: without the PCK CRL and the root CA CRL the
//   "PCK CRL" / "root CA CRL" checks fail, unless allow_missing_crls says
//   so (then the report claims "PCK CRL: not checked …" and so on). A CRL
//   that is given must be signed by its issuer (the quote's PCK CA, the
//   trusted root), be current at `now` (thisUpdate <= now <= nextUpdate, as
//   crypto::Crl checks) and not list the PCK certificate, the PCK CA or the
//   TCB signing certificate.
// - `now` is a parameter: collateral expires every month, so tests pin it.
// - Pure functions; no I/O; thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/attest/evidence_file.hpp"
#include "cipherline/attest/tdx/quote.hpp"
#include "cipherline/attest/tdx/verify.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/crypto/certificate.hpp"

namespace cipherline::attest::tdx {

using TimePoint = std::chrono::system_clock::time_point;

enum class TcbStatus {
  up_to_date,
  sw_hardening_needed,
  configuration_needed,
  configuration_and_sw_hardening_needed,
  out_of_date,
  out_of_date_configuration_needed,
  revoked,
};
// Intel's spelling: "UpToDate", "SWHardeningNeeded", "ConfigurationNeeded",
// "ConfigurationAndSWHardeningNeeded", "OutOfDate",
// "OutOfDateConfigurationNeeded", "Revoked".
std::string_view tcb_status_name(TcbStatus status) noexcept;
std::optional<TcbStatus> tcb_status_from_name(std::string_view name) noexcept;
// converge_tcb_status folds the status of a component that has its own TCB
// levels (the TDX module, the QE) into the platform's, as Intel's verifier
// does: a revoked component revokes; an out-of-date one makes an up-to-date
// or SW-hardening-needed platform OutOfDate and a configuration-needed one
// OutOfDateConfigurationNeeded; otherwise the platform's status stands.
TcbStatus converge_tcb_status(TcbStatus platform, TcbStatus component) noexcept;

// A platform TCB level of the TCB info.
struct TcbLevel {
  std::array<std::uint8_t, 16> sgx_components{};
  std::uint16_t pcesvn = 0;
  std::array<std::uint8_t, 16> tdx_components{};
  TimePoint tcb_date;
  TcbStatus status = TcbStatus::revoked;
  std::vector<std::string> advisory_ids;
};

// A TCB level keyed by one SVN (a TDX module's or the QE's ISVSVN).
struct IsvTcbLevel {
  std::uint16_t isvsvn = 0;
  TimePoint tcb_date;
  TcbStatus status = TcbStatus::revoked;
  std::vector<std::string> advisory_ids;
};

// The TDX module's signer and attributes ("tdxModule"), and in newer TCB
// info the identity of each module major version ("tdxModuleIdentities",
// id "TDX_01", "TDX_03", …) with its own levels.
struct TdxModuleIdentity {
  std::string id;  // empty for "tdxModule"
  Measurement mrsigner{};
  std::array<std::byte, 8> attributes{};
  std::array<std::byte, 8> attributes_mask{};
  std::vector<IsvTcbLevel> levels;
};

struct TcbInfo {
  std::string signed_body;  // the exact bytes of the "tcbInfo" value
  std::array<std::byte, 64> signature{};
  std::string id;   // "TDX"
  int version = 0;  // 3
  TimePoint issue_date;
  TimePoint next_update;
  std::array<std::byte, 6> fmspc{};
  std::array<std::byte, 2> pce_id{};
  std::uint32_t tcb_evaluation_data_number = 0;
  TdxModuleIdentity tdx_module;
  std::vector<TdxModuleIdentity> tdx_module_identities;
  std::vector<TcbLevel> levels;  // in the order served (newest first)
};

struct QeIdentity {
  std::string signed_body;  // the exact bytes of the "enclaveIdentity" value
  std::array<std::byte, 64> signature{};
  std::string id;   // "TD_QE"
  int version = 0;  // 2
  TimePoint issue_date;
  TimePoint next_update;
  std::uint32_t tcb_evaluation_data_number = 0;
  std::uint32_t miscselect = 0;
  std::uint32_t miscselect_mask = 0;
  std::array<std::byte, 16> attributes{};
  std::array<std::byte, 16> attributes_mask{};
  std::array<std::byte, 32> mrsigner{};
  std::uint16_t isvprodid = 0;
  std::vector<IsvTcbLevel> levels;
};

Result<TcbInfo, Error> parse_tcb_info(std::string_view response);
Result<QeIdentity, Error> parse_qe_identity(std::string_view response);

// TCB level selection for one quote (spec §5.5). Pointers refer into the
// TcbInfo given to evaluate_tcb.
struct TcbEvaluation {
  // The first level whose SGX components and PCESVN the PCK certificate
  // meets and whose TDX components TEE_TCB_SVN meets (every byte, or from
  // byte 2 on when TEE_TCB_SVN[1], the module's major version, is not 0).
  const TcbLevel* level = nullptr;
  // When TEE_TCB_SVN[1] is not 0, the module identity "TDX_<major, 2 hex
  // digits>" and its first level with ISVSVN ≤ TEE_TCB_SVN[0].
  bool module_consulted = false;
  std::string module_id;
  const TdxModuleIdentity* module = nullptr;
  const IsvTcbLevel* module_level = nullptr;
  // The level's status, converged with the module level's; empty when a
  // needed level is missing.
  std::optional<TcbStatus> status;
};
TcbEvaluation evaluate_tcb(const TcbInfo& info, const PckExtensions& pck, const TdQuoteBody& body);
// qe_tcb_level returns the first QE identity level with ISVSVN ≤ `isv_svn`,
// or null.
const IsvTcbLevel* qe_tcb_level(const QeIdentity& identity, std::uint16_t isv_svn);

struct Collateral {
  TcbInfo tcb_info;
  QeIdentity qe_identity;
  // The "Intel SGX TCB Signing" certificate that signed both documents.
  std::optional<crypto::Certificate> signing_certificate;
  // The CRL of the quote's PCK CA (Intel SGX PCK Platform or Processor CA)
  // and of the root CA, DER or PEM as PCS serves them.
  std::optional<std::vector<std::byte>> pck_crl;
  std::optional<std::vector<std::byte>> root_crl;
};

// The collateral documents as served by Intel's PCS (or a cache of them),
// bytes only: attest/ reads no files and fetches nothing.
struct CollateralDocuments {
  std::string tcb_info;     // the TCB info response body
  std::string qe_identity;  // the QE identity response body
  // The TCB-Info-Issuer-Chain header, URL-decoded: PEM, the TCB signing
  // certificate first (the root, if present, is ignored). Empty: none.
  std::string tcb_signing_chain_pem;
  std::optional<std::vector<std::byte>> pck_crl;
  std::optional<std::vector<std::byte>> root_crl;
};
// As files (a collateral directory, a capture): "tcb_info.json",
// "qe_identity.json", "tcb_signing.pem", "pck_crl.der", "root_crl.der";
// collateral_files omits the documents that are absent (the last three may
// be), collateral_from_files rebuilds the documents from such files and
// fails naming the first required one that is missing.
inline constexpr const char* kCollateralFileNames[] = {
    "tcb_info.json", "qe_identity.json", "tcb_signing.pem", "pck_crl.der", "root_crl.der"};
std::vector<EvidenceFile> collateral_files(const CollateralDocuments& documents);
Result<CollateralDocuments, Error> collateral_from_files(std::span<const EvidenceFile> files);
// parse_collateral parses the documents; errors are parse_tcb_info's,
// parse_qe_identity's, or "TCB signing chain: …".
Result<Collateral, Error> parse_collateral(const CollateralDocuments& documents);

struct CollateralPolicy {
  // TCB statuses accepted after convergence with the TDX module's and the
  // QE's. Upstream verifiers accept only UpToDate.
  std::vector<TcbStatus> accepted_statuses{TcbStatus::up_to_date};
  // When not 0, the TCB info's tcbEvaluationDataNumber must be at least this.
  std::uint32_t min_tcb_evaluation_data_number = 0;
  // When not empty, the PCK certificate's PIID (SGX extension .6, present
  // in Platform CA certificates only) must be one of these ("PIID").
  std::vector<std::array<std::byte, 16>> allowed_piids;
  // Explicit opt-outs (both off: fail closed). Unsigned collateral is only
  // acceptable when it came over a channel that authenticates Intel; a
  // missing CRL means revocation is not checked.
  bool allow_unsigned_collateral = false;
  bool allow_missing_crls = false;
};

// check_collateral appends these checks to `report`, in order:
//   TCB signing certificate   CN "Intel SGX TCB Signing", issued by `root`,
//                             valid at `now` (fails when absent, unless
//                             allow_unsigned_collateral)
//   TCB info signature        over the exact signed bytes       } with a
//   QE identity signature                                       } certificate
//   root CA CRL               signed by `root`, current         } each fails
//   PCK CRL                   signed by the PCK CA, current     } when absent
//   PCK CA revocation, TCB signing certificate revocation,      } unless
//   PCK revocation            not listed                        } allowed
//   TCB info freshness        issueDate <= now < nextUpdate
//   QE identity freshness
//   TCB info FMSPC, TCB info PCE-ID   equal to the PCK certificate's
//   TDX module signer         MRSIGNERSEAM equals tdxModule.mrsigner
//   TDX module attributes     SEAMATTRIBUTES under the mask
//   TCB level                 evaluate_tcb found a level
//   TDX module identity, TDX module identity signer, TDX module identity
//   attributes, TDX module TCB level      (only when TEE_TCB_SVN[1] != 0)
//   QE identity MRSIGNER, ISVPRODID, MISCSELECT (masked), attributes (masked)
//   QE TCB level              qe_tcb_level found a level
//   TCB status                the converged status is accepted by `policy`
//   TCB evaluation data number           (only with a minimum in `policy`)
//   PIID                      listed in allowed_piids  (only when not empty)
// Claims: TCB status, TCB date, TDX module TCB status, QE TCB status,
// advisory IDs, TCB evaluation data number.
// It complements verify_quote and relies on it: `root` is the TrustedRoot
// given there (which pins it), and the PCK certificate's SGX extension is
// read here without verifying the chain again.
void check_collateral(const Quote& quote, const Collateral& collateral, const TrustedRoot& root,
                      const CollateralPolicy& policy, TimePoint now, VerificationReport& report);

}  // namespace cipherline::attest::tdx
