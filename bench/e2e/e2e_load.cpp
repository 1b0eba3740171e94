// e2e_load: the whole confidential-inference pipeline under load, in one
// program — the numbers of the "End-to-end pipeline" section of
// docs/benchmarks.md.
//
//   e2e_load [--phases=sessions,streams,proxy,batch] [--concurrency=1,64,1024] …
//   e2e_load --help
//
// Layout (2 vCPU machine): the development backend (gateway, worker, the
// synthetic model; every hop over loopback, gateway→worker with mTLS) runs
// on a thread and loop of its own; the load generator (attested Client or a
// plain HttpClient) on the main thread's loop. The two loops so get one core
// each instead of sharing one; neither is pinned.
//
// Phases:
// 1. sessions — cold sessions: `Session::establish()` (attest, verify the
//    Coordinator, X-Wing key exchange) with a fresh Session, timed three ways:
//    on a fresh HttpClient (so a new TCP connection and TLS handshake to the
//    gateway are included), on a kept-alive connection (no handshake), and
//    again on the same Session (its SNP chain cache warm).
// 2. streams — for each concurrency C, C concurrent streaming chat requests
//    of --words words (one token per word) with the synthetic model
//    unthrottled, each stream repeating requests for a window of --seconds
//    (times C/256 above 256 streams, so that a window holds several waves of
//    requests; tokens after the window are not counted). Encrypted:
//    Client::send(Route::chat_completions) decrypting every event. Plaintext:
//    an HttpClient with TLS to the gateway posting to
//    /plain/v1/chat/completions (same gateway→worker→model hops, no
//    cryptography), events parsed with SseReader. Rounds of the two modes
//    alternate (and alternate which goes first) --rounds times; the ratio is
//    the median of the per-round ratios of tokens/s.
// 3. proxy — memory per open stream of `cipherline proxy` as a child
//    process: a backend with a throttled model (1 token/s) in this process,
//    --proxy-streams concurrent streams through the proxy, each held open
//    after its first token; (VmRSS open − VmRSS idle) / streams.
// 4. batch — prompts/s of one OpenAI Batch JSONL file (--batch-lines chat
//    requests of 16 words, distinct per line; fewer at concurrency 1) against
//    a backend with the unthrottled model, two routes at the same
//    concurrency C: `client::run_batch` in this process on one connected,
//    attested Client (a fresh output file per round), and the same requests
//    as plain HTTP POSTs (C workers each taking the next line) to
//    `cipherline proxy` as a child process. Rounds of the two alternate (and
//    alternate which goes first) --batch-rounds times per level after a
//    warm-up of each; the ratio is the median of the per-pair ratios.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "cipherline/backend/dev_backend.hpp"
#include "cipherline/client/batch.hpp"
#include "cipherline/client/client.hpp"
#include "cipherline/client/session.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/http/sse_reader.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "cipherline/runtime/sync_wait.hpp"
#include "cipherline/runtime/task_scope.hpp"
#include "cipherline/runtime/when_all.hpp"
#include "latency_histogram.hpp"

extern char** environ;

namespace cipherline::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using cli::LatencyHistogram;
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// Configuration

struct Config {
  std::vector<std::string> phases{"sessions", "streams", "proxy", "batch"};
  std::size_t sessions = 20;
  std::vector<std::size_t> concurrency{1, 64, 1024};
  std::size_t words = 64;
  double seconds = 2.0;
  std::size_t rounds = 3;
  std::size_t workers = 1;
  std::size_t proxy_streams = 1000;
  std::size_t proxy_words = 256;
  std::size_t proxy_batch = 0;  // 0: all streams at once
  std::size_t proxy_hold = 0;   // seconds every stream stays open (0: just the memory sample)
  std::size_t batch_lines = 10000;
  std::size_t batch_serial_lines = 1000;  // lines at concurrency 1
  std::vector<std::size_t> batch_concurrency{1, 64, 512};
  std::size_t batch_rounds = 3;
  std::string cipherline = CIPHERLINE_BINARY;
  std::filesystem::path state{};  // empty: a temporary directory
};

const char* const kUsage =
    "e2e_load: the attested, encrypted pipeline under load (see docs/benchmarks.md).\n"
    "  --phases=LIST         sessions,streams,proxy,batch (default: all four)\n"
    "  --sessions=N          cold sessions timed per variant (20)\n"
    "  --concurrency=LIST    concurrent streams per level (1,64,1024)\n"
    "  --words=N             words (= tokens) asked for per request (64)\n"
    "  --seconds=S           measured window of one round (2)\n"
    "  --rounds=N            encrypted/plaintext round pairs per level (3)\n"
    "  --workers=N           backend workers (1)\n"
    "  --proxy-streams=N     streams held open through the proxy (1000)\n"
    "  --proxy-words=N       words per held stream, at 1 token/s (256)\n"
    "  --proxy-batch=N       open the held streams N at a time (0: all at once)\n"
    "  --proxy-hold=S        keep them open S seconds, each still streaming; fails if any\n"
    "                        stream failed, broke off or stalled (0: no hold)\n"
    "  --batch-lines=N       requests in the batch file (10000)\n"
    "  --batch-serial-lines=N  requests of the batch at concurrency 1 (1000)\n"
    "  --batch-concurrency=LIST  requests in flight per level (1,64,512)\n"
    "  --batch-rounds=N      batch/proxy round pairs per level (3)\n"
    "  --cipherline=PATH     the cipherline binary for the proxy child\n"
    "  --state=DIR           backend state directory to use (default: temporary)\n";

std::vector<std::string> split(std::string_view text) {
  std::vector<std::string> parts;
  while (!text.empty()) {
    const auto comma = text.find(',');
    parts.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return parts;
}

std::size_t number(std::string_view name, std::string_view text) {
  std::size_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) {
    throw std::invalid_argument("--" + std::string(name) + " expects a number, got '" +
                                std::string(text) + "'");
  }
  return value;
}

