#include "cipherline/attest/nvgpu/verify.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/hex.hpp"
#include "nvidia_root.hpp"

namespace cipherline::attest::nvgpu {
namespace {

std::string hex(std::span<const std::byte> bytes) { return crypto::to_hex(bytes); }

std::string upper(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

Error reference_error(const std::string& path, const std::string& why) {
  return Error(errc::malformed_evidence, "GPU reference measurements: " + path + ": " + why);
}

// allow_list records a check that `actual` is one of `allowed`.
void allow_list(VerificationReport& r, std::string name, const std::vector<std::string>& allowed,
                const std::string& actual, bool ignore_case) {
  const auto same = [&](const std::string& candidate) {
    return ignore_case ? upper(candidate) == upper(actual) : candidate == actual;
  };
  const bool listed = !actual.empty() && std::any_of(allowed.begin(), allowed.end(), same);
  r.check(std::move(name), "one of " + joined(allowed), actual.empty() ? "absent" : actual, listed);
}

}  // namespace

std::string_view nvidia_root_fingerprint() noexcept {
  return "102bf659d5419614c9d8e6aecebc80454eb26b1df6a769ac720b9a690b167b48";
}

const TrustedGpuRoot& nvidia_root() {
  static const TrustedGpuRoot root{
      crypto::Certificate::from_pem(internal::kNvidiaDeviceIdentityCaPem).value(), false};
  return root;
}

Result<std::vector<ReferenceMeasurement>, Error> parse_reference_measurements(
    std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::array entries;
  if (auto err = parser.parse(json.data(), json.size()).get(entries); err) {
    return reference_error("document", err == simdjson::INCORRECT_TYPE
                                           ? std::string("not a JSON list")
                                           : std::string(simdjson::error_message(err)));
  }
  std::vector<ReferenceMeasurement> out;
  std::size_t position = 0;
  for (simdjson::dom::element entry : entries) {
    const std::string path = "[" + std::to_string(position++) + "]";
    simdjson::dom::object fields;
    if (entry.get(fields) != simdjson::SUCCESS) return reference_error(path, "not an object");

    std::uint64_t index = 0;
    if (auto err = fields["index"].get(index); err) {
      return reference_error(path + ".index", err == simdjson::NO_SUCH_FIELD
                                                  ? "missing"
                                                  : "not a non-negative integer");
    }
    if (index < 1 || index > 254) {
      return reference_error(path + ".index",
                             std::to_string(index) + " is not an SPDM block index (1-254)");
    }
    const bool repeated = std::any_of(
        out.begin(), out.end(), [&](const ReferenceMeasurement& m) { return m.index == index; });
    if (repeated) return reference_error(path + ".index", std::to_string(index) + " appears twice");

    simdjson::dom::array values;
    if (auto err = fields["values"].get(values); err) {
      return reference_error(path + ".values",
                             err == simdjson::NO_SUCH_FIELD ? "missing" : "not a list");
    }
    ReferenceMeasurement m;
    m.index = static_cast<std::uint8_t>(index);
    std::size_t i = 0;
    for (simdjson::dom::element value : values) {
      const std::string value_path = path + ".values[" + std::to_string(i++) + "]";
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) return reference_error(value_path, "not a string");
      if (text.empty()) return reference_error(value_path, "empty");
      auto bytes = crypto::from_hex(text);
      if (!bytes) return reference_error(value_path, "not hex (" + bytes.error().message() + ")");
      m.allowed.push_back(std::move(*bytes));
    }
    if (m.allowed.empty()) return reference_error(path + ".values", "no allowed value");
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(),
            [](const ReferenceMeasurement& a, const ReferenceMeasurement& b) {
              return a.index < b.index;
            });
  return out;
}

VerificationReport verify_report(const AttestationReport& report,
                                 std::span<const crypto::Certificate> certificates,
                                 const TrustedGpuRoot& root,
                                 std::span<const std::byte> expected_nonce,
                                 const ReferenceValues& reference,
                                 std::chrono::system_clock::time_point at) {
  VerificationReport r("NVIDIA GPU attestation report");

  // Claims first: they describe the evidence whatever the checks say.
  const std::uint8_t version = report.request.version;
  r.claim("SPDM version", std::to_string(version >> 4) + "." + std::to_string(version & 0x0F));
  if (!report.driver_version.empty()) r.claim("driver version", report.driver_version);
  if (!report.vbios_version.empty()) r.claim("VBIOS version", report.vbios_version);
  if (!report.project.empty()) r.claim("project", report.project);
  if (!report.project_sku.empty()) r.claim("project SKU", report.project_sku);
  if (!report.chip_sku.empty()) r.claim("chip SKU", report.chip_sku);
  r.claim("nonce", hex(report.request.nonce));
  for (const MeasurementBlock& b : report.response.blocks) {
    r.claim("measurement " + std::to_string(b.index), hex(b.value));
  }
  if (!certificates.empty()) r.claim("leaf subject", certificates.front().subject());

  const std::string root_fingerprint = hex(root.certificate.fingerprint_sha256());
  if (root.development) {
    r.check("root", "a development root (explicitly trusted)", root_fingerprint, true);
  } else {
    r.check_equal("root", std::string(nvidia_root_fingerprint()), root_fingerprint);
  }

  if (certificates.empty()) {
    r.check("certificate chain", "GPU leaf <- intermediates <- root", "no certificates given",
            false);
    r.check("leaf key", "ECDSA P-384", "no leaf certificate", false);
    r.check("report signature", "valid under the leaf key", "no leaf certificate", false);
  } else {
    const crypto::Certificate& leaf = certificates.front();
    auto intermediates = certificates.subspan(1);
    if (!intermediates.empty() && intermediates.back().subject() == intermediates.back().issuer()) {
      intermediates = intermediates.first(intermediates.size() - 1);
    }
    const crypto::Certificate roots[] = {root.certificate};
    auto chained = crypto::verify_chain(leaf, intermediates, roots, at);
    r.check("certificate chain", "GPU leaf <- intermediates <- root",
            chained ? "verified" : chained.error().message(), chained.has_value());

    const auto key = leaf.public_key();
    const bool p384 = key && key->type() == crypto::PublicKey::Type::ec_p384;
    r.check("leaf key", "ECDSA P-384",
            !key   ? key.error().message()
            : p384 ? "ECDSA P-384"
                   : key->description(),
            p384);
    auto signature =
        p384 ? crypto::verify_ecdsa(*key, crypto::Hash::sha384, report.signed_bytes(),
                                    report.response.signature, crypto::SignatureFormat::raw)
             : Result<void, Error>(
                   Error(errc::unsupported_evidence, "the leaf key is not ECDSA P-384"));
    r.check("report signature", "valid under the leaf key",
            signature ? "valid" : signature.error().message(), signature.has_value());
  }

  if (expected_nonce.empty()) {
    r.check("nonce", "the verifier's nonce",
            "not checked: no nonce given, so freshness is not established", false);
  } else {
    r.check_equal("nonce", hex(expected_nonce), hex(report.request.nonce));
  }

  if (!reference.driver_versions.empty()) {
    allow_list(r, "driver version", reference.driver_versions, report.driver_version, false);
  }
  if (!reference.vbios_versions.empty()) {
    allow_list(r, "VBIOS version", reference.vbios_versions, report.vbios_version, true);
  }
  for (const ReferenceMeasurement& m : reference.measurements) {
    std::vector<std::string> allowed;
    for (const auto& value : m.allowed) allowed.push_back(hex(value));
    const MeasurementBlock* block = report.block(m.index);
    const bool matches =
        block != nullptr && std::any_of(m.allowed.begin(), m.allowed.end(),
                                        [&](const auto& value) { return value == block->value; });
    r.check("measurement " + std::to_string(m.index), "one of " + joined(allowed),
            block != nullptr ? hex(block->value) : "no block " + std::to_string(m.index), matches);
  }
  return r;
}

}  // namespace cipherline::attest::nvgpu
