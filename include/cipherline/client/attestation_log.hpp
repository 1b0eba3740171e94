// AttestationLog: the workspace's record of the attestations a client made
// — the manifest log (spec §6.4) extended into a hash-chained index of
// captures that `cipherline verify capture` re-verifies offline.
//
//   AttestationLog log(workspace, {.capture = true, .keep = 1000});
//   auto id = log.record(capture);   // the capture's ID, "" without capture
//
// Layout under the log's directory DIR (docs/attestation.md, "Captures"):
//   manifests/log.txt   the index, append-only, one line per event, each
//                       holding the SHA-256 (hex) of the line before it (the
//                       first: of nothing):
//     "<time> <prev> <manifest sha256> <n>.json"                 a verified
//         manifest, not captured (--no-capture; the form before captures)
//     "<time> <prev> <manifest sha256> <n>.json <id> <verdict>"  an
//         attestation, captured; verdict "accepted" or "rejected"
//     "<time> <prev> pruned <n> <id>"  line n's capture and manifest file
//         were removed to bound disk use
//   manifests/<n>.json  the expected manifest of line n
//   captures/<id>/      one attestation: capture.json (what, when, the
//                       policy, the SHA-256 of every other file) and the
//                       files it lists; <id> is the SHA-256 (hex) of
//                       capture.json, so a changed byte anywhere shows.
// Times are the client's clock, RFC 3339 in UTC to the second.
//
// Contract:
// - record() appends under a lock (a mutex for this process, flock(2) on
//   manifests/log.lock for others), after checking the chain: an edited,
//   removed or inserted line, a malformed line or a manifest file that does
//   not match its line stops it with errc::bad_configuration naming the
//   line. Lines this object checked before are not checked again unless
//   the bytes before them changed (their SHA-256 is kept).
// - With `capture`, every attestation gets a capture and a line, accepted
//   or not; without, only accepted ones get a line (and no capture). When
//   more than `keep` captures are live, or they use more than `keep_bytes`,
//   captures are removed and a "pruned" line appended for each, so the
//   chain stays whole: rejected ones first, then accepted ones, oldest
//   first; the newest always stays.
// - Durability: a capture is written under a temporary name, synced (one
//   syncfs) and renamed, the manifest file synced, the index line(s) appended and
//   synced, and only then are pruned captures removed. What a crash leaves
//   (a staged or unindexed capture, a pruned one not yet removed, a last
//   index line without its newline) is removed by the next record().
// - Files are never read or written through symbolic links; manifests/ and
//   captures/ must be real directories. Readers take regular files only, at
//   most 64 MiB each.
// - A capture holds evidence, collateral, the expected manifest, the report
//   and the public half of the key exchange. It never holds a prompt, a
//   token, an API key, a private key or an inference secret: nothing of the
//   kind is handed to record().
// - read_index / read_capture are the reading side, for verifiers: they
//   parse and report integrity as checks; only unreadable or malformed
//   files are errors (errc::bad_configuration naming the file and field).
// - record() does blocking file I/O and waits for the lock: call it off an
//   event loop (Session runs it on the thread pool). Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cipherline/attest/evidence_file.hpp"
#include "cipherline/attest/verification_report.hpp"
#include "cipherline/protocol/secret_exchange.hpp"
#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::client {

inline constexpr std::string_view kCaptureFormat = "cipherline-capture/1";

// What was captured: a client's attestation of a Contrast Coordinator, or
// evidence checked with `cipherline verify snp` or `verify tdx`.
enum class CaptureKind { coordinator, snp_report, tdx_quote };
std::string_view capture_kind_name(CaptureKind kind) noexcept;  // "coordinator", …

// The trust settings the evidence was judged under; a re-verification
// uses the same ones (trusted roots are the verifier's own to give).
struct CapturePolicy {
  std::string development_root;  // SHA-256 of the development ARK trusted, or ""
  bool tdx_allow_missing_crls = false;
  bool amd_require_crl = false;
  bool amd_crl_fail_open = false;
  bool tdx_allow_unsigned_collateral = false;
  bool tdx_quote_only = false;
};