Config parse(int argc, char** argv) {
  Config c;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    }
    const auto eq = arg.find('=');
    if (!arg.starts_with("--") || eq == std::string_view::npos) {
      throw std::invalid_argument("expected --name=value, got '" + std::string(arg) + "'");
    }
    const auto name = arg.substr(2, eq - 2);
    const auto value = arg.substr(eq + 1);
    if (name == "phases") {
      c.phases = split(value);
    } else if (name == "sessions") {
      c.sessions = std::max<std::size_t>(1, number(name, value));
    } else if (name == "concurrency") {
      c.concurrency.clear();
      for (const auto& part : split(value)) c.concurrency.push_back(number(name, part));
    } else if (name == "words") {
      c.words = std::max<std::size_t>(1, number(name, value));
    } else if (name == "seconds") {
      c.seconds = std::stod(std::string(value));
    } else if (name == "rounds") {
      c.rounds = std::max<std::size_t>(1, number(name, value));
    } else if (name == "workers") {
      c.workers = std::max<std::size_t>(1, number(name, value));
    } else if (name == "proxy-streams") {
      c.proxy_streams = std::max<std::size_t>(1, number(name, value));
    } else if (name == "proxy-words") {
      c.proxy_words = std::max<std::size_t>(2, number(name, value));
    } else if (name == "proxy-batch") {
      c.proxy_batch = number(name, value);
    } else if (name == "proxy-hold") {
      c.proxy_hold = number(name, value);
    } else if (name == "batch-lines") {
      c.batch_lines = std::max<std::size_t>(1, number(name, value));
    } else if (name == "batch-serial-lines") {
      c.batch_serial_lines = std::max<std::size_t>(1, number(name, value));
    } else if (name == "batch-concurrency") {
      c.batch_concurrency.clear();
      for (const auto& part : split(value)) {
        c.batch_concurrency.push_back(std::max<std::size_t>(1, number(name, part)));
      }
    } else if (name == "batch-rounds") {
      c.batch_rounds = std::max<std::size_t>(1, number(name, value));
    } else if (name == "cipherline") {
      c.cipherline = value;
    } else if (name == "state") {
      c.state = value;
    } else {
      throw std::invalid_argument("unknown option --" + std::string(name) + "\n" + kUsage);
    }
  }
  return c;
}

bool has_phase(const Config& c, std::string_view phase) {
  return std::find(c.phases.begin(), c.phases.end(), phase) != c.phases.end();
}

// ---------------------------------------------------------------------------
// Small measurement helpers

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// percentile of a small sample: the nearest-rank value.
double percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double thread_cpu_seconds(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

std::string first_line_with(const std::filesystem::path& file, std::string_view key) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(key)) return line;
  }
  return {};
}

// VmRSS of a process in KiB (0 if unreadable).
std::size_t rss_kib(pid_t pid) {
  const auto line = first_line_with("/proc/" + std::to_string(pid) + "/status", "VmRSS:");
  std::size_t kib = 0;
  std::istringstream(line.substr(std::min<std::size_t>(line.size(), 6))) >> kib;
  return kib;
}

// io_syscalls: the read and write system calls (read, write, recv, send
// and their vectored forms) thread `tid` of this process made so far.
std::uint64_t io_syscalls(pid_t tid) {
  const std::filesystem::path io = "/proc/self/task/" + std::to_string(tid) + "/io";
  std::uint64_t total = 0;
  for (const char* key : {"syscr:", "syscw:"}) {
    const auto line = first_line_with(io, key);
    std::uint64_t n = 0;
    std::istringstream(line.substr(std::min<std::size_t>(line.size(), 6))) >> n;
    total += n;
  }
  return total;
}

std::string cpu_model() {
  const auto line = first_line_with("/proc/cpuinfo", "model name");
  const auto colon = line.find(':');
  return colon == std::string::npos ? "unknown" : line.substr(colon + 2);
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

void raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  // 10,000 streams need about six descriptors each here and two in the
  // proxy: past the usual hard limit, which only root may raise.
  constexpr rlim_t kWanted = 131072;
  if (limit.rlim_max < kWanted) {
    const rlimit raised{kWanted, kWanted};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  limit.rlim_cur = limit.rlim_max;
  (void)setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  std::printf("open files limit: %llu\n", static_cast<unsigned long long>(limit.rlim_cur));
}

std::string words_prompt(std::size_t words) {
  std::string text;
  for (std::size_t i = 0; i < words; ++i) {
    if (i > 0) text += ' ';
    text += "tok" + std::to_string(i);
  }
  return text;
}

std::string chat_body(std::size_t words) {
  return R"({"model":"synthetic","stream":true,"messages":[{"role":"user","content":")" +
         words_prompt(words) + R"("}]})";
}

// is_token: a chunk carrying generated text ("content" not empty); the
// final chunk (finish_reason, empty content) and [DONE] are not tokens.
bool is_token(std::string_view event) {
  constexpr std::string_view kContent = R"("content":")";
  const auto at = event.find(kContent);
  return at != std::string_view::npos && at + kContent.size() < event.size() &&
         event[at + kContent.size()] != '"';
}

// ---------------------------------------------------------------------------
// BackendThread: a DevBackend served by a loop on a thread of its own.

class BackendThread {
 public:
  explicit BackendThread(backend::DevBackendOptions options) {
    auto ready = ready_.get_future();
    thread_ =
        std::thread([this, options = std::move(options)]() mutable { run(std::move(options)); });
    try {
      address_ = ready.get();
    } catch (...) {
      thread_.join();
      throw;
    }
  }
  BackendThread(const BackendThread&) = delete;
  BackendThread& operator=(const BackendThread&) = delete;
  ~BackendThread() {
    loop_->post([this] { stop_.request_stop(); });
    thread_.join();
  }

  SocketAddress address() const { return address_; }
  // cpu_seconds: CPU time the backend's loop thread has used so far.
  double cpu_seconds() {
    clockid_t clock{};
    if (pthread_getcpuclockid(thread_.native_handle(), &clock) != 0) return 0;
    return thread_cpu_seconds(clock);
  }
  // syscalls: the read and write system calls its loop thread made so far.
  std::uint64_t syscalls() const { return io_syscalls(tid_.load()); }

 private:
  void run(backend::DevBackendOptions options) {
    tid_ = gettid();
    Loop loop;
    loop_ = &loop;
    sync_wait(loop, serve(std::move(options)));
  }

  Task<void> serve(backend::DevBackendOptions options) {
    auto created = co_await backend::DevBackend::create(std::move(options));
    if (!created) {
      ready_.set_exception(std::make_exception_ptr(
          std::runtime_error("starting the backend: " + created.error().message())));
      co_return;
    }
    ready_.set_value((*created)->address());
    co_await with_stop_token((*created)->serve(), stop_.get_token());
  }

  std::promise<SocketAddress> ready_;
  std::thread thread_;
  Loop* loop_ = nullptr;
  std::stop_source stop_;  // signalled on the backend's loop only
  SocketAddress address_;
  std::atomic<pid_t> tid_{0};
};

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// client_options: trusts exactly the backend's development roots and CA and
// pins its manifest (as tests/integration/pipeline_fixture.hpp does).
client::ClientOptions client_options(const std::filesystem::path& state, SocketAddress gateway) {
  client::ClientOptions o;
  o.session.endpoint = {.scheme = "https", .host = "127.0.0.1", .port = gateway.port()};
  const std::string manifest = read_text(state / "manifest.json");
  const auto bytes = std::as_bytes(std::span(manifest));
  o.session.manifest.assign(bytes.begin(), bytes.end());
  auto trust = client::DevelopmentTrust::load(state);
  if (!trust) throw std::runtime_error("development trust: " + trust.error().message());
  o.session.development = std::move(*trust);
  o.session.api_key = "dev";
  return o;
}

