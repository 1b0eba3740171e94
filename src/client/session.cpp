#include "cipherline/client/session.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>

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

std::string rfc3339_now() {
  const auto t = system_clock::to_time_t(system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string hex_sha256(std::string_view text) {
  return crypto::to_hex(crypto::sha256(std::as_bytes(std::span(text))));
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
  std::vector<std::byte> document;
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
  fetched->document = std::move(*document);
  co_return std::move(fetched);
}

Task<Result<void, Error>> Session::verify_attestation(std::unique_ptr<FetchedAttestation> fetched) {
  attest::contrast::CoordinatorTrust trust{.expected_manifest = options_.manifest,
                                           .now = system_clock::now()};
  if (options_.development) trust.development_chain = options_.development->snp_chain;
  trust.tdx_collateral = options_.tdx_collateral;
  trust.tdx_allow_missing_crls = options_.tdx_allow_missing_crls;
  trust.amd_revocation = options_.amd_revocation;
  trust.chain_cache = &chain_cache_;
  // Verification costs milliseconds of RSA and ECDSA: off the loop.
  const auto started = fetched->started;
  auto job = [fetched = std::move(fetched), trust] {
    const std::string_view text(reinterpret_cast<const char*>(fetched->document.data()),
                                fetched->document.size());
    return std::make_unique<attest::contrast::CoordinatorVerification>(
        attest::contrast::verify_coordinator(text, fetched->nonce, trust));
  };
  auto verified = co_await offload(std::move(job));
  if (!verified) co_return Error(verified.error(), "attestation: verifying off the loop");
  verification_ = std::move(*verified);
  attest_time_ = duration_cast<microseconds>(steady_clock::now() - started);
  const auto& report = verification_->report;
  if (const auto* failure = report.first_failure()) {
    const std::string detail =
        failure->name + ": expected " + failure->expected + ", got " + failure->actual;
    if (failure->name == "manifest") {
      co_return session_error(
          errc::manifest_mismatch,
          "manifest mismatch: the backend's manifest is not the expected one (" + detail + ")");
    }
    co_return session_error(errc::attestation_failed, "attestation failed: check " + detail);
  }
  if (options_.observe) options_.observe("attest", attest_time_);
  auto mesh_ca = crypto::Certificate::from_pem(verification_->mesh_ca_pem);
  if (!mesh_ca) {
    co_return session_error(errc::attestation_failed,
                            "attestation failed: mesh CA: " + mesh_ca.error().message());
  }
  // Logged first: a session whose manifest could not be logged has no mesh
  // CA, so the next refresh attests (and tries the log) again.
  if (auto r = log_manifest(); !r) co_return r.error();
  mesh_ca_ = std::move(*mesh_ca);
  co_return Result<void, Error>{};
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

Result<void, Error> Session::complete_exchange(const PendingExchange& pending) {
  auto secret =
      protocol::accept_secret(pending.keys, pending.response, *mesh_ca_, system_clock::now());
  if (!secret) return Error(errc::exchange_failed, secret.error().message());
  secret_ = std::move(*secret);
  expires_ = steady_clock::now() + options_.usable_for;
  exchange_time_ = duration_cast<microseconds>(steady_clock::now() - pending.started);
  ++exchanges_;
  if (options_.observe) options_.observe("exchange", exchange_time_);
  return {};
}

Task<Result<void, Error>> Session::exchange() {
  auto pending = co_await request_exchange();
  if (!pending) co_return pending.error();
  co_return complete_exchange(**pending);
}

void Session::forget_attestation() {
  mesh_ca_.reset();
  secret_.reset();
  expires_ = {};
}

Task<Result<void, Error>> Session::establish() {
  auto fetched = co_await fetch_attestation();
  if (!fetched) {
    forget_attestation();
    co_return fetched.error();
  }
  // The exchange request goes out (on the same connection) while the
  // document is verified off the loop: it carries only a fresh public key,
  // and its answer is accepted only after the attestation passed, against
  // the mesh CA that attestation vouched for.
  auto [attested, pending] =
      co_await when_all(verify_attestation(std::move(*fetched)), request_exchange());
  if (!attested) {
    // Whatever the earlier attestation vouched for is not used again: not
    // its mesh CA for the next exchange, nor its secret for new requests.
    forget_attestation();
    // Stopped because the exchange failed first: that failure is the reason.
    if (!pending && attested.error() == cipherline::errc::operation_cancelled) {
      co_return pending.error();
    }
    co_return attested;
  }
  if (!pending) co_return pending.error();
  co_return complete_exchange(**pending);
}

Task<Result<void, Error>> Session::force_refresh() {
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
  if (!secret_ || steady_clock::now() >= expires_) {
    if (auto r = co_await force_refresh(); !r) co_return r.error();
  }
  co_return secret_;
}

Task<void> Session::keep_fresh() {
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

Result<void, Error> Session::log_manifest() {
  if (options_.workspace.empty()) return {};
  const auto dir = options_.workspace / "manifests";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return session_error(errc::bad_configuration,
                         "manifest log: " + dir.string() + ": " + ec.message());
  // One writer at a time: the loops of this process (a mutex) and other
  // processes sharing the workspace (flock on a lock file beside the log).
  static std::mutex in_process;
  const std::lock_guard process_lock(in_process);
  const int lock_fd = ::open((dir / "log.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0 || ::flock(lock_fd, LOCK_EX) != 0) {
    const std::string why = std::strerror(errno);
    if (lock_fd >= 0) ::close(lock_fd);
    return session_error(errc::bad_configuration,
                         "manifest log: locking " + (dir / "log.lock").string() + ": " + why);
  }
  const struct Unlock {
    int fd;
    ~Unlock() { ::close(fd); }
  } unlock{lock_fd};
  const auto log = dir / "log.txt";
  bool ok = false;
  const std::string existing = read_text(log, ok);
  // Check the chain before extending it.
  std::size_t lines = 0;
  std::string previous_hash = hex_sha256("");
  for (std::size_t at = 0; at < existing.size();) {
    const auto end = existing.find('\n', at);
    if (end == std::string::npos) {
      return session_error(errc::bad_configuration,
                           "manifest log: " + log.string() + ": the last line is unfinished");
    }
    const std::string_view line = std::string_view(existing).substr(at, end - at);
    ++lines;
    const auto broken = [&](std::string why) {
      return session_error(errc::bad_configuration, "manifest log: " + log.string() + ": line " +
                                                        std::to_string(lines) + " " + why);
    };
    // "<time> <previous line's hash> <manifest hash> <file>"
    const auto s1 = line.find(' ');
    const auto s2 = s1 == std::string_view::npos ? s1 : line.find(' ', s1 + 1);
    const auto s3 = s2 == std::string_view::npos ? s2 : line.find(' ', s2 + 1);
    if (s3 == std::string_view::npos) return broken("is malformed");
    if (line.substr(s1 + 1, s2 - s1 - 1) != previous_hash) {
      return broken("does not chain to the line before it (edited or removed lines)");
    }
    bool readable = false;
    const std::string stored = read_text(dir / std::string(line.substr(s3 + 1)), readable);
    if (!readable || hex_sha256(stored) != line.substr(s2 + 1, s3 - s2 - 1)) {
      return broken("names a manifest file that is missing or was changed");
    }
    previous_hash = hex_sha256(line);
    at = end + 1;
  }
  const std::string_view manifest(reinterpret_cast<const char*>(options_.manifest.data()),
                                  options_.manifest.size());
  const auto file = dir / (std::to_string(lines + 1) + ".json");
  {
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out << manifest;
    if (!out.flush())
      return session_error(errc::bad_configuration,
                           "manifest log: " + file.string() + ": cannot write");
  }
  const std::string line = rfc3339_now() + " " + previous_hash + " " + hex_sha256(manifest) + " " +
                           file.filename().string() + "\n";
  std::ofstream out(log, std::ios::binary | std::ios::app);
  out << line;
  if (!out.flush())
    return session_error(errc::bad_configuration,
                         "manifest log: " + log.string() + ": cannot append");
  return {};
}

}  // namespace cipherline::client
