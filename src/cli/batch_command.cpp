// `cipherline batch`: a JSONL batch through one attested session.
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "api_key_flag.hpp"
#include "cipherline/client/batch.hpp"
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

std::string read_manifest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError("--manifest: cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

std::string duration_text(double seconds) {
  char out[32];
  if (!std::isfinite(seconds) || seconds < 0) return "--";
  const auto s = static_cast<long long>(seconds + 0.5);
  if (s >= 3600) {
    std::snprintf(out, sizeof out, "%lldh%02lldm", s / 3600, s / 60 % 60);
  } else if (s >= 60) {
    std::snprintf(out, sizeof out, "%lldm%02llds", s / 60, s % 60);
  } else {
    std::snprintf(out, sizeof out, "%llds", s);
  }
  return out;
}

// One progress line: done/total, rates, ETA, failures.
std::string progress_line(const client::BatchProgress& p, bool bar) {
  const double elapsed = duration<double>(p.elapsed).count();
  const auto done = p.succeeded + p.failed + p.invalid;
  const auto pending_total = p.total_lines - p.skipped;
  const double rps = elapsed > 0 ? static_cast<double>(p.succeeded + p.failed) / elapsed : 0;
  const double tps = elapsed > 0 ? static_cast<double>(p.tokens_out) / elapsed : 0;
  const auto left = static_cast<double>(pending_total > done ? pending_total - done : 0);
  const double eta = left == 0 ? 0 : rps > 0 ? left / rps : NAN;
  char text[256];
  std::snprintf(
      text, sizeof text,
      "%llu/%llu  %.1f req/s  %.0f tok/s  ETA %s  failed %llu  invalid %llu  "
      "retried %llu",
      static_cast<unsigned long long>(done), static_cast<unsigned long long>(pending_total), rps,
      tps, duration_text(eta).c_str(), static_cast<unsigned long long>(p.failed),
      static_cast<unsigned long long>(p.invalid), static_cast<unsigned long long>(p.retried));
  if (!bar) return text;
  constexpr int kWidth = 24;
  const double fraction =
      pending_total > 0 ? static_cast<double>(done) / static_cast<double>(pending_total) : 1.0;
  const int filled = static_cast<int>(std::min(1.0, fraction) * kWidth);
  return "[" + std::string(static_cast<std::size_t>(filled), '#') +
         std::string(static_cast<std::size_t>(kWidth - filled), '.') + "] " + text;
}

}  // namespace