std::shared_ptr<http::TlsContext> gateway_tls(const client::ClientOptions& o) {
  auto tls = client::tls_config(o.session).build();
  if (!tls) throw std::runtime_error("TLS settings: " + tls.error().message());
  return *tls;
}

// ---------------------------------------------------------------------------
// Phase 1: cold sessions

struct SessionSamples {
  std::vector<double> total, attest, exchange;
  std::size_t failures = 0;
  std::string error;

  void add(const client::Session& s, Clock::duration took) {
    total.push_back(ms(took));
    attest.push_back(static_cast<double>(s.last_attest_time().count()) / 1000.0);
    exchange.push_back(static_cast<double>(s.last_exchange_time().count()) / 1000.0);
  }
  void print(const char* label) const {
    std::printf("  %-44s median %6.2f ms  p90 %6.2f ms  (attest+verify %5.2f, exchange %5.2f)",
                label, median(total), percentile(total, 0.9), median(attest), median(exchange));
    if (failures > 0) std::printf("  FAILED %zu: %s", failures, error.c_str());
    std::printf("\n");
  }
};

Task<void> establish_once(client::Session& session, SessionSamples& out) {
  const auto started = Clock::now();
  auto r = co_await session.establish();
  const auto took = Clock::now() - started;
  if (!r) {
    ++out.failures;
    out.error = r.error().message();
    co_return;
  }
  out.add(session, took);
}

Task<void> run_sessions(const Config& config, const client::ClientOptions& options) {
  const auto tls = gateway_tls(options);
  const http::ClientOptions fresh{.tls = tls, .proxy = http::ProxySettings{}};
  std::printf(
      "\ncold sessions: %zu per variant, POST attest + verify (off the loop) + POST "
      "secret (X-Wing)\n",
      config.sessions);

  SessionSamples first, cold, kept, again;
  {  // The first of the process pays one-time costs (ID-key recovery, memoized).
    http::HttpClient http(fresh);
    client::Session session(options.session, http);
    co_await establish_once(session, first);
  }
  for (std::size_t i = 0; i < config.sessions; ++i) {
    http::HttpClient http(fresh);
    client::Session session(options.session, http);
    co_await establish_once(session, cold);
  }
  {
    http::HttpClient http(fresh);
    SessionSamples warmup;
    client::Session opener(options.session, http);
    co_await establish_once(opener, warmup);  // opens the kept-alive connection
    for (std::size_t i = 0; i < config.sessions; ++i) {
      client::Session session(options.session, http);
      co_await establish_once(session, kept);
    }
    for (std::size_t i = 0; i < config.sessions; ++i) co_await establish_once(opener, again);
  }
  first.print("first in process (new connection)");
  cold.print("fresh Session, new TCP+TLS connection");
  kept.print("fresh Session, kept-alive connection");
  again.print("same Session again (chain cache warm)");
}

// ---------------------------------------------------------------------------
// Phase 2: streams, encrypted against plaintext

enum class Mode { encrypted, plaintext };

struct Round {
  std::uint64_t tokens = 0;      // token events that arrived inside the window
  std::uint64_t all_tokens = 0;  // token events of the round, after the window too
  std::uint64_t requests = 0;    // requests completed
  std::uint64_t failures = 0;
  std::string error;
  LatencyHistogram* interval = nullptr;  // null: a warm-up round
  LatencyHistogram* first = nullptr;
  Clock::time_point deadline;

  void fail(std::string why) {
    ++failures;
    if (error.empty()) error = std::move(why);
  }
  // arrived: a token event reached the reader at `now`; `last` is the
  // previous token's arrival (or the request's start, for the first).
  void arrived(Clock::time_point now, Clock::time_point& last, bool& first_token) {
    ++all_tokens;
    if (now < deadline) {
      ++tokens;
      if (interval != nullptr) (first_token ? *first : *interval).record(now - last);
    }
    first_token = false;
    last = now;
  }
};

Task<void> encrypted_stream(client::Client& client, const std::string& body, Round& round) {
  do {
    const auto started = Clock::now();
    auto response = co_await client.send(protocol::Route::chat_completions, body);
    if (!response || response->status() != 200) {
      round.fail(response ? "status " + std::to_string(response->status())
                          : response.error().message());
      co_return;
    }
    auto last = started;
    bool first = true;
    while (true) {
      auto more = co_await response->read();
      if (!more) {
        round.fail(more.error().message());
        co_return;
      }
      if (!*more) break;
      const auto now = Clock::now();
      for (const auto& event : response->events()) {
        if (is_token(event.data)) round.arrived(now, last, first);
      }
    }
    ++round.requests;
  } while (Clock::now() < round.deadline);
}

Task<void> plaintext_stream(http::HttpClient& http, const http::Origin& gateway,
                            const std::string& body, Round& round) {
  do {
    const auto started = Clock::now();
    auto response =
        co_await http.request(gateway, {.method = "POST",
                                        .target = "/plain/v1/chat/completions",
                                        .headers =
                                            {
                                                {"Authorization", "Bearer dev"},
                                                {"Privatemode-Target-Model", "synthetic"},
                                                {"Content-Type", "application/json"},
                                            },
                                        .body = body});
    if (!response || response->status() != 200) {
      round.fail(response ? "status " + std::to_string(response->status())
                          : response.error().message());
      co_return;
    }
    auto last = started;
    bool first = true;
    http::SseReader reader;
    std::string burst;  // read as the Client reads: a burst at a time
    while (true) {
      auto chunk = co_await response->body().next_burst(burst);
      if (!chunk) {
        round.fail(chunk.error().message());
        co_return;
      }
      if (chunk->empty()) break;
      reader.feed(*chunk);
      while (true) {
        auto event = reader.next();
        if (!event) {
          round.fail(event.error().message());
          co_return;
        }
        if (!*event) break;
        if (is_token((*event)->data)) round.arrived(Clock::now(), last, first);
      }
    }
    ++round.requests;
  } while (Clock::now() < round.deadline);
}

struct Target {
  client::Client& client;
  http::HttpClient& http;
  http::Origin gateway;
  BackendThread& backend;
};

struct RoundResult {
  double tokens_per_second = 0;
  double client_cpu_us_per_token = 0;
  double backend_cpu_us_per_token = 0;
  double client_syscalls_per_token = 0;  // reads and writes
  double backend_syscalls_per_token = 0;
};