// The public half of a key exchange: the client's X-Wing public key and the
// secret service's signed answer.
struct ExchangeTranscript {
  std::vector<std::byte> public_key;
  protocol::SecretResponse response;
  std::string error;  // why the client refused it; "" when accepted
};

struct Capture {
  CaptureKind kind = CaptureKind::coordinator;
  std::chrono::system_clock::time_point judged_at{};  // the clock the checks used
  std::string endpoint;                               // coordinator: the gateway
  std::vector<std::byte> nonce;
  // The evidence as received: coordinator "attest_response.json" (the /attest
  // body), snp_report "report.bin", tdx_quote "quote.dat"; the expected
  // "manifest.json" (coordinator); inputs such as "reference.json".
  std::vector<attest::EvidenceFile> evidence;
  std::vector<attest::EvidenceFile> collateral;       // stored under collateral/
  std::vector<std::byte> manifest;                    // the expected manifest
  std::optional<std::vector<std::byte>> report_data;  // an expected REPORT_DATA, if given
  const attest::VerificationReport* report = nullptr;
  CapturePolicy policy{};
  std::optional<ExchangeTranscript> exchange{};
};

struct AttestationLogOptions {
  bool capture = true;
  std::size_t keep = 1000;                            // live captures kept at most
  std::uint64_t keep_bytes = std::uint64_t{1} << 30;  // and their disk use at most (1 GiB)
};

class AttestationLog {
 public:
  AttestationLog(std::filesystem::path dir, AttestationLogOptions options);

  const std::filesystem::path& dir() const noexcept { return dir_; }
  const AttestationLogOptions& options() const noexcept { return options_; }

  // record: the capture's ID ("" when nothing was captured), or why the
  // log could not be extended.
  Result<std::string, Error> record(const Capture& capture);

 private:
  struct Chain;
  std::filesystem::path dir_;
  AttestationLogOptions options_;
  std::mutex mutex_;
  std::shared_ptr<Chain> checked_;  // what the last record() verified
};

// ---- Reading, for verifiers ----

struct IndexLine {
  enum class Type { manifest, attestation, pruned };
  Type type = Type::manifest;
  std::size_t number = 0;  // 1-based
  std::string text;        // the line without its newline
  std::string time, previous, manifest_sha256, manifest_file, capture_id, verdict;
  std::size_t pruned_line = 0;  // for pruned lines
};

struct Index {
  std::vector<IndexLine> lines;
  std::string head;  // SHA-256 of the last line (of nothing when empty)
};

// read_index parses DIR/manifests/log.txt. The chain is not judged here:
// check_index does that.
Result<Index, Error> read_index(const std::filesystem::path& dir);
// check_index records, in `r`, whether each line chains to the one before
// it, names a manifest file that matches it (unless pruned), and whether
// each pruned line names an earlier captured line.
void check_index(const std::filesystem::path& dir, const Index& index,
                 attest::VerificationReport& r);

// A capture read back: its descriptor and files, integrity judged.
struct StoredCapture {
  std::string id;
  CaptureKind kind = CaptureKind::coordinator;
  std::string version;  // the cipherline version that wrote it
  std::string captured_at;
  std::chrono::system_clock::time_point judged_at{};
  std::string endpoint;
  std::vector<std::byte> nonce;
  std::string verdict;
  std::size_t line = 0;
  std::string previous;  // the index line before it, as hashed
  CapturePolicy policy;
  std::optional<std::vector<std::byte>> report_data;
  std::vector<attest::EvidenceFile> files;  // every listed file, by its path in the capture
  const attest::EvidenceFile* file(std::string_view path) const noexcept;
};

// read_capture reads DIR/captures/<id>/ and records in `r` whether its
// capture.json hashes to `id` and every listed file to its listed SHA-256
// (and that no unlisted file is there). Errors: unreadable, or a descriptor
// that hashes right but does not parse (written wrong, not tampered).
Result<StoredCapture, Error> read_capture(const std::filesystem::path& dir, const std::string& id,
                                          attest::VerificationReport& r);

}  // namespace cipherline::client
