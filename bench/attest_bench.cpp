// Attestation verification costs: an SEV-SNP report with its VCEK chain
// (with and without the chain cache), against the bare ECDSA P-384 verify
// of the same report; parsing; Contrast's ID-key digest; a whole
// Coordinator attestation from the software TEE.
#include <benchmark/benchmark.h>

#include <cstring>
#include <fstream>
#include <iterator>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/nvgpu/verify.hpp"
#include "cipherline/attest/sim/snp_issuer.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/attest/snp/verify.hpp"
#include "cipherline/attest/tdx/verify.hpp"
#include "cipherline/crypto/hex.hpp"
#include "ratio_reporter.hpp"

namespace cipherline {
namespace {

using namespace attest;
using namespace std::chrono;

std::vector<std::byte> read_vector(const std::string& name) {
  std::ifstream in(std::string(CIPHERLINE_ATTEST_VECTORS) + "/" + name, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), {});
  const auto b = std::as_bytes(std::span(chars.data(), chars.size()));
  return {b.begin(), b.end()};
}

const system_clock::time_point kAt = sys_days(year{2026} / 6 / 1);

struct RealReport {
  std::vector<std::byte> bytes = read_vector("snp/milan_go_sev_guest_report.bin");
  snp::AttestationReport report = snp::parse_report(bytes).value();
  crypto::Certificate vcek =
      crypto::Certificate::from_der(read_vector("snp/milan_go_sev_guest_vcek.der")).value();
};
const RealReport& real() {
  static const RealReport r;
  return r;
}

void BM_SnpParseReport(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(snp::parse_report(real().bytes));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnpParseReport);

void BM_SnpVerifyUncached(benchmark::State& state) {
  const auto& chain = snp::amd_chain(snp::Product::milan);
  for (auto _ : state) {
    auto r = snp::verify_report(real().report, real().vcek, chain, kAt);
    if (!r.passed()) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnpVerifyUncached)->Unit(benchmark::kMicrosecond);

void BM_SnpVerifyCached(benchmark::State& state) {
  const auto& chain = snp::amd_chain(snp::Product::milan);
  snp::ChainCache cache;
  for (auto _ : state) {
    auto r = snp::verify_report(real().report, real().vcek, chain, kAt, &cache);
    if (!r.passed()) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnpVerifyCached)->Unit(benchmark::kMicrosecond);

// Baseline: the one signature check a cached verification cannot skip.
void BM_RawEcdsaP384Verify(benchmark::State& state) {
  const auto key = real().vcek.public_key().value();
  for (auto _ : state) {
    auto ok = crypto::verify_ecdsa(key, crypto::Hash::sha384, real().report.signed_bytes(),
                                   real().report.signature_rs, crypto::SignatureFormat::raw);
    if (!ok) state.SkipWithError("signature failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawEcdsaP384Verify)->Unit(benchmark::kMicrosecond);

// Each iteration a new measurement: the recovery itself, not the memo.
void BM_ContrastIdKeyDigest(benchmark::State& state) {
  auto measurement = real().report.measurement;
  std::uint64_t n = 0;
  for (auto _ : state) {
    ++n;
    std::memcpy(measurement.data(), &n, sizeof n);
    benchmark::DoNotOptimize(snp::contrast_id_key_digest(measurement, 0x2030000));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ContrastIdKeyDigest)->Unit(benchmark::kMicrosecond);

// A whole Coordinator attestation from the software TEE, as the client
// verifies it: document, manifest, evidence, reference values, binding.
struct SimCoordinator {
  sim::DevelopmentSnpPki pki =
      sim::DevelopmentSnpPki::generate(snp::Product::genoa, system_clock::now()).value();
  std::vector<std::byte> nonce = std::vector<std::byte>(32, std::byte{1});
  std::string manifest;
  std::string document;

  SimCoordinator() {
    sim::SnpLaunch launch;
    launch.measurement = sim::measurement_of(nonce);
    launch.host_data.fill(std::byte{0xcc});
    manifest =
        R"({"Policies":{")" + std::string(64, 'c') +
        R"(":{"Role":"coordinator"}},"ReferenceValues":{"snp":[{"ProductName":"Genoa","TrustedMeasurement":")" +
        crypto::to_hex(launch.measurement) +
        R"(","MinimumTCB":{"BootloaderVersion":10,"TEEVersion":0,"SNPVersion":28,"MicrocodeVersion":88},"GuestPolicy":{"SMT":true},"PlatformInfo":{"SMTEnabled":true,"ECCEnabled":true,"AliasCheckComplete":true}}]}})";
    contrast::AttestationDocument doc;
    doc.version = "bench";
    doc.attestation_type = {1, 3, 9901, 2, 1};
    const auto m = std::as_bytes(std::span(manifest.data(), manifest.size()));
    doc.manifests = {std::vector<std::byte>(m.begin(), m.end())};
    doc.root_ca_pem = "root";
    doc.mesh_ca_pem = "mesh";
    contrast::SnpEvidence evidence;
    evidence.report =
        sim::issue_snp_report(pki, launch,
                              contrast::coordinator_report_data(nonce, doc.manifests,
                                                                doc.root_ca_pem, doc.mesh_ca_pem))
            .value();
    evidence.vcek_der = pki.vcek.der();
    doc.raw_attestation_doc = contrast::encode_snp_attestation(evidence);
    document = contrast::write_attestation_document(doc);
  }
};

void BM_CoordinatorVerifySim(benchmark::State& state) {
  static const SimCoordinator sim;
  snp::ChainCache cache;
  contrast::CoordinatorTrust trust;
  const auto m = std::as_bytes(std::span(sim.manifest.data(), sim.manifest.size()));
  trust.expected_manifest.assign(m.begin(), m.end());
  trust.now = system_clock::now();
  trust.development_chain = sim.pki.trusted_chain();
  if (state.range(0) != 0) trust.chain_cache = &cache;
  for (auto _ : state) {
    auto v = contrast::verify_coordinator(sim.document, sim.nonce, trust);
    if (!v.report.passed()) state.SkipWithError(v.report.to_text().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CoordinatorVerifySim)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond);

// An Intel TDX quote: PCK chain (ECDSA P-256), QE report, binding, quote.
void BM_TdxVerifyQuote(benchmark::State& state) {
  static const auto quote = tdx::parse_quote(read_vector("tdx/trustee_v4_quote.dat")).value();
  const auto at = sys_days(year{2024} / 6 / 1);
  for (auto _ : state) {
    auto r = tdx::verify_quote(quote, tdx::intel_root(), at);
    if (!r.passed()) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TdxVerifyQuote)->Unit(benchmark::kMicrosecond);

// An NVIDIA H100 report: its five-certificate chain and the P-384 signature.
void BM_GpuVerifyReport(benchmark::State& state) {
  static const auto report = nvgpu::parse_report(read_vector("nvgpu/h100_report.txt")).value();
  static const auto chain = [] {
    const auto pem = read_vector("nvgpu/h100_cert_chain.pem");
    return crypto::Certificate::all_from_pem(
               std::string_view(reinterpret_cast<const char*>(pem.data()), pem.size()))
        .value();
  }();
  const auto at = sys_days(year{2024} / 6 / 1);
  for (auto _ : state) {
    auto r =
        nvgpu::verify_report(report, chain, nvgpu::nvidia_root(), report.request.nonce, {}, at);
    if (!r.passed()) state.SkipWithError("verification failed");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GpuVerifyReport)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace cipherline

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  cipherline::bench::RatioReporter reporter({
      {"SNP verify, cached chain / uncached", "BM_SnpVerifyCached", "BM_SnpVerifyUncached"},
      {"SNP verify, cached chain / bare ECDSA P-384 verify", "BM_SnpVerifyCached",
       "BM_RawEcdsaP384Verify"},
  });
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
