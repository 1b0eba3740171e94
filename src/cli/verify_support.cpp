#include "verify_support.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "cipherline/attest/contrast/manifest.hpp"
#include "cipherline/attest/snp/reference_values.hpp"
#include "cipherline/client/rfc3339.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::cli {
namespace {

UsageError file_error(std::string_view flag, const std::string& path, const std::string& why) {
  return UsageError("--" + std::string(flag) + " " + path + ": " + why);
}

}  // namespace

std::vector<std::byte> read_file_flag(const Flags& flags, std::string_view name) {
  const std::string& path = flags.text(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) throw file_error(name, path, std::strerror(errno));
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), {});
  if (in.bad()) throw file_error(name, path, "read failed");
  const auto b = std::as_bytes(std::span(chars.data(), chars.size()));
  return {b.begin(), b.end()};
}

std::string read_text_flag(const Flags& flags, std::string_view name) {
  const auto bytes = read_file_flag(flags, name);
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::optional<std::string> read_optional_file_in(const Flags& flags, std::string_view name,
                                                 std::string_view file) {
  const std::string path = flags.text(name) + "/" + std::string(file);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    throw file_error(name, path, std::strerror(errno));
  }
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::string read_file_in(const Flags& flags, std::string_view name, std::string_view file) {
  auto text = read_optional_file_in(flags, name, file);
  if (!text) {
    throw file_error(name, flags.text(name) + "/" + std::string(file), std::strerror(ENOENT));
  }
  return std::move(*text);
}

attest::tdx::CollateralDocuments read_tdx_collateral(const Flags& flags, std::string_view name) {
  std::vector<attest::EvidenceFile> files;
  for (const char* file : attest::tdx::kCollateralFileNames) {
    if (auto text = read_optional_file_in(flags, name, file)) {
      const auto b = std::as_bytes(std::span(text->data(), text->size()));
      files.push_back({file, {b.begin(), b.end()}});
    }
  }
  auto documents = attest::tdx::collateral_from_files(files);
  if (!documents) throw file_error(name, flags.text(name), documents.error().message());
  return std::move(*documents);
}

void read_trust_flags(const Flags& flags, client::SessionOptions& session) {
  if (flags.is_set("tdx-collateral")) {
    session.tdx_collateral = read_tdx_collateral(flags, "tdx-collateral");
  }
  session.tdx_allow_missing_crls = flags.is_set("tdx-allow-missing-crl");
  session.amd_revocation.require_crl = flags.is_set("require-amd-crl");
  session.amd_revocation.fail_open = flags.is_set("amd-crl-fail-open");
}

void add_record_flags(Flags& flags, const char* workspace) {
  flags.option("workspace", "DIR", "manifest log and capture directory", workspace)
      .option("capture-dir", "DIR",
              "record every attestation here (evidence, collateral, report; see `verify "
              "capture`)",
              "the workspace")
      .toggle("no-capture", "keep the manifest log only, no captures")
      .option("capture-keep", "N", "captures kept; older ones are pruned from disk", "1000")
      .option("capture-keep-bytes", "SIZE",
              "disk the captures may use (16K, 512M, 1G); rejected ones are pruned first", "1G")
      .toggle("attest-every-request",
              "attest and exchange a fresh key before every request (slower, freshest)");
}

void read_record_flags(const Flags& flags, client::SessionOptions& session) {
  session.workspace = flags.text("workspace");
  if (flags.is_set("capture-dir")) session.workspace = flags.text("capture-dir");
  if (session.workspace == "none") session.workspace.clear();
  session.capture = !flags.is_set("no-capture");
  session.capture_keep = flags.unsigned_integer("capture-keep", 1, 100'000'000);
  session.capture_keep_bytes =
      flags.byte_size("capture-keep-bytes", 1, std::numeric_limits<std::uint64_t>::max());
  session.attest_every_request = flags.is_set("attest-every-request");
}

attest::VerificationReport check_snp(const SnpInputs& in) {
  attest::VerificationReport result = attest::snp::verify_report(
      in.report, in.vcek, in.chain, in.at, nullptr, {.crl = in.crl, .policy = in.policy});
  std::optional<attest::snp::ReferenceValues> reference;
  if (in.reference_json) {
    reference =
        parse_or_usage(attest::contrast::parse_snp_reference_entry(*in.reference_json)).values;
  }
  if (in.report_data) {
    if (!reference) {
      result.check_equal("report data", crypto::to_hex(*in.report_data),
                         crypto::to_hex(in.report.report_data));
    } else {
      reference->report_data.emplace();
      std::copy_n(in.report_data->begin(), 64, reference->report_data->begin());
    }
  }
  if (reference) attest::snp::check_reference_values(in.report, *reference, result);
  return result;
}

void record_capture(const Flags& flags, const client::Capture& capture) {
  client::AttestationLog log(flags.text("capture-dir"),
                             {.capture = true,
                              .keep = std::numeric_limits<std::size_t>::max(),
                              .keep_bytes = std::numeric_limits<std::uint64_t>::max()});
  auto id = log.record(capture);
  if (!id) throw UsageError("--capture-dir: " + id.error().message());
  std::fprintf(stderr, "captured as %s in %s\n", id->c_str(), flags.text("capture-dir").c_str());
}

std::vector<std::byte> read_evidence(const Flags& flags, std::string_view name) {
  auto bytes = read_file_flag(flags, name);
  std::string digits;
  for (std::byte b : bytes) {
    const auto c = static_cast<char>(b);
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) return bytes;  // binary
    digits += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (digits.empty()) return bytes;
  auto decoded = crypto::from_hex(digits);
  if (!decoded) throw file_error(name, flags.text(name), decoded.error().message());
  return std::move(*decoded);
}

crypto::Certificate certificate_flag(const Flags& flags, std::string_view name) {
  const auto bytes = read_file_flag(flags, name);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  auto cert = text.find("-----BEGIN CERTIFICATE-----") != std::string_view::npos
                  ? crypto::Certificate::from_pem(text)
                  : crypto::Certificate::from_der(bytes);
  if (!cert) throw file_error(name, flags.text(name), cert.error().message());
  return *cert;
}

std::vector<crypto::Certificate> certificates_flag(const Flags& flags, std::string_view name) {
  auto certs = crypto::Certificate::all_from_pem(read_text_flag(flags, name));
  if (!certs) throw file_error(name, flags.text(name), certs.error().message());
  return std::move(*certs);
}

std::chrono::system_clock::time_point time_flag(const Flags& flags, std::string_view name) {
  if (!flags.is_set(name)) return std::chrono::system_clock::now();
  const std::string_view s = flags.text(name);
  const auto t = client::parse_rfc3339(s);
  if (!t) {
    throw UsageError("--" + std::string(name) + " expects an RFC 3339 time like " +
                     "2024-06-01T12:00:00Z, got '" + std::string(s) + "'");
  }
  return *t;
}

attest::snp::TrustedChain development_chain(const Flags& flags, std::string_view name) {
  const std::string path = flags.text(name) + "/" + std::string(kDevSnpChainFile);
  const std::string text = read_file_in(flags, name, kDevSnpChainFile);
  auto certs = crypto::Certificate::all_from_pem(text);
  if (!certs || certs->size() != 2) {
    throw file_error(name, path, "expected two certificates (ASK, then ARK)");
  }
  return {ark_product((*certs)[1]), (*certs)[0], (*certs)[1], true};
}

attest::snp::Product ark_product(const crypto::Certificate& ark) {
  const std::string subject = ark.subject();
  const auto at = subject.find("CN=ARK-");
  if (at == std::string::npos) return attest::snp::Product::unknown;
  return attest::snp::product_from_name(subject.substr(at + 7, 5));
}

std::string unwrap_privatemode_document(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(json).get(root) != simdjson::SUCCESS) return json;
  std::string_view wrapped;
  if (root["AttestationDoc"].get(wrapped) != simdjson::SUCCESS) return json;
  auto bytes = crypto::from_base64(wrapped);
  if (!bytes) throw UsageError("AttestationDoc is not base64: " + bytes.error().message());
  return std::string(reinterpret_cast<const char*>(bytes->data()), bytes->size());
}

}  // namespace cipherline::cli
