#include "verify_support.hpp"

#include <simdjson.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::cli {
namespace {

UsageError file_error(std::string_view flag, const std::string& path, const std::string& why) {
  return UsageError("--" + std::string(flag) + " " + path + ": " + why);
}

int two_digits(std::string_view s, std::size_t at) {
  if (at + 2 > s.size() || !std::isdigit(static_cast<unsigned char>(s[at])) ||
      !std::isdigit(static_cast<unsigned char>(s[at + 1]))) {
    return -1;
  }
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
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
  const auto bytes = [](const std::optional<std::string>& text) {
    std::optional<std::vector<std::byte>> out;
    if (text) {
      const auto b = std::as_bytes(std::span(text->data(), text->size()));
      out.emplace(b.begin(), b.end());
    }
    return out;
  };
  return {read_file_in(flags, name, "tcb_info.json"), read_file_in(flags, name, "qe_identity.json"),
          read_optional_file_in(flags, name, "tcb_signing.pem").value_or(""),
          bytes(read_optional_file_in(flags, name, "pck_crl.der")),
          bytes(read_optional_file_in(flags, name, "root_crl.der"))};
}

void read_trust_flags(const Flags& flags, client::SessionOptions& session) {
  if (flags.is_set("tdx-collateral")) {
    session.tdx_collateral = read_tdx_collateral(flags, "tdx-collateral");
  }
  session.tdx_allow_missing_crls = flags.is_set("tdx-allow-missing-crl");
  session.amd_revocation.require_crl = flags.is_set("require-amd-crl");
  session.amd_revocation.fail_open = flags.is_set("amd-crl-fail-open");
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
  using namespace std::chrono;
  if (!flags.is_set(name)) return system_clock::now();
  const std::string_view s = flags.text(name);
  const auto bad = [&] {
    return UsageError("--" + std::string(name) + " expects an RFC 3339 time like " +
                      "2024-06-01T12:00:00Z, got '" + std::string(s) + "'");
  };
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') throw bad();
  const int year_value = two_digits(s, 0) * 100 + two_digits(s, 2);
  const int month_value = two_digits(s, 5);
  const int day_value = two_digits(s, 8);
  if (two_digits(s, 0) < 0 || two_digits(s, 2) < 0 || month_value < 0 || day_value < 0) throw bad();
  const year_month_day date{year{year_value}, month{static_cast<unsigned>(month_value)},
                            day{static_cast<unsigned>(day_value)}};
  if (!date.ok()) throw bad();
  auto t = sys_days(date) + seconds{0};
  if (s.size() == 10) return t;
  if (s.size() < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
      s[16] != ':') {
    throw bad();
  }
  const int h = two_digits(s, 11), m = two_digits(s, 14), sec = two_digits(s, 17);
  if (h < 0 || h > 23 || m < 0 || m > 59 || sec < 0 || sec > 60) throw bad();
  t += hours{h} + minutes{m} + seconds{sec};
  std::size_t at = 19;
  if (at < s.size() && s[at] == '.') {  // fractional seconds: ignored
    ++at;
    while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at]))) ++at;
  }
  const std::string_view zone = s.substr(at);
  if (zone == "Z" || zone == "z") return t;
  if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') throw bad();
  const int zh = two_digits(zone, 1), zm = two_digits(zone, 4);
  if (zh < 0 || zh > 23 || zm < 0 || zm > 59) throw bad();
  const auto offset = hours{zh} + minutes{zm};
  return zone[0] == '+' ? t - offset : t + offset;
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