Task<RoundResult> run_round(Target& target, Mode mode, std::size_t streams, const std::string& body,
                            double seconds, LatencyHistogram* interval, LatencyHistogram* first) {
  Round round;
  round.interval = interval;
  round.first = first;
  const double client_cpu = thread_cpu_seconds(CLOCK_THREAD_CPUTIME_ID);
  const double backend_cpu = target.backend.cpu_seconds();
  const std::uint64_t client_calls = io_syscalls(gettid());
  const std::uint64_t backend_calls = target.backend.syscalls();
  const auto started = Clock::now();
  round.deadline =
      started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<Task<void>> tasks;
  tasks.reserve(streams);
  for (std::size_t i = 0; i < streams; ++i) {
    tasks.push_back(mode == Mode::encrypted
                        ? encrypted_stream(target.client, body, round)
                        : plaintext_stream(target.http, target.gateway, body, round));
  }
  co_await when_all(std::move(tasks));
  const double client_used = thread_cpu_seconds(CLOCK_THREAD_CPUTIME_ID) - client_cpu;
  const double backend_used = target.backend.cpu_seconds() - backend_cpu;
  const auto client_made = static_cast<double>(io_syscalls(gettid()) - client_calls);
  const auto backend_made = static_cast<double>(target.backend.syscalls() - backend_calls);
  if (round.failures > 0) {
    throw std::runtime_error(std::string(mode == Mode::encrypted ? "encrypted" : "plaintext") +
                             " round: " + std::to_string(round.failures) +
                             " stream(s) failed: " + round.error);
  }
  // Tokens/s counts the window only; CPU per token covers the whole round
  // (the streams finish the request in progress after the window).
  const double window = std::chrono::duration<double>(round.deadline - started).count();
  const double all_tokens = std::max<double>(1, static_cast<double>(round.all_tokens));
  co_return RoundResult{.tokens_per_second = static_cast<double>(round.tokens) / window,
                        .client_cpu_us_per_token = client_used * 1e6 / all_tokens,
                        .backend_cpu_us_per_token = backend_used * 1e6 / all_tokens,
                        .client_syscalls_per_token = client_made / all_tokens,
                        .backend_syscalls_per_token = backend_made / all_tokens};
}

struct LevelResult {
  std::size_t streams = 0;
  std::vector<double> encrypted, plaintext, ratios;
  std::vector<double> enc_client_cpu, enc_backend_cpu, plain_client_cpu, plain_backend_cpu;
  std::vector<double> enc_client_calls, enc_backend_calls, plain_client_calls, plain_backend_calls;
  LatencyHistogram enc_interval, enc_first, plain_interval, plain_first;
};

Task<void> run_streams(const Config& config, const client::ClientOptions& options,
                       BackendThread& backend) {
  client::Client client(options);
  if (auto r = co_await client.connect(); !r) {
    throw std::runtime_error("connecting the client: " + r.error().message());
  }
  std::size_t most = 1;
  for (auto c : config.concurrency) most = std::max(most, c);
  http::HttpClient http({.max_connections_per_origin = std::max<std::size_t>(most, 64),
                         .tls = gateway_tls(options),
                         .proxy = http::ProxySettings{}});
  Target target{client, http, options.session.endpoint, backend};
  const std::string body = chat_body(config.words);

  std::printf(
      "\nstreams: %zu-word prompts (%zu tokens per request), synthetic model "
      "unthrottled, %zu worker(s), %.1f s windows (x C/256 above 256 streams), %zu round pairs "
      "per level\n",
      config.words, config.words, config.workers, config.seconds, config.rounds);
  std::vector<LevelResult> levels;
  for (const auto streams : config.concurrency) {
    auto& level = levels.emplace_back();
    level.streams = streams;
    // Above 256 streams one wave of requests (streams × words tokens) takes
    // seconds, so the window grows with the level to hold several.
    const double window =
        config.seconds * static_cast<double>(std::max<std::size_t>(1, streams / 256));
    // Warm-up: opens the connections of this level (TLS handshakes) in both modes.
    (void)co_await run_round(target, Mode::encrypted, streams, body, 0.3, nullptr, nullptr);
    (void)co_await run_round(target, Mode::plaintext, streams, body, 0.3, nullptr, nullptr);
    for (std::size_t i = 0; i < config.rounds; ++i) {
      const bool encrypted_first = i % 2 == 0;
      double enc = 0, plain = 0;
      for (int half = 0; half < 2; ++half) {
        const bool encrypted = (half == 0) == encrypted_first;
        if (encrypted) {
          const auto r = co_await run_round(target, Mode::encrypted, streams, body, window,
                                            &level.enc_interval, &level.enc_first);
          enc = r.tokens_per_second;
          level.enc_client_cpu.push_back(r.client_cpu_us_per_token);
          level.enc_backend_cpu.push_back(r.backend_cpu_us_per_token);
          level.enc_client_calls.push_back(r.client_syscalls_per_token);
          level.enc_backend_calls.push_back(r.backend_syscalls_per_token);
        } else {
          const auto r = co_await run_round(target, Mode::plaintext, streams, body, window,
                                            &level.plain_interval, &level.plain_first);
          plain = r.tokens_per_second;
          level.plain_client_cpu.push_back(r.client_cpu_us_per_token);
          level.plain_backend_cpu.push_back(r.backend_cpu_us_per_token);
          level.plain_client_calls.push_back(r.client_syscalls_per_token);
          level.plain_backend_calls.push_back(r.backend_syscalls_per_token);
        }
      }
      level.encrypted.push_back(enc);
      level.plaintext.push_back(plain);
      level.ratios.push_back(plain > 0 ? enc / plain : 0);
      std::printf(
          "  C=%-5zu round %zu (%.1f s): encrypted %9.0f tok/s  plaintext %9.0f tok/s  ratio "
          "%.3f\n",
          streams, i + 1, window, enc, plain, level.ratios.back());
      std::fflush(stdout);
    }
  }
  co_await client.close();

  std::printf("\n| Streams | Encrypted tok/s | Plaintext tok/s | Ratio (median) | Ratio range |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& l : levels) {
    std::printf("| %zu | %.0f | %.0f | **%.3f** | %.3f–%.3f |\n", l.streams, median(l.encrypted),
                median(l.plaintext), median(l.ratios),
                *std::min_element(l.ratios.begin(), l.ratios.end()),
                *std::max_element(l.ratios.begin(), l.ratios.end()));
  }
  std::printf(
      "\nCPU per token (thread CPU time / tokens of the round), µs, and read/write system "
      "calls per token (the thread's syscr + syscw):\n\n");
  std::printf(
      "| Streams | Client loop µs enc / plain | Backend loop µs enc / plain "
      "| Client syscalls enc / plain | Backend syscalls enc / plain |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& l : levels) {
    std::printf("| %zu | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f | %.2f / %.2f |\n", l.streams,
                median(l.enc_client_cpu), median(l.plain_client_cpu), median(l.enc_backend_cpu),
                median(l.plain_backend_cpu), median(l.enc_client_calls),
                median(l.plain_client_calls), median(l.enc_backend_calls),
                median(l.plain_backend_calls));
  }
  std::printf(
      "\nToken interval (arrival to arrival within a stream) and time to first token "
      "(request start to first token), µs:\n\n");
  std::printf(
      "| Streams | Interval p50 enc / plain / added | Interval p99 enc / plain / added "
      "| First token p50 enc / plain / added | First token p99 enc / plain / added |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& l : levels) {
    const auto row = [](const LatencyHistogram& e, const LatencyHistogram& p, double q) {
      char cell[96];
      std::snprintf(cell, sizeof cell, "%.0f / %.0f / %+.0f", e.percentile(q), p.percentile(q),
                    e.percentile(q) - p.percentile(q));
      return std::string(cell);
    };
    std::printf("| %zu | %s | %s | %s | %s |\n", l.streams,
                row(l.enc_interval, l.plain_interval, 0.5).c_str(),
                row(l.enc_interval, l.plain_interval, 0.99).c_str(),
                row(l.enc_first, l.plain_first, 0.5).c_str(),
                row(l.enc_first, l.plain_first, 0.99).c_str());
  }
}