int batch(std::span<const std::string_view> args) {
  Flags flags("batch",
              "Sends an OpenAI Batch API JSONL file through one attested, encrypted session\n"
              "and appends each answer to the output as it arrives. Rerun with the same files\n"
              "to resume: answered custom_ids are skipped, so every line is answered once.");
  flags.option("input", "FILE", "the requests, one JSON object per line")
      .option("output", "FILE", "the answers (appended; resumable)")
      .option("errors", "FILE", "bad input lines (default: OUTPUT.errors.jsonl)", "none")
      .option("concurrency", "N", "requests in flight", "64")
      .option("rate", "R", "at most R requests started per second (0: no limit)", "0")
      .option("max-retries", "K", "retries of 429, 5xx and connection failures", "5")
      .toggle("stream", "stream answers and assemble them (measures time to first token)")
      .option("wire-format", "FORMAT", kWireFormatHelp, "oae")
      .option("api-endpoint", "HOST:PORT", "the API gateway (HTTPS)")
      .option("manifest", "FILE", "the expected manifest (compared byte for byte)")
      .option("dev-trust", "DIR", "trust a --dev backend's development roots and CA", "none")
      .option("tdx-collateral", "DIR", kTdxCollateralHelp, "none")
      .toggle("tdx-allow-missing-crl", "accept TDX evidence without Intel's CRLs (fail open)")
      .toggle("require-amd-crl", "refuse SEV-SNP evidence that carries no AMD CRL")
      .toggle("amd-crl-fail-open", "accept SEV-SNP evidence whose AMD CRL does not verify")
      .option("api-key", "KEY|@FILE",
              "API key, or @FILE holding it; unset: $CIPHERLINE_API_KEY, else dev", "dev");
  add_record_flags(flags, "none");
  if (!flags.parse(args)) return 0;

  client::ClientOptions options;
  auto endpoint = http::Origin::parse("https://" + flags.text("api-endpoint"));
  if (!endpoint) throw UsageError("--api-endpoint: " + endpoint.error().message());
  options.session.endpoint = *endpoint;
  const std::string manifest = read_manifest(flags.text("manifest"));
  options.session.manifest.assign(
      reinterpret_cast<const std::byte*>(manifest.data()),
      reinterpret_cast<const std::byte*>(manifest.data()) + manifest.size());
  if (flags.is_set("dev-trust")) {
    auto trust = client::DevelopmentTrust::load(flags.text("dev-trust"));
    if (!trust) throw UsageError("--dev-trust: " + trust.error().message());
    options.session.development = std::move(*trust);
  }
  options.session.api_key = api_key_flag(flags, "dev");
  options.chat_format = wire_format_flag(flags);
  read_record_flags(flags, options.session);
  read_trust_flags(flags, options.session);

  client::BatchOptions batch{.input = flags.text("input"), .output = flags.text("output")};
  if (flags.is_set("errors")) batch.errors = flags.text("errors");
  batch.concurrency = flags.unsigned_integer("concurrency", 1, 100'000);
  batch.rate = static_cast<double>(flags.unsigned_integer("rate", 0, 1'000'000));
  batch.max_retries = static_cast<int>(flags.unsigned_integer("max-retries", 0, 100));
  batch.stream = flags.is_set("stream");
  options.max_connections = std::max<std::size_t>(batch.concurrency, 1);
  if (!std::filesystem::exists(batch.input)) {
    throw UsageError("--input: " + batch.input.string() + " does not exist");
  }

  const bool tty = ::isatty(STDERR_FILENO) == 1;
  batch.progress_interval = tty ? milliseconds(200) : seconds(5);
  batch.progress = [tty](const client::BatchProgress& p) {
    const std::string line = progress_line(p, tty);
    if (tty) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  };

  Loop loop;
  int status = 0;
  sync_wait(loop, [&]() -> Task<void> {
    client::Client client(options);
    auto connected = co_await client.connect();
    if (!connected) {
      std::fprintf(stderr, "cipherline batch: %s\n", connected.error().message().c_str());
      co_await client.close();
      status = 1;
      co_return;
    }
    std::stop_source stop;
    TaskScope signals;
    signals.spawn([](std::stop_source& s) -> Task<void> {
      if (co_await wait_for_signal(SIGINT, SIGTERM)) s.request_stop();
    }(stop));
    auto summary = co_await with_stop_token(client::run_batch(client, batch), stop.get_token());
    signals.request_stop();
    co_await signals.join();
    co_await client.close();
    if (tty) std::fputs("\n", stderr);
    if (!summary) {
      std::fprintf(stderr, "cipherline batch: %s\n", summary.error().message().c_str());
      status = 1;
      co_return;
    }
    const auto& s = *summary;
    std::printf(
        "cipherline batch: %llu succeeded, %llu failed, %llu invalid lines, %llu skipped "
        "(answered or reported before), %llu retries\n"
        "  tokens in %llu, out %llu\n"
        "  latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms\n",
        static_cast<unsigned long long>(s.succeeded), static_cast<unsigned long long>(s.failed),
        static_cast<unsigned long long>(s.invalid), static_cast<unsigned long long>(s.skipped),
        static_cast<unsigned long long>(s.retried), static_cast<unsigned long long>(s.tokens_in),
        static_cast<unsigned long long>(s.tokens_out), s.latency_p50 / 1000, s.latency_p95 / 1000,
        s.latency_p99 / 1000);
    if (batch.stream) {
      std::printf("  time to first token p50 %.1f ms, p99 %.1f ms\n", s.ttft_p50 / 1000,
                  s.ttft_p99 / 1000);
    }
    std::printf(
        "  wall time %.2f s (%.1f requests/s)\n", duration<double>(s.elapsed).count(),
        duration<double>(s.elapsed).count() > 0
            ? static_cast<double>(s.succeeded + s.failed) / duration<double>(s.elapsed).count()
            : 0.0);
    if (s.failed > 0) status = 1;
    if (stop.stop_requested()) {
      std::fputs(
          "cipherline batch: interrupted; lines in flight were not written: rerun with the same "
          "--output to finish\n",
          stderr);
      status = 130;
    }
  }());
  return status;
}

}  // namespace cipherline::cli
