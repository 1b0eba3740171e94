#include "cipherline/backend/attestation_agent.hpp"

#include <fstream>

#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/json_writer.hpp"

namespace cipherline::backend {
namespace {

void write_status(http::JsonWriter& json, const char* name, const protocol::OcspStatus& status) {
  json.key(name).begin_object().key("Value").string(protocol::to_string(status.value));
  if (status.value == protocol::OcspStatus::Value::revoked) {
    json.key("RevokedAt")
        .number(static_cast<std::int64_t>(
            std::chrono::duration_cast<std::chrono::seconds>(status.revoked_at.time_since_epoch())
                .count()));
  }
  json.end_object();
}

// Writes `text` to `path` through a temporary file and a rename, so a reader
// never sees half a file.
bool write_atomically(const std::filesystem::path& path, std::string_view text) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  const auto temporary = path.string() + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  std::filesystem::rename(temporary, path, ec);
  return !ec;
}

}  // namespace

attest::nvgpu::ReferenceValues development_gpu_reference() {
  const attest::sim::GpuState state;
  attest::nvgpu::ReferenceValues reference;
  reference.driver_versions = {state.driver_version};
  reference.vbios_versions = {state.vbios_version};
  for (std::size_t i = 0; i < state.measurements.size(); ++i) {
    const auto& m = state.measurements[i];
    reference.measurements.push_back(
        {.index = static_cast<std::uint8_t>(i + 1), .allowed = {{m.begin(), m.end()}}});
  }
  return reference;
}

attest::VerificationReport AttestationAgent::attest(Worker& worker,
                                                    const std::vector<SimulatedGpu>& gpus) {
  attest::VerificationReport report("GPUs of " + worker.options().name);
  report.check("GPU count", "at least 1", std::to_string(gpus.size()), !gpus.empty());
  const auto now = std::chrono::system_clock::now();
  std::vector<GpuOcspStatus> statuses;
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    std::array<std::byte, 32> seed;
    crypto::random_bytes(seed);
    const auto nonce = crypto::sha256(seed);
    const std::string prefix = "gpu" + std::to_string(i) + ".";
    auto evidence = attest::sim::issue_gpu_report(gpus[i].pki, gpus[i].state, nonce);
    if (!evidence) {
      report.check(prefix + "report", "an SPDM report", evidence.error().message(), false);
      continue;
    }
    const auto chain = gpus[i].pki.certificate_chain();
    report.merge(attest::nvgpu::verify_report(*evidence, chain, options_.trusted_root, nonce,
                                              options_.reference, now),
                 prefix);
    statuses.push_back(gpus[i].ocsp);
  }
  if (!report.passed()) return report;

  std::string json;
  http::JsonWriter writer(json);
  writer.begin_array();
  for (const auto& s : statuses) {
    writer.begin_object();
    write_status(writer, "GPU", s.gpu);
    write_status(writer, "VBIOS", s.vbios);
    write_status(writer, "Driver", s.driver);
    writer.end_object();
  }
  writer.end_array();
  const auto path = options_.status_dir / (worker.options().name + ".json");
  if (!report.check("OCSP status file", path.string(), path.string(),
                    write_atomically(path, json))) {
    return report;
  }
  worker.activate(std::move(statuses));
  return report;
}

}  // namespace cipherline::backend
