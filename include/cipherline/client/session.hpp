// Session: the client's attested connection to a confidential inference
// backend — attestation, verification, key exchange and rotation (spec §2,
// §3; chain-of-trust steps 1 and 3).
//
//   Session session(options, http_client);
//   if (auto r = co_await session.establish(); !r) fail(r.error());   // says which step
//   auto secret = co_await session.secret();   // current key, never waits for a rotation
//
// Contract:
// - establish(): POST /privatemode/v1/attest with a fresh 32-byte nonce;
//   attest/contrast verifies the Coordinator (exactly one manifest,
//   byte-equal to `manifest`, evidence bound to the nonce; development TEE
//   roots only with `development`). While that verification runs, POST
//   /privatemode/v1/secret with a fresh X-Wing key; its answer is accepted
//   only after the attestation passed, and only with a mesh certificate from
//   the attested mesh CA and a valid signature. (The request reveals only a
//   public key; a backend that fails attestation merely stores a key no one
//   will use.)
//   Errors say which step failed and why: "manifest mismatch: …",
//   "attestation failed: check <name>: …", "secret exchange: invalid
//   signature", "unauthorized: …" (401), "<endpoint>: connection refused".
// - secret(): the current secret while it is usable; otherwise (45 minutes
//   after its exchange, spec §3.3) a new exchange first. keep_fresh() runs
//   the exchange in the background `refresh_margin` before that, so
//   requests never wait for it.
// - force_refresh(): a new exchange now (after `no secret for ID`); if the
//   exchange fails it re-attests once and tries again, as the Privatemode
//   client does. Concurrent callers share one refresh.
// - An attestation that fails (not fetched, or not verified) ends the trust
//   of the one before it: its mesh CA is dropped, and so is the current
//   secret, so secret() hands out nothing — neither the old secret nor one
//   exchanged under the old mesh CA — until an attestation passes again.
//   Requests that already hold the secret may finish.
// - The manifest log (spec §6.4) and captures: with a workspace, every
//   attestation whose evidence was judged is recorded by an AttestationLog
//   (client/attestation_log.hpp): with `capture`, a capture directory (the
//   nonce, the /attest response as received, the collateral used, the
//   expected manifest, the report, the public half of the key exchange made
//   with it) and a line of the hash-chained index; without, a line for each
//   verified manifest only. A broken chain or a log that cannot be written
//   stops the session with errc::bad_configuration naming the line or file
//   (and no mesh CA is kept, so the next refresh tries again).
//   last_capture_id() names the last capture; history() lists this
//   session's last 50 attestations (time, manifest, verdict, capture).
// - attest_every_request: secret() attests and exchanges afresh on every
//   call, returning the secret of that exchange (concurrent calls each make
//   their own); nothing is rotated in the background.
// - Timings of the last attestation (incl. verification) and exchange are
//   kept for metrics; `last_report()` is the last Coordinator verification.
// - Loop thread only; the HTTP client is borrowed and must use TLS settings
//   from `tls_config()`. SharedSession (shared_session.hpp) shares one
//   Session among many loops.
#pragma once

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/protocol/inference_secret.hpp"

namespace cipherline::client {

// What a client trusts beyond the built-in AMD/Intel roots: a development
// backend's TEE root and TLS CA, read from its state directory
// (`--dev-trust DIR`: DIR/sev-snp-dev-cert-chain.pem, DIR/dev-ca.pem).
struct DevelopmentTrust {
  attest::snp::TrustedChain snp_chain;
  std::filesystem::path ca_file;

  static Result<DevelopmentTrust, Error> load(const std::filesystem::path& dir);
};

// One attestation this session made, for status pages.
struct AttestationEntry {
  std::chrono::system_clock::time_point at;
  std::string manifest_sha256;  // of the expected manifest
  bool accepted = false;
  std::string capture_id;  // "" when not captured
  std::string failure;     // the first failed check, when rejected
};

struct SessionOptions {
  http::Origin endpoint;  // https://host:port of the API gateway
  std::vector<std::byte> manifest;
  std::optional<DevelopmentTrust> development{};
  std::string api_key;
  std::filesystem::path workspace{};  // empty: no manifest log, no captures
  bool capture = true;                // record every attestation in the workspace
  std::size_t capture_keep = 1000;    // captures kept; older ones are pruned
  std::uint64_t capture_keep_bytes = std::uint64_t{1} << 30;  // and their disk use at most
  bool attest_every_request = false;  // a fresh attestation and exchange per secret()
  std::string version = "v1.40.0";    // Privatemode-Version
  std::chrono::seconds refresh_margin{std::chrono::minutes(5)};
  // How long a secret is used (spec §3.3: 45 minutes; shorter for tests).
  std::chrono::seconds usable_for{protocol::kSecretUsableFor};
  // TLS towards the gateway: extra CA file (besides the development CA).
  std::string ca_file{};
  // Intel's collateral for a Coordinator on TDX (TCB info, QE identity,
  // their signing chain, the PCK and root CRLs), as Intel's PCS serves them.
  // Without it TDX evidence is refused; SEV-SNP evidence does not need it.
  std::optional<attest::tdx::CollateralDocuments> tdx_collateral{};
  bool tdx_allow_missing_crls = false;  // explicit fail-open for TDX revocation
  // AMD's CRL in the Coordinator's evidence: verified under the ARK and
  // fail-closed when present; `require_crl` also refuses evidence without
  // one (the CRL travels outside the signed report, so a gateway can drop
  // it).
  attest::snp::RevocationPolicy amd_revocation{};
  // Told the duration of every attestation ("attest", verification
  // included) and key exchange ("exchange") that succeeded, for metrics.
  std::function<void(std::string_view step, std::chrono::microseconds)> observe{};
};

// tls_config: the TLS client settings a Session's HTTP client must use:
// with development trust, the development CA and nothing else.
http::TlsClientConfig tls_config(const SessionOptions& options);

class Session {
 public:
  Session(SessionOptions options, http::HttpClient& client);
  ~Session();

