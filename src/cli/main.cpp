// cipherline: command-line entry point. Thin: picks the subcommand and hands
// it the remaining arguments.
#include <cstdio>
#include <exception>
#include <string_view>
#include <vector>

#include "commands.hpp"
#include "flags.hpp"

namespace {

constexpr std::string_view kUsage =
    "usage: cipherline <command> [flags]\n"
    "\n"
    "Attested, end-to-end encrypted LLM inference: client, reference backend and\n"
    "benchmarks on one C++20 coroutine runtime.\n"
    "\n"
    "commands:\n"
    "  backend               the reference backend on the software TEE (every role, --dev)\n"
    "  batch                 a JSONL batch of requests through one attested session\n"
    "  proxy                 OpenAI-compatible server: attests, encrypts, decrypts\n"
    "  bench echo            TCP echo over loopback on the runtime, printing throughput\n"
    "  bench http-serve      fixed HTTP response for load generators such as wrk\n"
    "  bench sse             Server-Sent Events through a relay: events/s and added latency\n"
    "  crypto seal-field     encrypt stdin as one Privatemode field\n"
    "  crypto open-field     decrypt one Privatemode field from stdin\n"
    "  crypto oae-seal       seal stdin's JSON strings as one OAE stream\n"
    "  crypto oae-open       open one OAE stream of hex messages from stdin\n"
    "  crypto xwing-keygen   make (or derive) an X-Wing key pair\n"
    "  crypto hpke-encap     X-Wing HPKE sender: encapsulated key and exported secret\n"
    "  crypto hpke-decap     X-Wing HPKE recipient: exported secret\n"
    "  crypto secret-id      secret ID of a public key\n"
    "  verify snp            check an AMD SEV-SNP report against its VCEK and AMD's roots\n"
    "  verify tdx            check an Intel TDX quote against its PCK chain and Intel's root\n"
    "  verify gpu            check an NVIDIA GPU report against its chain and NVIDIA's root\n"
    "  verify coordinator    check a Contrast Coordinator attestation document\n"
    "  verify capture DIR    re-run, offline, every check of the attestations captured in DIR\n"
    "\n"
    "  --version             print the version\n"
    "  --help                show this text; `cipherline <command> --help` for its flags\n";

struct Command {
  std::vector<std::string_view> words;
  int (*run)(std::span<const std::string_view>);
};

const std::vector<Command>& commands() {
  static const std::vector<Command> list = {
      {{"backend"}, &cipherline::cli::backend},
      {{"batch"}, &cipherline::cli::batch},
      {{"proxy"}, &cipherline::cli::proxy},
      {{"bench", "echo"}, &cipherline::cli::bench_echo},
      {{"bench", "http-serve"}, &cipherline::cli::bench_http_serve},
      {{"bench", "sse"}, &cipherline::cli::bench_sse},
      {{"crypto", "seal-field"}, &cipherline::cli::crypto_seal_field},
      {{"crypto", "open-field"}, &cipherline::cli::crypto_open_field},
      {{"crypto", "oae-seal"}, &cipherline::cli::crypto_oae_seal},
      {{"crypto", "oae-open"}, &cipherline::cli::crypto_oae_open},
      {{"crypto", "xwing-keygen"}, &cipherline::cli::crypto_xwing_keygen},
      {{"crypto", "hpke-encap"}, &cipherline::cli::crypto_hpke_encap},
      {{"crypto", "hpke-decap"}, &cipherline::cli::crypto_hpke_decap},
      {{"crypto", "secret-id"}, &cipherline::cli::crypto_secret_id},
      {{"verify", "snp"}, &cipherline::cli::verify_snp},
      {{"verify", "tdx"}, &cipherline::cli::verify_tdx},
      {{"verify", "gpu"}, &cipherline::cli::verify_gpu},
      {{"verify", "coordinator"}, &cipherline::cli::verify_coordinator},
      {{"verify", "capture"}, &cipherline::cli::verify_capture},
  };
  return list;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::printf("cipherline %s\n", CIPHERLINE_VERSION);
    return 0;
  }
  for (const Command& c : commands()) {
    if (args.size() < c.words.size() || !std::equal(c.words.begin(), c.words.end(), args.begin())) {
      continue;
    }
    const std::span<const std::string_view> rest(args.data() + c.words.size(),
                                                 args.size() - c.words.size());
    try {
      return c.run(rest);
    } catch (const cipherline::cli::UsageError& e) {
      std::fprintf(stderr, "cipherline: %s\n(see cipherline", e.what());
      for (auto w : c.words) std::fprintf(stderr, " %.*s", static_cast<int>(w.size()), w.data());
      std::fputs(" --help)\n", stderr);
      return 2;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "cipherline: %s\n", e.what());
      return 1;
    }
  }
  std::string command;
  for (auto a : args) {
    if (a.starts_with("-")) break;
    command += (command.empty() ? "" : " ") + std::string(a);
  }
  std::fprintf(stderr, "cipherline: unknown command '%s' (see cipherline --help)\n",
               command.empty() ? std::string(args[0]).c_str() : command.c_str());
  return 2;
}