// ---------------------------------------------------------------------------
// Phase 3: proxy memory per open stream

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) {
      throw std::runtime_error("starting " + argv[0] + ": " + std::strerror(rc));
    }
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(10ms);
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_t pid() const noexcept { return pid_; }
  bool running() const {
    int status = 0;
    return ::waitpid(pid_, &status, WNOHANG) == 0;
  }

 private:
  pid_t pid_ = -1;
};

// HeldStreams: what the held streams have seen.
struct HeldStreams {
  std::size_t opened = 0;  // streams that brought their first token
  std::size_t failed = 0;  // refused, or ended before they were stopped
  std::size_t broken = 0;  // of the failed: after their first token
  std::size_t tokens = 0;  // all tokens so far
  bool stopping = false;   // set before the streams are stopped
  std::string error;       // the first failure
  void fail(std::string why) {
    ++failed;
    if (error.empty()) error = std::move(why);
  }
};

// held_stream: one streaming request through the proxy, counted open at its
// first token and then read until the scope stops it; a stream that ends
// or breaks before that failed.
Task<void> held_stream(http::HttpClient& http, const http::Origin& proxy, const std::string& body,
                       HeldStreams& held) {
  auto response = co_await http.request(proxy, {.method = "POST",
                                                .target = "/v1/chat/completions",
                                                .headers = {{"Content-Type", "application/json"}},
                                                .body = body});
  if (!response || response->status() != 200) {
    held.fail(response ? "status " + std::to_string(response->status())
                       : response.error().message());
    co_return;
  }
  http::SseReader reader;
  bool counted = false;
  while (true) {
    auto chunk = co_await response->body().next();
    if (!chunk || chunk->empty()) {  // stopped, or the stream ended
      if (!held.stopping) {
        held.broken += counted ? 1 : 0;
        held.fail(!chunk ? "a stream broke off: " + chunk.error().message()
                         : "a stream ended while held (more --proxy-words?)");
      }
      break;
    }
    reader.feed(*chunk);
    while (true) {
      auto event = reader.next();
      if (!event || !*event) break;
      if (!is_token((*event)->data)) continue;
      ++held.tokens;
      if (!counted) {
        counted = true;
        ++held.opened;
      }
    }
  }
}

Task<int> get_status(http::HttpClient& http, const http::Origin& origin, std::string target) {
  auto r = co_await http.request(origin, {.target = std::move(target)});
  if (!r) co_return 0;
  (void)co_await r->body().read_all();
  co_return r->status();
}

std::size_t sampled_rss(pid_t pid) {
  std::vector<double> samples;
  for (int i = 0; i < 5; ++i) {
    samples.push_back(static_cast<double>(rss_kib(pid)));
    std::this_thread::sleep_for(100ms);
  }
  return static_cast<std::size_t>(median(samples));
}

// start_proxy: `cipherline proxy` for the backend at `gateway`, on a free
// port, logging to `log`; its workspace is `workspace`.
std::unique_ptr<ChildProcess> start_proxy(const Config& config, const std::filesystem::path& state,
                                          SocketAddress gateway, const std::filesystem::path& log,
                                          const std::filesystem::path& workspace) {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{config.cipherline, "proxy", "--api-endpoint", gateway.to_string(),
                               "--manifest", (state / "manifest.json").string(), "--dev-trust",
                               state.string(), "--api-key", "dev", "--port", "0", "--workspace",
                               workspace.string()},
      log);
}

// proxy_origin: where the proxy listens, once it is bound.
Task<http::Origin> proxy_origin(const ChildProcess& proxy, const std::filesystem::path& log) {
  // The proxy logs "listening on http://IP:PORT" once it is bound.
  std::optional<http::Origin> origin;
  for (int i = 0; i < 500 && !origin; ++i) {
    const auto text = read_text(log);
    if (const auto at = text.find("listening on http://"); at != std::string::npos) {
      const auto end = text.find('\n', at);
      if (end != std::string::npos) {
        auto parsed = http::Origin::parse(text.substr(at + 13, end - at - 13));
        if (parsed) origin = *parsed;
      }
    }
    if (!origin) {
      if (!proxy.running()) throw std::runtime_error("the proxy exited:\n" + read_text(log));
      (void)co_await sleep_for(10ms);
    }
  }
  if (!origin) throw std::runtime_error("the proxy did not start:\n" + read_text(log));
  co_return *origin;
}

// wait_until_verified: until the proxy's /healthz answers 200 (the backend
// attested and a key exchanged).
Task<void> wait_until_verified(http::HttpClient& http, const http::Origin& proxy) {
  int health = 0;
  for (int i = 0; i < 500 && health != 200; ++i) {
    health = co_await get_status(http, proxy, "/healthz");
    if (health != 200) (void)co_await sleep_for(20ms);
  }
  if (health != 200) throw std::runtime_error("the proxy did not verify the backend");
}