  Task<Result<void, Error>> establish();
  Task<Result<std::shared_ptr<const protocol::InferenceSecret>, Error>> secret();
  Task<Result<void, Error>> force_refresh();
  // keep_fresh: rotates the secret before it expires, until stopped.
  Task<void> keep_fresh();

  bool established() const noexcept { return secret_ != nullptr; }
  // current_secret: the secret held now (null without one), expired or not.
  const std::shared_ptr<const protocol::InferenceSecret>& current_secret() const noexcept {
    return secret_;
  }
  // set_api_key: the key for later calls (a proxy adopting a client's key).
  void set_api_key(std::string key);
  // on_change is called after every change of the secret, its expiry or the
  // API key (SharedSession publishes then).
  void on_change(std::function<void()> f) { on_change_ = std::move(f); }
  // refreshing: an exchange or attestation is in progress.
  bool refreshing() const noexcept { return refresh_ != nullptr; }
  const SessionOptions& options() const noexcept { return options_; }
  // Headers every call to the gateway carries (Authorization, version, client).
  http::Headers base_headers() const;

  const attest::VerificationReport* last_report() const noexcept;
  const std::string& last_capture_id() const noexcept { return last_capture_id_; }
  const std::deque<AttestationEntry>& history() const noexcept { return history_; }
  std::chrono::microseconds last_attest_time() const noexcept { return attest_time_; }
  std::chrono::microseconds last_exchange_time() const noexcept { return exchange_time_; }
  std::uint64_t exchanges() const noexcept { return exchanges_; }
  // The current secret's ID (public: requests carry it in a header; empty
  // without a secret), and when it was exchanged and stops being used
  // (steady clock; meaningful only with a secret).
  std::string_view secret_id() const noexcept {
    return secret_ ? std::string_view(secret_->id()) : std::string_view();
  }
  std::chrono::steady_clock::time_point secret_exchanged_at() const noexcept {
    return expires_ - options_.usable_for;
  }
  std::chrono::steady_clock::time_point secret_expires_at() const noexcept { return expires_; }

 private:
  struct PendingExchange;
  struct FetchedAttestation;
  using SecretPtr = std::shared_ptr<const protocol::InferenceSecret>;
  Task<Result<std::unique_ptr<FetchedAttestation>, Error>> fetch_attestation();
  Task<Result<std::unique_ptr<attest::contrast::CoordinatorVerification>, Error>>
  verify_attestation(const FetchedAttestation& fetched);
  // attest_and_exchange: a whole establish(); the secret it produced.
  Task<Result<SecretPtr, Error>> attest_and_exchange();
  Task<Result<void, Error>> exchange();
  void forget_attestation();
  Task<Result<std::unique_ptr<PendingExchange>, Error>> request_exchange();
  Result<SecretPtr, Error> complete_exchange(const PendingExchange& pending,
                                             const crypto::Certificate& mesh_ca);
  Task<Result<std::string, Error>> post(std::string path, std::string body);
  Task<Result<void, Error>> record(const FetchedAttestation& fetched,
                                   const attest::contrast::CoordinatorVerification& verification,
                                   const PendingExchange* pending,
                                   const std::string& exchange_error);

  SessionOptions options_;
  http::HttpClient& client_;
  std::optional<crypto::Certificate> mesh_ca_;
  std::unique_ptr<attest::contrast::CoordinatorVerification> verification_;
  std::shared_ptr<class AttestationLog> log_;  // with a workspace
  std::string last_capture_id_;
  std::deque<AttestationEntry> history_;
  std::shared_ptr<const protocol::InferenceSecret> secret_;
  std::chrono::steady_clock::time_point expires_{};
  attest::snp::ChainCache chain_cache_;
  std::shared_ptr<struct Refresh> refresh_;  // the refresh in progress, if any
  std::chrono::microseconds attest_time_{0}, exchange_time_{0};
  std::uint64_t exchanges_ = 0;
  std::function<void()> on_change_;
};

}  // namespace cipherline::client
