// `cipherline backend` and `cipherline proxy`: the two ends of the attested
// inference pipeline.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "api_key_flag.hpp"
#include "cipherline/backend/dev_backend.hpp"
#include "cipherline/backend/etcd_secret_store.hpp"
#include "cipherline/backend/roles.hpp"
#include "cipherline/backend/secret_store.hpp"
#include "cipherline/client/proxy.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/runtime/loop_group.hpp"
#include "cipherline/runtime/signal.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "verify_support.hpp"
#include "wire_format_flag.hpp"

namespace cipherline::cli {
namespace {

using namespace std::chrono;

// raise_open_files lifts the soft limit on open files to the hard one: a
// stream holds a connection on each side, so the default soft limit (often
// 1024) would refuse streams long before memory or CPU run out. Logs what
// it allows.
void raise_open_files(const std::function<void(std::string)>& log) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    // An unlimited hard limit still stops at the kernel's fs.nr_open.
    if (std::ifstream nr_open("/proc/sys/fs/nr_open"); nr_open) {
      rlim_t most = 0;
      if (nr_open >> most && most > 0) raised.rlim_cur = std::min(raised.rlim_cur, most);
    }
    if (setrlimit(RLIMIT_NOFILE, &raised) != 0 && log) {
      log(std::string("could not raise the open files limit: ") + std::strerror(errno));
    }
    (void)getrlimit(RLIMIT_NOFILE, &limit);
  }
  if (log) {
    log("open files limit " + std::to_string(limit.rlim_cur) + ": about " +
        std::to_string(limit.rlim_cur / 2) + " concurrent streams (raise the hard limit for more)");
  }
}