Task<void> run_proxy(const Config& config, const std::filesystem::path& state,
                     SocketAddress gateway, const std::filesystem::path& scratch) {
  const auto log = scratch / "proxy.log";
  const auto child = start_proxy(config, state, gateway, log, scratch / "proxy-workspace");
  const ChildProcess& proxy = *child;
  const http::Origin origin = co_await proxy_origin(proxy, log);

  const std::size_t k = config.proxy_streams;
  // Each held stream is six connections' ends in this process (load
  // generator, gateway in and out, worker in and out, model) and two in the
  // proxy: past the open-file limit the backend refuses them.
  if (rlimit limit{}; getrlimit(RLIMIT_NOFILE, &limit) == 0 && 6 * k + 256 > limit.rlim_cur) {
    throw std::runtime_error(
        std::to_string(k) + " held streams need about " + std::to_string(6 * k + 256) +
        " open files in this process; the limit is " + std::to_string(limit.rlim_cur) +
        " (raise the hard limit: ulimit -Hn as root, LimitNOFILE= under systemd)");
  }
  http::HttpClient http({.max_connections_per_origin = k + 16, .proxy = http::ProxySettings{}});
  co_await wait_until_verified(http, origin);

  const std::string body = chat_body(config.proxy_words);
  const std::size_t rss_start = rss_kib(proxy.pid());
  {  // Warm-up: a few streams opened and closed, so one-time allocations
     // (TLS context, pools, the first connections) are in the baseline.
    HeldStreams warm;
    TaskScope scope;
    for (int i = 0; i < 16; ++i) scope.spawn(held_stream(http, origin, body, warm));
    for (int i = 0; i < 500 && warm.opened + warm.failed < 16; ++i) {
      (void)co_await sleep_for(10ms);
    }
    warm.stopping = true;
    scope.request_stop();
    co_await scope.join();
  }
  (void)co_await sleep_for(500ms);
  const std::size_t rss_idle = sampled_rss(proxy.pid());
  HeldStreams held;
  auto& opened = held.opened;
  auto& failed = held.failed;

  TaskScope scope;
  const auto started = Clock::now();
  // Opened in batches (each waits for the previous one's first tokens), or
  // all at once with batch 0: then every TLS handshake is in flight at the
  // same time and their transient buffers raise the high-water mark too.
  const std::size_t batch = config.proxy_batch == 0 ? k : config.proxy_batch;
  for (std::size_t spawned = 0; spawned < k && Clock::now() - started < 90s;) {
    for (const auto end = std::min(k, spawned + batch); spawned < end; ++spawned) {
      scope.spawn(held_stream(http, origin, body, held));
    }
    while (opened + failed < spawned && Clock::now() - started < 90s) {
      (void)co_await sleep_for(5ms);
    }
  }
  const double open_seconds = std::chrono::duration<double>(Clock::now() - started).count();
  (void)co_await sleep_for(1s);
  const std::size_t rss_open = sampled_rss(proxy.pid());
  std::size_t still_open = opened;
  std::size_t hold_tokens = 0;
  if (config.proxy_hold > 0) {
    // Every stream still open and streaming after the hold: its tokens
    // keep arriving (at 1 token/s, about streams × seconds of them).
    const std::size_t tokens_before = held.tokens;
    (void)co_await sleep_for(std::chrono::seconds(config.proxy_hold));
    hold_tokens = held.tokens - tokens_before;
    still_open = opened - held.broken;
  }
  held.stopping = true;
  scope.request_stop();
  co_await scope.join();
  (void)co_await sleep_for(500ms);
  const std::size_t rss_after = sampled_rss(proxy.pid());

  const std::string opening = config.proxy_batch == 0
                                  ? "all at once"
                                  : "in batches of " + std::to_string(config.proxy_batch);
  std::printf(
      "\nproxy memory: `cipherline proxy` (child pid %d), %zu streams of %zu words at 1 "
      "token/s, opened %s, each held open after its first token\n",
      static_cast<int>(proxy.pid()), k, config.proxy_words, opening.c_str());
  std::printf("  streams open: %zu (failed %zu%s%s) after %.1f s\n", opened, failed,
              held.error.empty() ? "" : ": ", held.error.c_str(), open_seconds);
  if (config.proxy_hold > 0) {
    std::printf("  held %zu s: %zu streams still open, %zu tokens arrived meanwhile (%.0f/s)\n",
                config.proxy_hold, still_open, hold_tokens,
                static_cast<double>(hold_tokens) / static_cast<double>(config.proxy_hold));
  }
  std::printf(
      "  VmRSS: started %zu KiB, idle %zu KiB, with %zu streams open %zu KiB, after "
      "closing them %zu KiB\n",
      rss_start, rss_idle, still_open, rss_open, rss_after);
  if (still_open > 0) {
    std::printf("  per open stream: %.1f KiB  (goal <= 64 KiB)\n",
                (static_cast<double>(rss_open) - static_cast<double>(rss_idle)) /
                    static_cast<double>(opened));
  }
  // Held: every stream opened, none failed, and they kept streaming (at 1
  // token/s each, at least half of streams × seconds tokens).
  if (config.proxy_hold > 0 &&
      (opened < k || failed > 0 || hold_tokens < k * config.proxy_hold / 2)) {
    throw std::runtime_error("held streams: " + std::to_string(opened) + " of " +
                             std::to_string(k) + " opened, " + std::to_string(failed) +
                             " failed, " + std::to_string(hold_tokens) + " tokens in the hold" +
                             (held.error.empty() ? "" : " (" + held.error + ")"));
  }
}

// ---------------------------------------------------------------------------
// Phase 4: batch — client::run_batch against the same requests through the
// proxy

// process_cpu_seconds: user + system CPU time of another process so far.
double process_cpu_seconds(pid_t pid) {
  const auto text = read_text("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  // After "pid (comm)": state is field 3, utime and stime fields 14 and 15.
  std::istringstream fields(text.substr(paren + 1));
  std::string skip;
  for (int field = 3; field < 14; ++field) fields >> skip;
  unsigned long long user = 0, system = 0;
  fields >> user >> system;
  return static_cast<double>(user + system) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// batch_body: the request of line `line`, a 16-word prompt whose first word
// names the line (so no two prompts are the same).
std::string batch_body(std::size_t line) {
  std::string prompt = "line" + std::to_string(line);
  for (std::size_t i = 1; i < 16; ++i) prompt += " word" + std::to_string(i);
  return R"({"model":"synthetic","messages":[{"role":"user","content":")" + prompt + R"("}]})";
}

// write_batch: the first `count` requests as an OpenAI Batch JSONL file.
void write_batch(const std::filesystem::path& file, const std::vector<std::string>& bodies,
                 std::size_t count) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  for (std::size_t i = 0; i < count; ++i) {
    out << R"({"custom_id":"r)" << i << R"(","method":"POST","url":"/v1/chat/completions","body":)"
        << bodies[i] << "}\n";
  }
  if (!out.flush()) throw std::runtime_error("writing " + file.string());
}

// answered_200: lines of a batch output that carry a 200 and no error.
std::size_t answered_200(const std::filesystem::path& output) {
  std::ifstream in(output);
  std::size_t ok = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.find(R"("status_code":200,)") != std::string::npos &&
        line.ends_with(R"("error":null})")) {
      ++ok;
    }
  }
  return ok;
}

struct BatchRound {
  double prompts_per_second = 0;
  std::size_t failures = 0;
  double latency_p50_ms = 0;
  double client_cpu_us = 0;   // this process, the backend's thread excepted, per prompt
  double backend_cpu_us = 0;  // the backend's loop thread, per prompt
  double proxy_cpu_us = 0;    // the proxy child, per prompt
  double backend_busy = 0;    // the backend's loop thread: CPU time / wall time
  std::string error;
};

// CpuMeter: the CPU time of the three parties over one round.
class CpuMeter {
 public:
  CpuMeter(BackendThread& backend, pid_t proxy)
      : backend_(backend),
        proxy_(proxy),
        process_(thread_cpu_seconds(CLOCK_PROCESS_CPUTIME_ID)),
        backend_start_(backend.cpu_seconds()),
        proxy_start_(process_cpu_seconds(proxy)) {}

