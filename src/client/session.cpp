#include "cipherline/client/session.hpp"

#include <fstream>

#include "cipherline/client/attestation_log.hpp"
#include "cipherline/client/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/crypto/xwing.hpp"
#include "cipherline/http/error.hpp"
#include "cipherline/protocol/attest_call.hpp"
#include "cipherline/protocol/header_names.hpp"
#include "cipherline/protocol/secret_exchange.hpp"
#include "cipherline/runtime/channel.hpp"
#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/when_all.hpp"

namespace cipherline::client {

using namespace std::chrono;

struct Refresh {
  Channel<bool> done{0};  // closed when the refresh finished
  Result<void, Error> result = Error(errc::exchange_failed, "refresh in progress");
};

namespace {

Error session_error(errc code, std::string message) { return Error(code, std::move(message)); }

std::string read_text(const std::filesystem::path& path, bool& ok) {
  std::ifstream in(path, std::ios::binary);
  ok = static_cast<bool>(in);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

Result<DevelopmentTrust, Error> DevelopmentTrust::load(const std::filesystem::path& dir) {
  const auto chain_file = dir / "sev-snp-dev-cert-chain.pem";
  bool ok = false;
  const std::string text = read_text(chain_file, ok);
  if (!ok) return session_error(errc::bad_configuration, chain_file.string() + ": cannot be read");
  auto certs = crypto::Certificate::all_from_pem(text);
  if (!certs || certs->size() != 2) {
    return session_error(errc::bad_configuration,
                         chain_file.string() + ": expected two certificates (ASK, then ARK)");
  }
  const std::string subject = (*certs)[1].subject();
  const auto at = subject.find("CN=ARK-");
  const auto product = at == std::string::npos
                           ? attest::snp::Product::unknown
                           : attest::snp::product_from_name(subject.substr(at + 7, 5));
  const auto ca_file = dir / "dev-ca.pem";
  if (!std::filesystem::exists(ca_file)) {
    return session_error(errc::bad_configuration,
                         ca_file.string() + ": missing (the development CA)");
  }
  return DevelopmentTrust{{product, (*certs)[0], (*certs)[1], true}, ca_file};
}

http::TlsClientConfig tls_config(const SessionOptions& options) {
  // Many long-lived streams of small events: small records.
  http::TlsClientConfig config{.small_records = true};
  if (options.development) {
    config.use_system_roots = false;
    config.ca_file = options.development->ca_file.string();
  } else {
    config.ca_file = options.ca_file;
  }
  return config;
}

Session::Session(SessionOptions options, http::HttpClient& client)
    : options_(std::move(options)), client_(client) {}
Session::~Session() = default;

const attest::VerificationReport* Session::last_report() const noexcept {
  return verification_ ? &verification_->report : nullptr;
}

http::Headers Session::base_headers() const {
  http::Headers h;
  if (!options_.api_key.empty()) h.add("Authorization", "Bearer " + options_.api_key);
  h.add(protocol::kVersionHeader, options_.version);
  h.add(protocol::kClientHeader, protocol::kClientSdk);
  return h;
}

void Session::set_api_key(std::string key) {
  options_.api_key = std::move(key);
  if (on_change_) on_change_();
}

Task<Result<std::string, Error>> Session::post(std::string path, std::string body) {
  auto response = co_await client_.request(
      options_.endpoint,
      {.method = "POST", .target = path, .headers = base_headers(), .body = std::move(body)});
  if (!response) co_return response.error();
  auto text = co_await response->body().read_all(16 * 1024 * 1024);
  if (!text) co_return text.error();
  if (response->status() == 401) {
    co_return Error(errc::unauthorized, "unauthorized: " + *text);
  }
  if (response->status() != 200) {
    co_return Error(errc::bad_status,
                    path + ": status " + std::to_string(response->status()) + ": " + *text);
  }
  co_return std::move(*text);
}

// The Coordinator's document for a fresh nonce, not yet verified.
struct Session::FetchedAttestation {
  std::vector<std::byte> nonce;
  std::string reply;  // the /attest body as received
  std::vector<std::byte> document;
  system_clock::time_point judged_at;  // the time the checks use, to the second
  steady_clock::time_point started;
};

Task<Result<std::unique_ptr<Session::FetchedAttestation>, Error>> Session::fetch_attestation() {
  auto fetched = std::make_unique<FetchedAttestation>();
  fetched->started = steady_clock::now();
  fetched->nonce.resize(protocol::kAttestNonceSize);
  crypto::random_bytes(fetched->nonce);
  auto reply =
      co_await post("/privatemode/v1/attest", protocol::attest_request_json(fetched->nonce));
  if (!reply) co_return Error(reply.error().code(), "attestation: " + reply.error().message());
  auto document = protocol::parse_attest_response(*reply);
  if (!document) {
    co_return session_error(errc::attestation_failed,
                            "attestation failed: the reply: " + document.error().message());
  }
  fetched->reply = std::move(*reply);
  fetched->document = std::move(*document);
  // Whole seconds, as the capture records it: a re-verification at the
  // captured time judges at the same instant.
  fetched->judged_at = time_point_cast<seconds>(system_clock::now());
  co_return std::move(fetched);
}

Task<Result<std::unique_ptr<attest::contrast::CoordinatorVerification>, Error>>
Session::verify_attestation(const FetchedAttestation& fetched) {
  attest::contrast::CoordinatorTrust trust{.expected_manifest = options_.manifest,
                                           .now = fetched.judged_at};
  if (options_.development) trust.development_chain = options_.development->snp_chain;
  trust.tdx_collateral = options_.tdx_collateral;
  trust.tdx_allow_missing_crls = options_.tdx_allow_missing_crls;
  trust.amd_revocation = options_.amd_revocation;
  trust.chain_cache = &chain_cache_;
  // Verification costs milliseconds of RSA and ECDSA: off the loop.
  // The job owns its inputs: it may outlive this frame (see offload).
  auto job = [document = fetched.document, nonce = fetched.nonce, trust] {
    const std::string_view text(reinterpret_cast<const char*>(document.data()), document.size());
    return std::make_unique<attest::contrast::CoordinatorVerification>(
        attest::contrast::verify_coordinator(text, nonce, trust));
  };
  auto verified = co_await offload(std::move(job));
  if (!verified) co_return Error(verified.error(), "attestation: verifying off the loop");
  co_return std::move(*verified);
}

// The first half of an exchange: a fresh key pair and the service's answer,
// not yet trusted (that needs the attested mesh CA).
struct Session::PendingExchange {
  crypto::XWingKeyPair keys;
  protocol::SecretResponse response;
  steady_clock::time_point started;
};

Task<Result<std::unique_ptr<Session::PendingExchange>, Error>> Session::request_exchange() {
  auto pending = std::make_unique<PendingExchange>();
  pending->started = steady_clock::now();
  pending->keys = crypto::xwing_generate();
  auto reply = co_await post("/privatemode/v1/secret",
                             protocol::secret_request_json(pending->keys.public_key));
  if (!reply) co_return Error(reply.error().code(), "secret exchange: " + reply.error().message());
  auto response = protocol::parse_secret_response(*reply);
  if (!response) {
    co_return Error(errc::exchange_failed, "secret exchange: " + response.error().message());
  }
  pending->response = std::move(*response);
  co_return std::move(pending);
}

Result<Session::SecretPtr, Error> Session::complete_exchange(const PendingExchange& pending,
                                                             const crypto::Certificate& mesh_ca) {
  auto secret =
      protocol::accept_secret(pending.keys, pending.response, mesh_ca, system_clock::now());
  if (!secret) return Error(errc::exchange_failed, secret.error().message());
  exchange_time_ = duration_cast<microseconds>(steady_clock::now() - pending.started);
  ++exchanges_;
  if (options_.observe) options_.observe("exchange", exchange_time_);
  return std::move(*secret);
}

Task<Result<void, Error>> Session::exchange() {
  auto pending = co_await request_exchange();
  if (!pending) co_return pending.error();
  auto secret = complete_exchange(**pending, *mesh_ca_);
  if (!secret) co_return secret.error();
  secret_ = std::move(*secret);
  expires_ = steady_clock::now() + options_.usable_for;
  if (on_change_) on_change_();
  co_return Result<void, Error>{};
}

void Session::forget_attestation() {
  mesh_ca_.reset();
  secret_.reset();
  expires_ = {};
  if (on_change_) on_change_();
}

Task<Result<void, Error>> Session::record(
    const FetchedAttestation& fetched,
    const attest::contrast::CoordinatorVerification& verification, const PendingExchange* pending,
    const std::string& exchange_error) {
  if (options_.workspace.empty()) co_return Result<void, Error>{};
  if (!log_) {
    log_ = std::make_shared<AttestationLog>(
        options_.workspace, AttestationLogOptions{.capture = options_.capture,
                                                  .keep = options_.capture_keep,
                                                  .keep_bytes = options_.capture_keep_bytes});
  }
  Capture capture{.kind = CaptureKind::coordinator,
                  .judged_at = fetched.judged_at,
                  .endpoint = options_.endpoint.to_string(),
                  .nonce = fetched.nonce,
                  .evidence = {{"attest_response.json",
                                std::vector<std::byte>(
                                    reinterpret_cast<const std::byte*>(fetched.reply.data()),
                                    reinterpret_cast<const std::byte*>(fetched.reply.data()) +
                                        fetched.reply.size())}},
                  .collateral = verification.collateral,
                  .manifest = options_.manifest,
                  .report = nullptr};
  if (options_.development) {
    capture.policy.development_root =
        crypto::to_hex(options_.development->snp_chain.ark.fingerprint_sha256());
  }
  capture.policy.tdx_allow_missing_crls = options_.tdx_allow_missing_crls;
  capture.policy.amd_require_crl = options_.amd_revocation.require_crl;
  capture.policy.amd_crl_fail_open = options_.amd_revocation.fail_open;
  if (pending) {
    capture.exchange =
        ExchangeTranscript{pending->keys.public_key, pending->response, exchange_error};
  }
  // File I/O and a lock other processes may hold: off the loop. The job
  // owns its inputs (see offload).
  auto job = [log = log_, capture = std::move(capture), report = verification.report]() mutable {
    capture.report = &report;
    return log->record(capture);
  };
  auto id = co_await offload(std::move(job));
  if (!id) co_return Error(id.error(), "manifest log: recording off the loop");
  if (!*id) co_return id->error();
  last_capture_id_ = std::move(**id);
  co_return Result<void, Error>{};
}

Task<Result<Session::SecretPtr, Error>> Session::attest_and_exchange() {
  auto fetched = co_await fetch_attestation();
  if (!fetched) {
    forget_attestation();
    co_return fetched.error();
  }
  // The exchange request goes out (on the same connection) while the
  // document is verified off the loop: it carries only a fresh public key,
  // and its answer is accepted only after the attestation passed, against
  // the mesh CA that attestation vouched for.
  auto [verified, pending] = co_await when_all(verify_attestation(**fetched), request_exchange());
  if (!verified) {
    forget_attestation();
    // Stopped because the exchange failed first: that failure is the reason.
    if (!pending && verified.error() == cipherline::errc::operation_cancelled) {
      co_return pending.error();
    }
    co_return verified.error();
  }
  auto& verification = **verified;
  attest_time_ = duration_cast<microseconds>(steady_clock::now() - (*fetched)->started);
  // The verdict: an error naming the failed check, or the attested mesh CA.
  Result<crypto::Certificate, Error> mesh_ca = [&]() -> Result<crypto::Certificate, Error> {
    if (const auto* failure = verification.report.first_failure()) {
      const std::string detail =
          failure->name + ": expected " + failure->expected + ", got " + failure->actual;
      if (failure->name == "manifest") {
        return session_error(
            errc::manifest_mismatch,
            "manifest mismatch: the backend's manifest is not the expected one (" + detail + ")");
      }
      return session_error(errc::attestation_failed, "attestation failed: check " + detail);
    }
    auto ca = crypto::Certificate::from_pem(verification.mesh_ca_pem);
    if (!ca) {
      return session_error(errc::attestation_failed,
                           "attestation failed: mesh CA: " + ca.error().message());
    }
    return std::move(*ca);
  }();
  Result<SecretPtr, Error> secret = !mesh_ca   ? Result<SecretPtr, Error>(mesh_ca.error())
                                    : !pending ? Result<SecretPtr, Error>(pending.error())
                                               : complete_exchange(**pending, *mesh_ca);
  const std::string refused = !mesh_ca ? "not used: the attestation was rejected"
                                       : (!secret ? secret.error().message() : std::string());
  // Recorded first: a session whose attestation could not be recorded
  // keeps no mesh CA, so the next refresh attests (and records) again.
  auto recorded =
      co_await record(**fetched, verification, pending ? pending->get() : nullptr, refused);
  const auto* failure = verification.report.first_failure();
  history_.push_back({(*fetched)->judged_at,
                      crypto::to_hex(crypto::sha256(std::span<const std::byte>(options_.manifest))),
                      failure == nullptr, recorded ? last_capture_id_ : std::string(),
                      failure ? failure->name : std::string()});
  if (history_.size() > 50) history_.pop_front();
  if (!mesh_ca || !recorded) {
    // Whatever the earlier attestation vouched for is not used again: not
    // its mesh CA for the next exchange, nor its secret for new requests.
    forget_attestation();
    verification_ = std::move(*verified);
    co_return recorded ? mesh_ca.error() : recorded.error();
  }
  if (options_.observe) options_.observe("attest", attest_time_);
  verification_ = std::move(*verified);
  mesh_ca_ = std::move(*mesh_ca);
  if (!secret) co_return secret.error();
  secret_ = *secret;
  expires_ = steady_clock::now() + options_.usable_for;
  if (on_change_) on_change_();
  co_return std::move(*secret);
}

Task<Result<void, Error>> Session::establish() {
  auto secret = co_await attest_and_exchange();
  if (!secret) co_return secret.error();
  co_return Result<void, Error>{};
}

Task<Result<void, Error>> Session::force_refresh() {
  // Every secret() attests afresh anyway.
  if (options_.attest_every_request) co_return Result<void, Error>{};
  if (refresh_) {  // join the refresh in progress
    auto shared = refresh_;
    (void)co_await shared->done.receive();
    co_return shared->result;
  }
  auto refresh = std::make_shared<Refresh>();
  refresh_ = refresh;
  // However this ends (an exception included), the callers who joined are
  // released and the next caller starts a new refresh.
  struct Release {
    Session& session;
    Refresh& refresh;
    ~Release() {
      session.refresh_.reset();
      refresh.done.close();
    }
  } release{*this, *refresh};
  Result<void, Error> result = mesh_ca_ ? co_await exchange() : co_await establish();
  if (!result && mesh_ca_) {
    // The mesh CA may have changed (a restarted Coordinator): attest again.
    result = co_await establish();
  }
  refresh->result = result;
  co_return result;
}

Task<Result<std::shared_ptr<const protocol::InferenceSecret>, Error>> Session::secret() {
  if (options_.attest_every_request) co_return co_await attest_and_exchange();
  if (!secret_ || steady_clock::now() >= expires_) {
    if (auto r = co_await force_refresh(); !r) co_return r.error();
  }
  co_return secret_;
}

Task<void> Session::keep_fresh() {
  if (options_.attest_every_request) co_return;  // nothing outlives its request
  while (true) {
    const auto wake = expires_ - options_.refresh_margin;
    const auto wait = secret_ ? std::max(wake - steady_clock::now(), steady_clock::duration(0))
                              : steady_clock::duration(seconds(1));
    if (!co_await sleep_for(wait)) co_return;  // stopped
    if (!co_await force_refresh()) {
      // Try again soon; requests still have the current secret meanwhile.
      if (!co_await sleep_for(seconds(5))) co_return;
    }
  }
}

}  // namespace cipherline::client