std::string read_text(const std::string& flag, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--" + flag + ": cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// A logger writing one line per event to stderr, as text or JSON.
std::function<void(std::string_view)> make_logger(const Flags& flags, std::string component) {
  const std::string format = flags.text("log-format");
  if (format != "text" && format != "json") {
    throw UsageError("--log-format must be text or json, got '" + format + "'");
  }
  const bool json = format == "json";
  return [json, component](std::string_view message) {
    const auto t = system_clock::to_time_t(system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char when[32];
    std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    std::string line;
    if (json) {
      json::JsonWriter(line)
          .begin_object()
          .key("time")
          .string(when)
          .key("component")
          .string(component)
          .key("msg")
          .string(message)
          .end_object();
    } else {
      line = std::string(when) + " " + component + ": " + std::string(message);
    }
    line += '\n';
    std::fputs(line.c_str(), stderr);
  };
}

std::vector<std::string> read_api_keys(const std::string& path) {
  std::istringstream lines(read_text("api-keys", path));
  std::vector<std::string> keys;
  for (std::string line; std::getline(lines, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    std::size_t start = 0;
    while (start < line.size() && std::isspace(static_cast<unsigned char>(line[start]))) ++start;
    line.erase(0, start);
    if (line.empty() || line.front() == '#') continue;
    keys.push_back(line);
  }
  if (keys.empty()) throw UsageError("--api-keys: " + path + " holds no key (one per line)");
  return keys;
}

// print_reports: one line per passed verification (all of its checks with
// `full`), every check of a failed one.
void print_reports(const std::vector<attest::VerificationReport>& reports, bool full) {
  for (const auto& report : reports) {
    if (full || !report.passed()) {
      std::fputs(report.to_text().c_str(), stdout);
      std::fputs("\n", stdout);
    } else {
      std::printf("PASS %s: %zu checks\n", report.subject().c_str(), report.checks().size());
    }
  }
}

// fetch_manifest downloads the expected manifest (as the Privatemode proxy
// does from its CDN), adding ?t=<unix ms> so no cache answers with an old
// one. The bytes are used exactly as received.
std::string fetch_manifest(const std::string& url, const Flags& flags) {
  auto origin = http::Origin::parse(url);
  if (!origin) throw UsageError("--manifest: " + origin.error().message());
  const auto scheme_end = url.find("://") + 3;
  const auto path_start = url.find('/', scheme_end);
  std::string target = path_start == std::string::npos ? "/" : url.substr(path_start);
  target +=
      (target.find('?') == std::string::npos ? "?t=" : "&t=") +
      std::to_string(duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
  http::TlsClientConfig tls;
  if (flags.is_set("ca-file")) tls.ca_file = flags.text("ca-file");
  if (flags.is_set("dev-trust")) tls.ca_file = flags.text("dev-trust") + "/dev-ca.pem";
  auto context = tls.build();
  if (!context) throw UsageError("--manifest: " + context.error().message());
  Loop loop;
  return sync_wait(loop, [&]() -> Task<std::string> {
    http::HttpClient client({.tls = *context});
    auto response = co_await client.request(*origin, {.method = "GET", .target = target});
    if (!response) throw UsageError("--manifest " + url + ": " + response.error().message());
    auto body = co_await response->body().read_all(4 << 20);
    if (!body) throw UsageError("--manifest " + url + ": " + body.error().message());
    if (response->status() != 200) {
      throw UsageError("--manifest " + url + ": status " + std::to_string(response->status()));
    }
    co_return std::move(*body);
  }());
}

std::string etcd_endpoint_of(const Flags& flags) {
  const std::string store = flags.text("secret-store");
  if (!store.starts_with("etcd://")) return {};
  auto endpoint = backend::parse_etcd_url(store);
  if (!endpoint) throw UsageError("--secret-store: " + endpoint.error().message());
  return *endpoint;
}

// One role of the backend in this process (--role).
int run_one_role(const Flags& flags, const std::function<void(std::string_view)>& log) {
  const std::string role = flags.text("role");
  if (std::find(std::begin(backend::kRoleNames), std::end(backend::kRoleNames), role) ==
      std::end(backend::kRoleNames)) {
    throw UsageError(
        "--role must be all, coordinator, secret-service, agent, worker, gateway or "
        "model, got '" +
        role + "'");
  }
  backend::RoleOptions options{
      .role = role, .state = flags.text("state"), .listen = flags.address("listen")};
  if (flags.is_set("coordinator")) options.coordinator = flags.text("coordinator");
  if (flags.is_set("secret-service")) options.secret_service = flags.text("secret-service");
  if (flags.is_set("worker")) options.workers = flags.list("worker");
  if (flags.is_set("api-keys")) options.api_keys = read_api_keys(flags.text("api-keys"));
  if (flags.is_set("upstream")) options.upstream = flags.text("upstream");
  options.model_name = flags.text("model-name");
  options.model.tokens_per_second =
      static_cast<double>(flags.unsigned_integer("tokens-per-second", 0, 1'000'000));
  options.model.first_token_delay =
      milliseconds(flags.unsigned_integer("first-token-delay", 0, 600'000));
  options.etcd_endpoint = etcd_endpoint_of(flags);
  const bool full = flags.is_set("full-reports");
  options.announce = [](std::string_view line) {
    std::printf("cipherline backend: %.*s\n", static_cast<int>(line.size()), line.data());
    std::fflush(stdout);
  };
  options.report = [full](const attest::VerificationReport& report) {
    print_reports({report}, full);
    std::fflush(stdout);
  };
  Loop loop;
  int status = 0;
  sync_wait(loop, [&]() -> Task<void> {
    std::stop_source stop;
    TaskScope scope;
    scope.spawn([](std::stop_source& s) -> Task<void> {
      if (co_await wait_for_signal(SIGINT, SIGTERM)) s.request_stop();
    }(stop));
    auto r = co_await with_stop_token(backend::run_role(std::move(options)), stop.get_token());
    if (!r) {
      std::fprintf(stderr, "cipherline backend --role %s: %s\n", role.c_str(),
                   r.error().message().c_str());
      status = 1;
    }
    scope.request_stop();
    co_await scope.join();
  }());
  log("stopped");
  return status;
}

}  // namespace

int backend(std::span<const std::string_view> args) {
  Flags flags("backend",
              "Runs the reference confidential-inference backend: Coordinator, secret service,\n"
              "attestation agent, workers, a synthetic model and the HTTPS gateway, on the\n"
              "software TEE (--dev). Prints the verification report of every admission and GPU\n"
              "attestation, then serves until SIGINT or SIGTERM.");
  flags.toggle("dev", "run every role in this process on the software TEE (required)")
      .option("state", "DIR", "state directory: manifest, development roots and CA, keys")
      .option("listen", "IP:PORT", "where the gateway serves HTTPS", "127.0.0.1:8443")
      .option("api-keys", "FILE", "accepted API keys, one per line (default: the key 'dev')",
              "none")
      .option("role", "ROLE",
              "all, or one of coordinator|secret-service|agent|worker|gateway|model", "all")
      .option("coordinator", "URL", "the Coordinator (https://HOST:PORT) for one role", "none")
      .option("secret-service", "URL", "the secret service (https://HOST:PORT), for the gateway",
              "none")
      .option("worker", "LIST",
              "workers, comma-separated: [MODEL=]https://HOST:PORT (gateway, agent)", "none")
      .option("workers", "N", "inference workers", "1")
      .option("tokens-per-second", "R", "synthetic model rate per stream (0: unlimited)", "0")
      .option("first-token-delay", "MS", "synthetic model delay before the first token", "0")
      .option("upstream", "URL", "forward to this OpenAI-compatible server instead", "none")
      .option("model-name", "NAME", "model name the workers serve (with --upstream)", "synthetic")
      .option("secret-store", "KIND",
              "memory | file (survives restarts) | etcd://HOST:PORT (shared by machines)", "memory")
      .toggle("plaintext-routes", "also serve /plain/v1/... without encryption (benchmarks only)")
      .toggle("full-reports", "print every check of every verification, not one line each")
      .option("log-format", "FORMAT", "text or json", "text");
  if (!flags.parse(args)) return 0;
  if (!flags.is_set("dev")) {
    throw UsageError("only the software TEE is supported: pass --dev");
  }
  const auto log = make_logger(flags, "backend");
  raise_open_files(log);
  if (flags.text("role") != "all") return run_one_role(flags, log);
  backend::DevBackendOptions options{.state = flags.text("state"),
                                     .listen = flags.address("listen")};
  if (flags.is_set("api-keys")) options.api_keys = read_api_keys(flags.text("api-keys"));
  options.workers = flags.unsigned_integer("workers", 1, 64);
  options.plaintext_routes = flags.is_set("plaintext-routes");
  options.model.tokens_per_second =
      static_cast<double>(flags.unsigned_integer("tokens-per-second", 0, 1'000'000));
  options.model.first_token_delay =
      milliseconds(flags.unsigned_integer("first-token-delay", 0, 600'000));
  if (flags.is_set("upstream")) {
    auto origin = http::Origin::parse(flags.text("upstream"));
    if (!origin) throw UsageError("--upstream: " + origin.error().message());
    options.upstream = *origin;
    options.model_names = {flags.text("model-name")};
  }
  const std::string store = flags.text("secret-store");
  options.etcd_endpoint = etcd_endpoint_of(flags);
  if (store == "file") {
    auto file = backend::FileSecretStore::open(options.state / "private" / "secrets");
    if (!file) throw UsageError("--secret-store file: " + file.error().message());
    options.secret_store = std::shared_ptr<backend::SecretStore>(std::move(*file));
  } else if (store != "memory" && options.etcd_endpoint.empty()) {
    throw UsageError("--secret-store must be memory, file or etcd://HOST:PORT, got '" + store +
                     "'");
  }

  Loop loop;
  int status = 0;
  sync_wait(loop, [&]() -> Task<void> {
    auto created = co_await backend::DevBackend::create(std::move(options));
    if (!created) {
      std::fprintf(stderr, "cipherline backend: %s\n", created.error().message().c_str());
      status = 1;
      co_return;
    }
    auto& b = **created;
    print_reports(b.reports(), flags.is_set("full-reports"));
    std::printf("cipherline backend: gateway on https://%s, state in %s\n",
                b.address().to_string().c_str(), b.state_dir().c_str());
    std::printf("  manifest   %s\n", (b.state_dir() / "manifest.json").c_str());
    std::printf("  dev trust  %s (TEE roots and the development CA)\n", b.state_dir().c_str());
    std::fflush(stdout);
    log("serving");
    std::stop_source stop;
    TaskScope scope;
    scope.spawn(with_stop_token(b.serve(), stop.get_token()));
    (void)co_await wait_for_signal(SIGINT, SIGTERM);
    log("stopping");
    stop.request_stop();
    co_await scope.join();
  }());
  return status;
}

int proxy(std::span<const std::string_view> args) {
  Flags flags("proxy",
              "OpenAI-compatible server that attests the backend, exchanges a key with its\n"
              "secret service, encrypts every request and decrypts every response and stream.\n"
              "GET /healthz answers 200 once the backend verified; GET /metrics is Prometheus.");
  flags.option("api-endpoint", "HOST:PORT", "the API gateway (HTTPS)")
      .option("manifest", "FILE|URL", "the expected manifest (compared byte for byte)")
      .option("dev-trust", "DIR",
              "trust the development TEE roots and CA of a --dev backend's state DIR", "none")
      .option("api-key", "KEY|@FILE",
              "API key, or @FILE holding it; unset: $CIPHERLINE_API_KEY, else the first "
              "request's bearer token",
              "none")
      .option("port", "PORT", "listen port", "8080")
      .option("listen-address", "IP", "listen address", "127.0.0.1")
      .repeatable("allowed-host", "NAME[:PORT]",
                  "serve requests with this Host too (besides localhost, 127.0.0.1, [::1] and "
                  "the listen address), e.g. behind your own reverse proxy")
      .repeatable("allowed-origin", "SCHEME://HOST[:PORT]",
                  "serve requests from web pages of this origin (none by default)")
      .option("tls-cert", "FILE", "serve HTTPS with this certificate chain", "none")
      .option("tls-key", "FILE", "and this key", "none")
      .option("ca-file", "FILE", "extra CA for the API endpoint's TLS", "none")
      .option("tdx-collateral", "DIR", kTdxCollateralHelp, "none")
      .toggle("tdx-allow-missing-crl", "accept TDX evidence without Intel's CRLs (fail open)")
      .toggle("require-amd-crl", "refuse SEV-SNP evidence that carries no AMD CRL")
      .toggle("amd-crl-fail-open", "accept SEV-SNP evidence whose AMD CRL does not verify")
      .toggle("shared-prompt-cache", "share the prompt cache among this proxy's users")
      .option("prompt-cache-salt", "SALT", "fixed salt (needs --shared-prompt-cache)", "none")
      .option("nvidia-ocsp-allow-unknown", "BOOL", "accept OCSP status UNKNOWN", "true")
      .option("nvidia-ocsp-revoked-grace-period", "HOURS",
              "accept REVOKED if revoked less than this ago (0: never)", "48")
      .option("max-body", "SIZE", "largest request body", "16M")
      .option("wire-format", "FORMAT", kWireFormatHelp, "oae")
      .option("threads", "N",
              "event loops, sharing one attested session (default: one per core; 1 with --port 0)",
              "auto")
      .toggle("print-verification",
              "print the Coordinator's verification report and the key exchange once verified")
      .option("log-format", "FORMAT", "text or json", "text")
      .option("dump-requests", "DIR",
              "write every request and answer IN PLAINTEXT to DIR (debugging only)", "none");
  add_record_flags(flags, ".");
  if (!flags.parse(args)) return 0;

  client::ProxyOptions options;
  if (flags.is_set("dump-requests")) {
    const std::filesystem::path dir = flags.text("dump-requests");
    // Owner-only: a new directory is made 0700, and an existing one must
    // be a real directory of this user that no one else can write.
    if (!std::filesystem::exists(dir) && ::mkdir(dir.c_str(), 0700) != 0) {
      throw UsageError("--dump-requests: cannot create the directory " + dir.string() + ": " +
                       std::strerror(errno));
    }
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      throw UsageError("--dump-requests: " + dir.string() + " is not a directory");
    }
    if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
      throw UsageError("--dump-requests: " + dir.string() +
                       " must belong to this user and be writable by no one else");
    }
    options.dump_requests = std::filesystem::absolute(dir);
    std::fprintf(stderr,
                 "WARNING: --dump-requests: every prompt and every answer passing through this "
                 "proxy is written IN PLAINTEXT to %s\n"
                 "WARNING: anyone who can read that directory reads them; use it for debugging "
                 "only and delete the files afterwards\n",
                 options.dump_requests.c_str());
  }
  auto& session = options.client.session;
  auto endpoint = http::Origin::parse("https://" + flags.text("api-endpoint"));
  if (!endpoint) throw UsageError("--api-endpoint: " + endpoint.error().message());
  session.endpoint = *endpoint;
  const std::string manifest = flags.text("manifest");
  const std::string text = manifest.starts_with("http://") || manifest.starts_with("https://")
                               ? fetch_manifest(manifest, flags)
                               : read_text("manifest", manifest);
  session.manifest.assign(reinterpret_cast<const std::byte*>(text.data()),
                          reinterpret_cast<const std::byte*>(text.data() + text.size()));
  if (flags.is_set("dev-trust")) {
    auto trust = client::DevelopmentTrust::load(flags.text("dev-trust"));
    if (!trust) throw UsageError("--dev-trust: " + trust.error().message());
    session.development = std::move(*trust);
  }
  session.api_key = api_key_flag(flags, "");
  if (!flags.is_set("api-key") && !session.api_key.empty()) {
    std::fprintf(stderr,
                 "cipherline proxy: using the API key from %s for every local caller (requests "
                 "need no key of their own); unset it to have each caller bring its own\n",
                 kApiKeyEnvironment);
  }
  read_record_flags(flags, session);
  if (flags.is_set("ca-file")) session.ca_file = flags.text("ca-file");
  read_trust_flags(flags, session);
  const std::string unknown = flags.text("nvidia-ocsp-allow-unknown");
  if (unknown != "true" && unknown != "false") {
    throw UsageError("--nvidia-ocsp-allow-unknown must be true or false");
  }
  options.client.ocsp.allow_unknown = unknown == "true";
  options.client.ocsp.revoked_grace_period =
      hours(flags.unsigned_integer("nvidia-ocsp-revoked-grace-period", 0, 24 * 365));
  if (!options.client.ocsp.allow_unknown &&
      options.client.ocsp.revoked_grace_period > seconds::zero()) {
    throw UsageError(
        "--nvidia-ocsp-allow-unknown=false with a revoked grace period above 0 is "
        "likely erroneous: set the grace period to 0 too");
  }
  options.client.chat_format = wire_format_flag(flags);
  options.client.shared_prompt_cache = flags.is_set("shared-prompt-cache");
  if (flags.is_set("prompt-cache-salt")) {
    if (!options.client.shared_prompt_cache) {
      throw UsageError("--prompt-cache-salt needs --shared-prompt-cache");
    }
    options.client.prompt_cache_salt = flags.text("prompt-cache-salt");
  }
  options.max_body = flags.byte_size("max-body", 1024, std::uint64_t{1} << 32);
  if (flags.is_set("tls-cert") != flags.is_set("tls-key")) {
    throw UsageError("--tls-cert and --tls-key must be given together");
  }
  std::shared_ptr<http::TlsServerContext> tls;
  if (flags.is_set("tls-cert")) {
    auto context = http::TlsServerContext::create(
        {.certificate_file = flags.text("tls-cert"), .key_file = flags.text("tls-key")});
    if (!context) throw UsageError("--tls-cert/--tls-key: " + context.error().message());
    tls = *context;
  }
  const auto port = flags.unsigned_integer("port", 0, 65535);
  const auto address =
      SocketAddress::try_parse(flags.text("listen-address") + ":" + std::to_string(port));
  if (!address) throw UsageError("--listen-address: not a numeric IP");
  auto callers = client::LocalCallers::create({.listen = *address,
                                               .allowed_hosts = flags.list("allowed-host"),
                                               .allowed_origins = flags.list("allowed-origin")});
  if (!callers) throw UsageError(callers.error().message());
  options.callers = std::move(*callers);
  const std::size_t threads = flags.text("threads") != "auto"
                                  ? flags.unsigned_integer("threads", 1, 256)
                              : port == 0 ? 1
                                          : std::max(1u, std::thread::hardware_concurrency());
  if (threads > 1 && port == 0) throw UsageError("--threads above 1 needs a fixed --port");
  options.log = make_logger(flags, "proxy");
  raise_open_files(options.log);
  if (flags.is_set("print-verification")) {
    options.on_verified = [printed = std::make_shared<std::atomic<bool>>(false),
                           format = options.client.chat_format](client::Session& session) {
      if (printed->exchange(true)) return;  // once, whatever the number of loops
      if (const auto* report = session.last_report()) {
        std::printf("%s\n", report->to_text().c_str());
      }
      std::printf(
          "PASS secret exchange: X-Wing HPKE key signed by a mesh certificate of the attested "
          "mesh CA (attestation %.1f ms, exchange %.1f ms)\n",
          static_cast<double>(session.last_attest_time().count()) / 1000.0,
          static_cast<double>(session.last_exchange_time().count()) / 1000.0);
      std::printf("%s\n",
                  format == protocol::WireFormat::oae
                      ? "PASS wire format: chat completions as OAE whole-body streams (keys "
                        "derived per exchange, every message bound to its position and the "
                        "stream's end, so a cut or reordered answer is an error); other "
                        "routes as v1.40 fields"
                      : "WARN wire format: chat completions as v1.40 fields (--wire-format "
                        "fields): a stream cut short after an event cannot be detected");
      std::fflush(stdout);
    };
  }

  client::ProxyMetrics metrics;
  LoopGroup group(threads);
  // One attested session for every loop: one attestation, one exchange, one
  // rotation, owned by loop 0.
  // (Declared after the group: destroyed while loop 0 still exists.)
  options.client.session.observe = metrics.observer();
  const auto shared =
      std::make_shared<client::SharedSession>(options.client.session, &group.loop(0));
  group.run([&](std::size_t index) -> Task<void> {
    auto listener = TcpListener::bind(*address, {.reuse_port = threads > 1});
    auto loop_options = options;
    loop_options.session = shared;
    loop_options.callers = options.callers.listening_on(listener.local_address());  // --port 0
    client::Proxy proxy(std::move(loop_options), metrics);
    http::HttpServer server(proxy.router());
    TaskScope scope;
    scope.spawn(proxy.verify_until_ready());
    if (index == 0) {
      options.log("listening on " + std::string(tls ? "https://" : "http://") +
                  listener.local_address().to_string());
      scope.spawn([](LoopGroup& g) -> Task<void> {
        if (co_await wait_for_signal(SIGINT, SIGTERM)) g.request_stop();
      }(group));
    }
    if (tls) {
      co_await server.serve_tls(listener, tls);
    } else {
      co_await server.serve(listener);
    }
    scope.request_stop();
    co_await scope.join();
    co_await proxy.close();
    if (index == 0) co_await shared->close();
  });
  return 0;
}

}  // namespace cipherline::cli
