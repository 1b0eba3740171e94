#include "cipherline/backend/attestation_agent.hpp"

#include <fstream>

#include <simdjson.h>

#include "cipherline/backend/error.hpp"
#include "cipherline/crypto/random.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::backend {
namespace {

// What the agent says about revocation: it never asks an OCSP responder.
constexpr std::string_view kOcspNotChecked =
    "not checked: no OCSP responder was asked; the recorded statuses are configured values, "
    "not NVIDIA's answers";

void write_status(json::JsonWriter& json, const char* name, const protocol::OcspStatus& status) {
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

std::array<std::byte, 32> AttestationAgent::fresh_nonce() {
  std::array<std::byte, 32> seed;
  crypto::random_bytes(seed);
  return crypto::sha256(seed);
}

attest::VerificationReport AttestationAgent::verify(const std::string& worker,
                                                    const std::vector<GpuEvidence>& gpus,
                                                    std::span<const std::byte, 32> nonce,
                                                    std::vector<GpuOcspStatus>& statuses) {
  attest::VerificationReport report("GPUs of " + worker);
  report.claim("OCSP", std::string(kOcspNotChecked));
  report.check("GPU count", "at least 1", std::to_string(gpus.size()), !gpus.empty());
  const auto now = std::chrono::system_clock::now();
  statuses.clear();
  for (std::size_t i = 0; i < gpus.size(); ++i) {
    report.merge(attest::nvgpu::verify_report(gpus[i].report, gpus[i].chain, options_.trusted_root,
                                              nonce, options_.reference, now),
                 "gpu" + std::to_string(i) + ".");
    statuses.push_back(gpus[i].ocsp);
  }
  if (!report.passed()) return report;
  const auto path = options_.status_dir / (worker + ".json");
  report.check("OCSP status file", path.string(), path.string(),
               write_atomically(path, ocsp_status_json(statuses)));
  return report;
}

attest::VerificationReport AttestationAgent::attest(Worker& worker,
                                                    const std::vector<SimulatedGpu>& gpus) {
  const auto nonce = fresh_nonce();
  std::vector<GpuEvidence> evidence;
  attest::VerificationReport failed("GPUs of " + worker.options().name);
  for (const auto& gpu : gpus) {
    auto report = attest::sim::issue_gpu_report(gpu.pki, gpu.state, nonce);
    if (!report) {
      failed.check("GPU report", "an SPDM report", report.error().message(), false);
      return failed;
    }
    evidence.push_back({std::move(*report), gpu.pki.certificate_chain(), gpu.ocsp});
  }
  std::vector<GpuOcspStatus> statuses;
  auto report = verify(worker.options().name, evidence, nonce, statuses);
  if (report.passed()) worker.activate(std::move(statuses));
  return report;
}

std::string ocsp_status_json(const std::vector<GpuOcspStatus>& statuses) {
  std::string json;
  json::JsonWriter writer(json);
  writer.begin_array();
  for (const auto& s : statuses) {
    writer.begin_object();
    write_status(writer, "GPU", s.gpu);
    write_status(writer, "VBIOS", s.vbios);
    write_status(writer, "Driver", s.driver);
    writer.key("OCSPChecked").boolean(false).key("Note").string(kOcspNotChecked);
    writer.end_object();
  }
  writer.end_array();
  return json;
}

Result<std::vector<GpuOcspStatus>, Error> parse_ocsp_status_json(std::string_view json) {
  const auto bad = [](std::string what) {
    return Error(errc::bad_configuration, "OCSP status: " + std::move(what));
  };
  simdjson::dom::parser parser;
  simdjson::dom::array gpus;
  if (parser.parse(json.data(), json.size()).get(gpus) != simdjson::SUCCESS) {
    return bad("expected a JSON array of {\"GPU\",\"VBIOS\",\"Driver\"} objects");
  }
  std::vector<GpuOcspStatus> out;
  for (simdjson::dom::element gpu : gpus) {
    GpuOcspStatus status;
    const std::pair<const char*, protocol::OcspStatus*> parts[] = {
        {"GPU", &status.gpu}, {"VBIOS", &status.vbios}, {"Driver", &status.driver}};
    for (const auto& [name, target] : parts) {
      std::string_view value;
      if (gpu[name]["Value"].get(value) != simdjson::SUCCESS) {
        return bad(std::string("[") + std::to_string(out.size()) + "]." + name + ".Value missing");
      }
      if (value == "GOOD") {
        target->value = protocol::OcspStatus::Value::good;
      } else if (value == "UNKNOWN") {
        target->value = protocol::OcspStatus::Value::unknown;
      } else if (value == "REVOKED") {
        target->value = protocol::OcspStatus::Value::revoked;
        std::int64_t at = 0;
        if (gpu[name]["RevokedAt"].get(at) != simdjson::SUCCESS) {
          return bad(std::string(name) + ": REVOKED without RevokedAt");
        }
        target->revoked_at = std::chrono::system_clock::time_point(std::chrono::seconds(at));
      } else {
        return bad(std::string(name) + ": unknown status \"" + std::string(value) + "\"");
      }
    }
    out.push_back(status);
  }
  return out;
}

}  // namespace cipherline::backend