  void finish(BatchRound& round, std::size_t prompts, double seconds) const {
    const double n = static_cast<double>(std::max<std::size_t>(1, prompts));
    const double backend = backend_.cpu_seconds() - backend_start_;
    const double process = thread_cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process_;
    round.client_cpu_us = (process - backend) * 1e6 / n;
    round.backend_cpu_us = backend * 1e6 / n;
    round.backend_busy = seconds > 0 ? backend / seconds : 0;
    round.proxy_cpu_us = (process_cpu_seconds(proxy_) - proxy_start_) * 1e6 / n;
  }

 private:
  BackendThread& backend_;
  pid_t proxy_;
  double process_, backend_start_, proxy_start_;
};

struct BatchTarget {
  client::Client& client;
  http::HttpClient& http;
  http::Origin proxy;
  pid_t proxy_pid;
  BackendThread& backend;
  const std::vector<std::string>& bodies;
  std::filesystem::path dir;
  std::size_t outputs = 0;  // output files made so far
};

// batch_round: `input` (its first `count` lines) through client::run_batch
// with `concurrency` requests in flight, into a fresh output file.
Task<BatchRound> batch_round(BatchTarget& target, const std::filesystem::path& input,
                             std::size_t count, std::size_t concurrency) {
  const auto output = target.dir / ("out-" + std::to_string(++target.outputs) + ".jsonl");
  const auto errors = target.dir / ("out-" + std::to_string(target.outputs) + ".errors.jsonl");
  BatchRound round;
  const CpuMeter cpu(target.backend, target.proxy_pid);
  const auto started = Clock::now();
  auto summary = co_await client::run_batch(
      target.client,
      {.input = input, .output = output, .errors = errors, .concurrency = concurrency});
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  cpu.finish(round, count, seconds);
  if (!summary) throw std::runtime_error("run_batch: " + summary.error().message());
  const std::size_t ok = answered_200(output);
  round.prompts_per_second = static_cast<double>(ok) / seconds;
  round.failures = count - std::min(count, ok);
  if (round.failures > 0) {
    round.error = std::to_string(summary->failed) + " failed, " + std::to_string(summary->invalid) +
                  " invalid, " + std::to_string(summary->retried) + " retried (" + output.string() +
                  ")";
  } else {
    std::filesystem::remove(output);
    std::filesystem::remove(errors);
  }
  round.latency_p50_ms = summary->latency_p50 / 1000.0;
  co_return round;
}

struct ProxyTally {
  std::size_t next = 0;  // the next line to send
  std::size_t ok = 0, failures = 0;
  std::vector<double> latencies_ms;
  std::string error;

  void fail(std::string why) {
    ++failures;
    if (error.empty()) error = std::move(why);
  }
};

// proxy_worker: takes the next line and POSTs its body to the proxy, until
// the first `count` lines are sent.
Task<void> proxy_worker(BatchTarget& target, std::size_t count, ProxyTally& tally) {
  while (tally.next < count) {
    const std::string& body = target.bodies[tally.next++];
    const auto started = Clock::now();
    auto response = co_await target.http.request(target.proxy,
                                                 {.method = "POST",
                                                  .target = "/v1/chat/completions",
                                                  .headers = {{"Content-Type", "application/json"}},
                                                  .body = body});
    if (!response) {
      tally.fail(response.error().message());
      continue;
    }
    auto text = co_await response->body().read_all();
    if (!text) {
      tally.fail(text.error().message());
    } else if (response->status() != 200) {
      tally.fail("status " + std::to_string(response->status()) + ": " + text->substr(0, 200));
    } else if (text->find(R"("chat.completion")") == std::string::npos) {
      tally.fail("not a chat completion: " + text->substr(0, 200));
    } else {
      ++tally.ok;
      tally.latencies_ms.push_back(ms(Clock::now() - started));
    }
  }
}

// proxy_round: the first `count` requests as plain HTTP POSTs to the proxy,
// `concurrency` workers each taking the next.
Task<BatchRound> proxy_round(BatchTarget& target, std::size_t count, std::size_t concurrency) {
  ProxyTally tally;
  tally.latencies_ms.reserve(count);
  BatchRound round;
  const CpuMeter cpu(target.backend, target.proxy_pid);
  const auto started = Clock::now();
  std::vector<Task<void>> workers;
  workers.reserve(concurrency);
  for (std::size_t i = 0; i < concurrency; ++i) {
    workers.push_back(proxy_worker(target, count, tally));
  }
  co_await when_all(std::move(workers));
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  cpu.finish(round, count, seconds);
  round.prompts_per_second = static_cast<double>(tally.ok) / seconds;
  round.failures = tally.failures;
  round.error = tally.error;
  round.latency_p50_ms = median(tally.latencies_ms);
  co_return round;
}

struct BatchLevel {
  std::size_t concurrency = 0, lines = 0;
  std::vector<double> batch, proxy, ratios;
  std::vector<double> batch_latency, proxy_latency;
  std::vector<double> batch_client_cpu, batch_backend_cpu;
  std::vector<double> proxy_client_cpu, proxy_backend_cpu, proxy_proxy_cpu;
  std::vector<double> batch_busy, proxy_busy;
  std::size_t batch_failures = 0, proxy_failures = 0;
};

void report_failures(const char* route, const BatchRound& r) {
  if (r.failures > 0) {
    std::printf("    %s: %zu failed: %s\n", route, r.failures, r.error.c_str());
  }
}

Task<void> run_batch_phase(const Config& config, const std::filesystem::path& state,
                           BackendThread& backend, const std::filesystem::path& scratch) {
  auto options = client_options(state, backend.address());
  std::size_t most = 1;
  for (auto c : config.batch_concurrency) most = std::max(most, c);
  options.max_connections = most;

  const auto dir = scratch / "batch";
  std::filesystem::create_directories(dir);
  std::vector<std::string> bodies;
  bodies.reserve(config.batch_lines);
  for (std::size_t i = 0; i < config.batch_lines; ++i) bodies.push_back(batch_body(i));

  const auto log = scratch / "batch-proxy.log";
  const auto proxy = start_proxy(config, state, backend.address(), log, dir / "proxy-workspace");
  const http::Origin origin = co_await proxy_origin(*proxy, log);
  http::HttpClient http({.max_connections_per_origin = most, .proxy = http::ProxySettings{}});
  co_await wait_until_verified(http, origin);

  client::Client client(options);
  if (auto r = co_await client.connect(); !r) {
    throw std::runtime_error("connecting the client: " + r.error().message());
  }
  BatchTarget target{client, http, origin, proxy->pid(), backend, bodies, dir};

  std::printf(
      "\nbatch: %zu chat requests of 16 words (%zu at concurrency 1), unthrottled model, %zu "
      "worker(s); client::run_batch in process (one attested Client) against plain HTTP POSTs "
      "through `cipherline proxy` (child pid %d); %zu round pairs per level\n",
      config.batch_lines, std::min(config.batch_lines, config.batch_serial_lines), config.workers,
      static_cast<int>(proxy->pid()), config.batch_rounds);
  std::vector<BatchLevel> levels;
  for (const auto concurrency : config.batch_concurrency) {
    auto& level = levels.emplace_back();
    level.concurrency = concurrency;
    level.lines = concurrency == 1 ? std::min(config.batch_lines, config.batch_serial_lines)
                                   : config.batch_lines;
    const auto input = dir / ("in-" + std::to_string(level.lines) + ".jsonl");
    write_batch(input, bodies, level.lines);
    // Warm-up: a whole round of each route, not counted. It opens this
    // level's connections (client→gateway TLS, client→proxy→gateway, and
    // the backend's gateway→worker mTLS and worker→model pools, which grow
    // with the requests in flight) so that the rounds measure a steady state.
    (void)co_await batch_round(target, input, level.lines, concurrency);
    (void)co_await proxy_round(target, level.lines, concurrency);
    for (std::size_t i = 0; i < config.batch_rounds; ++i) {
      const bool batch_first = i % 2 == 0;
      BatchRound b, p;
      for (int half = 0; half < 2; ++half) {
        if ((half == 0) == batch_first) {
          b = co_await batch_round(target, input, level.lines, concurrency);
        } else {
          p = co_await proxy_round(target, level.lines, concurrency);
        }
      }
      level.batch.push_back(b.prompts_per_second);
      level.proxy.push_back(p.prompts_per_second);
      level.ratios.push_back(p.prompts_per_second > 0 ? b.prompts_per_second / p.prompts_per_second
                                                      : 0);
      level.batch_latency.push_back(b.latency_p50_ms);
      level.proxy_latency.push_back(p.latency_p50_ms);
      level.batch_client_cpu.push_back(b.client_cpu_us);
      level.batch_backend_cpu.push_back(b.backend_cpu_us);
      level.proxy_client_cpu.push_back(p.client_cpu_us);
      level.proxy_backend_cpu.push_back(p.backend_cpu_us);
      level.proxy_proxy_cpu.push_back(p.proxy_cpu_us);
      level.batch_busy.push_back(b.backend_busy);
      level.proxy_busy.push_back(p.backend_busy);
      level.batch_failures += b.failures;
      level.proxy_failures += p.failures;
      std::printf(
          "  C=%-4zu round %zu (%zu lines, %s first): batch %7.0f prompts/s  proxy %7.0f "
          "prompts/s  ratio %.3f  (failures %zu / %zu)\n",
          concurrency, i + 1, level.lines, batch_first ? "batch" : "proxy", b.prompts_per_second,
          p.prompts_per_second, level.ratios.back(), b.failures, p.failures);
      report_failures("batch", b);
      report_failures("proxy", p);
      std::fflush(stdout);
    }
  }
  co_await client.close();

  std::printf(
      "\n| Concurrency | Lines | Batch prompts/s | Proxy prompts/s | Ratio (median) | Ratio range "
      "| Failures batch / proxy |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (const auto& l : levels) {
    std::printf("| %zu | %zu | %.0f | %.0f | **%.2f** | %.2f–%.2f | %zu / %zu |\n", l.concurrency,
                l.lines, median(l.batch), median(l.proxy), median(l.ratios),
                *std::min_element(l.ratios.begin(), l.ratios.end()),
                *std::max_element(l.ratios.begin(), l.ratios.end()), l.batch_failures,
                l.proxy_failures);
  }
  std::printf(
      "\nLatency p50 (ms), CPU per prompt (µs; client = this process without the backend's "
      "thread) and the backend loop's busy share (its CPU time / wall time):\n\n");
  std::printf(
      "| Concurrency | Latency p50 batch / proxy | Batch CPU: client / backend | Proxy route CPU: "
      "client / proxy / backend | Backend busy batch / proxy |\n");
  std::printf("|---|---|---|---|---|\n");
  for (const auto& l : levels) {
    std::printf("| %zu | %.2f / %.2f | %.0f / %.0f | %.0f / %.0f / %.0f | %.0f%% / %.0f%% |\n",
                l.concurrency, median(l.batch_latency), median(l.proxy_latency),
                median(l.batch_client_cpu), median(l.batch_backend_cpu), median(l.proxy_client_cpu),
                median(l.proxy_proxy_cpu), median(l.proxy_backend_cpu), 100 * median(l.batch_busy),
                100 * median(l.proxy_busy));
  }
}

// ---------------------------------------------------------------------------

Task<void> run_all(const Config& config, const std::filesystem::path& state,
                   const std::filesystem::path& scratch) {
  if (has_phase(config, "sessions") || has_phase(config, "streams")) {
    const auto created = Clock::now();
    BackendThread backend(backend::DevBackendOptions{
        .state = state, .workers = config.workers, .plaintext_routes = true});
    std::printf(
        "backend: gateway on https://%s (%zu worker(s), unthrottled model), started in "
        "%.0f ms\n",
        backend.address().to_string().c_str(), config.workers, ms(Clock::now() - created));
    const auto options = client_options(state, backend.address());
    if (has_phase(config, "sessions")) co_await run_sessions(config, options);
    if (has_phase(config, "streams")) co_await run_streams(config, options, backend);
    // Every client of this backend is gone; let the closes reach it.
    (void)co_await sleep_for(100ms);
  }
  if (has_phase(config, "proxy")) {
    backend::DevBackendOptions options{.state = state, .workers = config.workers};
    options.model.tokens_per_second = 1;
    BackendThread backend(std::move(options));
    co_await run_proxy(config, state, backend.address(), scratch);
    (void)co_await sleep_for(100ms);
  }
  if (has_phase(config, "batch")) {
    BackendThread backend(backend::DevBackendOptions{.state = state, .workers = config.workers});
    co_await run_batch_phase(config, state, backend, scratch);
    (void)co_await sleep_for(100ms);
  }
}

int run(int argc, char** argv) {
  const Config config = parse(argc, argv);
  // Loopback only: no proxy from the environment for the Client's HttpClient.
  for (const char* name :
       {"http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"}) {
    ::unsetenv(name);
  }
  std::printf("e2e_load: %u hardware threads (nproc %ld), %s, load average %s\n",
              std::thread::hardware_concurrency(), sysconf(_SC_NPROCESSORS_ONLN),
              cpu_model().c_str(), load_average().c_str());
  raise_file_limit();

  const auto scratch =
      std::filesystem::temp_directory_path() / ("cipherline-e2e-" + std::to_string(::getpid()));
  std::filesystem::create_directories(scratch);
  const auto state = config.state.empty() ? scratch / "state" : config.state;
  int status = 0;
  try {
    Loop loop;
    sync_wait(loop, run_all(config, state, scratch));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "e2e_load: %s\n", e.what());
    status = 1;
  }
  std::filesystem::remove_all(scratch);
  std::printf("\nload average at the end: %s\n", load_average().c_str());
  return status;
}

}  // namespace
}  // namespace cipherline::e2e

int main(int argc, char** argv) {
  try {
    return cipherline::e2e::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "e2e_load: %s\n", e.what());
    return 2;
  }
}
