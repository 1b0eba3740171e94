#include "cipherline/attest/tdx/collateral.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstdio>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/crl.hpp"
#include "cipherline/crypto/hex.hpp"

namespace cipherline::attest::tdx {
namespace {

using namespace std::chrono;

std::string hex(std::span<const std::byte> bytes) { return crypto::to_hex(bytes); }

std::string hex32(std::uint32_t v) {
  char out[11];
  std::snprintf(out, sizeof out, "0x%08x", v);
  return out;
}

// PCS timestamps: "2023-06-18T08:42:58Z", UTC, whole seconds. Years are
// kept to 1970-2200 so that every accepted time fits system_clock.
std::optional<TimePoint> parse_time(std::string_view s) {
  if (s.size() != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':' || s[19] != 'Z') {
    return std::nullopt;
  }
  const auto number = [s](std::size_t pos, std::size_t n) -> std::optional<int> {
    int v = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  const auto y = number(0, 4), mo = number(5, 2), d = number(8, 2);
  const auto h = number(11, 2), mi = number(14, 2), se = number(17, 2);
  if (!y || !mo || !d || !h || !mi || !se || *y < 1970 || *y > 2200 || *h > 23 || *mi > 59 ||
      *se > 59) {
    return std::nullopt;
  }
  const year_month_day date{year{*y}, month{static_cast<unsigned>(*mo)},
                            day{static_cast<unsigned>(*d)}};
  if (!date.ok()) return std::nullopt;
  return sys_days{date} + hours{*h} + minutes{*mi} + seconds{*se};
}

std::string format_time(TimePoint t) {
  const auto midnight = floor<days>(t);
  const year_month_day date{midnight};
  const hh_mm_ss time{floor<seconds>(t - midnight)};
  char out[32];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(date.year()),
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  return out;
}

// JsonObject reads the fields of a DOM object, naming the document and the
// JSON path of the field in every error.
class JsonObject {
 public:
  JsonObject(simdjson::dom::object object, std::string path, std::string_view document)
      : object_(object), path_(std::move(path)), document_(document) {}

  std::string path(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  Error error(std::string_view key, const std::string& why,
              errc code = errc::malformed_evidence) const {
    return Error(code, std::string(document_) + ": " + path(key) + ": " + why);
  }

  bool has(std::string_view key) const { return object_[key].error() == simdjson::SUCCESS; }

  Result<std::string_view, Error> string(std::string_view key) const {
    std::string_view v;
    if (object_[key].get_string().get(v) != simdjson::SUCCESS) {
      return error(key, "missing or not a string");
    }
    return v;
  }

  Result<std::uint64_t, Error> number(std::string_view key, std::uint64_t max) const {
    std::uint64_t v = 0;
    if (object_[key].get_uint64().get(v) != simdjson::SUCCESS) {
      return error(key, "missing or not an unsigned integer");
    }
    if (v > max) return error(key, std::to_string(v) + " exceeds " + std::to_string(max));
    return v;
  }

  Result<JsonObject, Error> object(std::string_view key) const {
    simdjson::dom::object v;
    if (object_[key].get_object().get(v) != simdjson::SUCCESS) {
      return error(key, "missing or not an object");
    }
    return JsonObject(v, path(key), document_);
  }

  // objects reads an array of objects; `size` (when not 0) is the exact
  // number of elements required, else at least one is.
  Result<std::vector<JsonObject>, Error> objects(std::string_view key, std::size_t size = 0) const {
    simdjson::dom::array array;
    if (object_[key].get_array().get(array) != simdjson::SUCCESS) {
      return error(key, "missing or not an array");
    }
    std::vector<JsonObject> out;
    for (simdjson::dom::element e : array) {
      const std::string where = path(key) + "[" + std::to_string(out.size()) + "]";
      simdjson::dom::object o;
      if (e.get_object().get(o) != simdjson::SUCCESS) {
        return Error(errc::malformed_evidence,
                     std::string(document_) + ": " + where + ": not an object");
      }
      out.emplace_back(o, where, document_);
    }
    if (size != 0 && out.size() != size) {
      return error(key, std::to_string(out.size()) + " elements, expected " + std::to_string(size));
    }
    if (out.empty()) return error(key, "is empty");
    return out;
  }

  // strings reads an optional array of strings.
  Result<std::vector<std::string>, Error> strings(std::string_view key) const {
    std::vector<std::string> out;
    if (!has(key)) return out;
    simdjson::dom::array array;
    if (object_[key].get_array().get(array) != simdjson::SUCCESS) {
      return error(key, "not an array");
    }
    for (simdjson::dom::element e : array) {
      std::string_view s;
      if (e.get_string().get(s) != simdjson::SUCCESS) return error(key, "holds a non-string");
      out.emplace_back(s);
    }
    return out;
  }

  template <std::size_t N>
  Result<void, Error> hex_bytes(std::string_view key, std::array<std::byte, N>& out) const {
    auto text = string(key);
    if (!text) return text.error();
    if (text->size() != 2 * N || !crypto::hex_decode(*text, out)) {
      return error(key, "expected " + std::to_string(2 * N) + " hex digits");
    }
    return {};
  }

  // hex_word reads 8 hex digits as a number (MISCSELECT and its mask).
  Result<std::uint32_t, Error> hex_word(std::string_view key) const {
    std::array<std::byte, 4> bytes{};
    if (auto r = hex_bytes(key, bytes); !r) return r.error();
    std::uint32_t v = 0;
    for (std::byte b : bytes) v = (v << 8) | std::to_integer<std::uint32_t>(b);
    return v;
  }

  Result<TimePoint, Error> time(std::string_view key) const {
    auto text = string(key);
    if (!text) return text.error();
    const auto t = parse_time(*text);
    if (!t) {
      return error(key, "\"" + std::string(*text) + "\" is not YYYY-MM-DDThh:mm:ssZ (1970-2200)");
    }
    return *t;
  }

  Result<TcbStatus, Error> status(std::string_view key) const {
    auto text = string(key);
    if (!text) return text.error();
    const auto s = tcb_status_from_name(*text);
    if (!s) return error(key, "unknown TCB status \"" + std::string(*text) + "\"");
    return *s;
  }

 private:
  simdjson::dom::object object_;
  std::string path_;
  std::string_view document_;
};

// raw_value returns the exact text of the object under `key` at the top of
// `response`, as the signer saw it.
std::optional<std::string> raw_value(std::string_view response, std::string_view key) {
  simdjson::padded_string padded(response);
  simdjson::ondemand::parser parser;
  simdjson::ondemand::document doc;
  simdjson::ondemand::object top;
  if (parser.iterate(padded).get(doc) != simdjson::SUCCESS ||
      doc.get_object().get(top) != simdjson::SUCCESS) {
    return std::nullopt;
  }
  for (auto field : top) {
    std::string_view name;
    if (field.unescaped_key().get(name) != simdjson::SUCCESS) return std::nullopt;
    if (name != key) continue;
    simdjson::ondemand::object value;
    std::string_view raw;
    if (field.value().get_object().get(value) != simdjson::SUCCESS ||
        value.raw_json().get(raw) != simdjson::SUCCESS) {
      return std::nullopt;
    }
    // The view ends where the next token starts; drop the whitespace before it.
    while (!raw.empty() &&
           (raw.back() == ' ' || raw.back() == '\t' || raw.back() == '\n' || raw.back() == '\r')) {
      raw.remove_suffix(1);
    }
    return std::string(raw);
  }
  return std::nullopt;
}

// SignedDocument is a parsed PCS response: the signed object's exact text,
// its signature, and the object itself, parsed from that same text.
struct SignedDocument {
  std::string body;
  std::array<std::byte, 64> signature{};
  simdjson::dom::parser parser;  // owns the memory `value` refers to
  simdjson::dom::object value;
};

Result<void, Error> parse_signed(std::string_view response, std::string_view key,
                                 std::string_view what, SignedDocument& out) {
  const auto fail = [what](const std::string& why) {
    return Error(errc::malformed_evidence, std::string(what) + ": " + why);
  };
  // A full parse first: the response must be one valid JSON object with one
  // "signature" and one signed value.
  {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    simdjson::dom::object top;
    if (const auto e = parser.parse(response.data(), response.size()).get(root); e) {
      return fail(std::string("not JSON (") + simdjson::error_message(e) + ")");
    }
    if (root.get_object().get(top) != simdjson::SUCCESS) return fail("not a JSON object");
    int values = 0;
    int signatures = 0;
    for (auto [name, value] : top) {
      if (name == key) ++values;
      if (name == "signature") ++signatures;
    }
    if (values != 1) return fail(std::string(key) + ": missing or repeated");
    if (signatures != 1) return fail("signature: missing or repeated");
    std::string_view signature;
    if (top["signature"].get_string().get(signature) != simdjson::SUCCESS ||
        signature.size() != 128 || !crypto::hex_decode(signature, out.signature)) {
      return fail("signature: expected 128 hex digits (r ‖ s)");
    }
  }
  auto raw = raw_value(response, key);
  if (!raw) return fail(std::string(key) + ": not an object");
  out.body = std::move(*raw);
  simdjson::dom::element body;
  if (out.parser.parse(out.body).get(body) != simdjson::SUCCESS ||
      body.get_object().get(out.value) != simdjson::SUCCESS) {
    return fail(std::string(key) + ": not an object");
  }
  return {};
}

Result<IsvTcbLevel, Error> parse_isv_level(const JsonObject& level) {
  IsvTcbLevel out;
  auto tcb = level.object("tcb");
  if (!tcb) return tcb.error();
  auto isvsvn = tcb->number("isvsvn", 0xFFFF);
  auto date = level.time("tcbDate");
  auto status = level.status("tcbStatus");
  auto advisories = level.strings("advisoryIDs");
  if (!isvsvn) return isvsvn.error();
  if (!date) return date.error();
  if (!status) return status.error();
  if (!advisories) return advisories.error();
  out.isvsvn = static_cast<std::uint16_t>(*isvsvn);
  out.tcb_date = *date;
  out.status = *status;
  out.advisory_ids = std::move(*advisories);
  return out;
}

Result<std::vector<IsvTcbLevel>, Error> parse_isv_levels(const JsonObject& parent) {
  auto levels = parent.objects("tcbLevels");
  if (!levels) return levels.error();
  std::vector<IsvTcbLevel> out;
  for (const JsonObject& level : *levels) {
    auto parsed = parse_isv_level(level);
    if (!parsed) return parsed.error();
    out.push_back(std::move(*parsed));
  }
  return out;
}

Result<TdxModuleIdentity, Error> parse_module(const JsonObject& m, bool with_levels) {
  TdxModuleIdentity out;
  if (with_levels) {
    auto id = m.string("id");
    if (!id) return id.error();
    out.id = std::string(*id);
  }
  if (auto r = m.hex_bytes("mrsigner", out.mrsigner); !r) return r.error();
  if (auto r = m.hex_bytes("attributes", out.attributes); !r) return r.error();
  if (auto r = m.hex_bytes("attributesMask", out.attributes_mask); !r) return r.error();
  if (with_levels) {
    auto levels = parse_isv_levels(m);
    if (!levels) return levels.error();
    out.levels = std::move(*levels);
  }
  return out;
}

Result<std::array<std::uint8_t, 16>, Error> parse_components(const JsonObject& tcb,
                                                             std::string_view key) {
  auto components = tcb.objects(key, 16);
  if (!components) return components.error();
  std::array<std::uint8_t, 16> out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    auto svn = (*components)[i].number("svn", 255);
    if (!svn) return svn.error();
    out[i] = static_cast<std::uint8_t>(*svn);
  }
  return out;
}

Result<TcbLevel, Error> parse_tcb_level(const JsonObject& level) {
  TcbLevel out;
  auto tcb = level.object("tcb");
  if (!tcb) return tcb.error();
  auto sgx = parse_components(*tcb, "sgxtcbcomponents");
  if (!sgx) return sgx.error();
  auto pcesvn = tcb->number("pcesvn", 0xFFFF);
  if (!pcesvn) return pcesvn.error();
  auto tdx = parse_components(*tcb, "tdxtcbcomponents");
  if (!tdx) return tdx.error();
  auto date = level.time("tcbDate");
  if (!date) return date.error();
  auto status = level.status("tcbStatus");
  if (!status) return status.error();
  auto advisories = level.strings("advisoryIDs");
  if (!advisories) return advisories.error();
  out.sgx_components = *sgx;
  out.pcesvn = static_cast<std::uint16_t>(*pcesvn);
  out.tdx_components = *tdx;
  out.tcb_date = *date;
  out.status = *status;
  out.advisory_ids = std::move(*advisories);
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view separator) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : std::string(separator)) + p;
  return out;
}

std::string components_text(std::span<const std::uint8_t> svns) {
  std::vector<std::string> parts;
  for (std::uint8_t v : svns) parts.push_back(std::to_string(v));
  return join(parts, " ");
}

template <std::size_t N>
std::array<std::byte, N> masked(const std::array<std::byte, N>& value,
                                const std::array<std::byte, N>& mask) {
  std::array<std::byte, N> out{};
  for (std::size_t i = 0; i < N; ++i) out[i] = value[i] & mask[i];
  return out;
}

bool same_id(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

constexpr std::string_view kTcbSigningName = "Intel SGX TCB Signing";

// has_common_name: one RDN of an RFC 2253 subject is exactly CN=`name`.
bool has_common_name(std::string_view subject, std::string_view name) {
  const std::string rdn = "CN=" + std::string(name);
  for (std::size_t at = subject.find(rdn); at != std::string_view::npos;
       at = subject.find(rdn, at + 1)) {
    const std::size_t end = at + rdn.size();
    if ((at == 0 || subject[at - 1] == ',') && (end == subject.size() || subject[end] == ',')) {
      return true;
    }
  }
  return false;
}

void check_fresh(VerificationReport& report, std::string name, TimePoint issued, TimePoint next,
                 TimePoint now) {
  report.check(std::move(name), format_time(issued) + " <= now < " + format_time(next),
               "now " + format_time(now), issued <= now && now < next);
}

void add_advisories(std::vector<std::string>& all, const std::vector<std::string>& more) {
  for (const std::string& a : more) {
    if (std::find(all.begin(), all.end(), a) == all.end()) all.push_back(a);
  }
}

std::string common_name(std::string_view subject) {
  const auto at = subject.find("CN=");
  if (at == std::string_view::npos) return std::string(subject);
  const auto end = subject.find(',', at);
  return std::string(subject.substr(at + 3, end == std::string_view::npos ? end : end - at - 3));
}

// check_crl records the check `name` for a CRL that `issuer` must have
// signed and that must be current at `now`; returns the CRL only when the
// check passed (a CRL that is not the issuer's says nothing).
std::optional<crypto::Crl> check_crl(VerificationReport& report, const std::string& name,
                                     const std::optional<std::vector<std::byte>>& bytes,
                                     const crypto::Certificate* issuer,
                                     const CollateralPolicy& policy, TimePoint now) {
  const std::string expected = "signed by " +
                               (issuer != nullptr ? common_name(issuer->subject()) : "its issuer") +
                               ", current";
  if (!bytes) {
    if (policy.allow_missing_crls) {
      report.claim(name, "not checked: none given (allowed by policy)");
    } else {
      report.check(name, expected, "none given: revocation cannot be checked", false);
    }
    return std::nullopt;
  }
  auto crl = crypto::Crl::parse(*bytes);
  if (!crl) {
    report.check(name, expected, crl.error().message(), false);
    return std::nullopt;
  }
  if (issuer == nullptr) {
    report.check(name, expected, "no issuer certificate to verify it with", false);
    return std::nullopt;
  }
  auto verified = crl->verify(*issuer, now);
  if (!report.check(name, expected,
                    verified ? "signed, current until " + format_time(*crl->next_update())
                             : verified.error().message(),
                    verified.has_value())) {
    return std::nullopt;
  }
  return std::move(*crl);
}

void check_not_listed(VerificationReport& report, const std::string& name, const crypto::Crl& crl,
                      const crypto::Certificate& certificate, const std::string& crl_name) {
  auto listed = crl.is_revoked(certificate);
  report.check(name, "not listed in the " + crl_name,
               !listed   ? listed.error().message()
               : *listed ? "revoked (" + common_name(certificate.subject()) + " is listed)"
                         : "not listed",
               listed && !*listed);
}

// The revocation part of check_collateral.
void check_revocation(VerificationReport& report, const Result<PckChain, Error>& chain,
                      const Collateral& collateral, const TrustedRoot& root,
                      const CollateralPolicy& policy, TimePoint now) {
  const auto root_crl =
      check_crl(report, "root CA CRL", collateral.root_crl, &root.certificate, policy, now);
  if (root_crl && chain) {
    for (const crypto::Certificate& ca : chain->intermediates) {
      check_not_listed(report, "PCK CA revocation", *root_crl, ca, "root CA CRL");
    }
  }
  if (root_crl && collateral.signing_certificate) {
    check_not_listed(report, "TCB signing certificate revocation", *root_crl,
                     *collateral.signing_certificate, "root CA CRL");
  }
  const crypto::Certificate* pck_ca = nullptr;
  if (chain) {
    for (const crypto::Certificate& ca : chain->intermediates) {
      if (ca.subject() == chain->leaf.issuer()) pck_ca = &ca;
    }
  }
  const auto pck_crl = check_crl(report, "PCK CRL", collateral.pck_crl, pck_ca, policy, now);
  if (pck_crl && chain)
    check_not_listed(report, "PCK revocation", *pck_crl, chain->leaf, "PCK CRL");
}

}  // namespace

std::string_view tcb_status_name(TcbStatus status) noexcept {
  switch (status) {
    case TcbStatus::up_to_date:
      return "UpToDate";
    case TcbStatus::sw_hardening_needed:
      return "SWHardeningNeeded";
    case TcbStatus::configuration_needed:
      return "ConfigurationNeeded";
    case TcbStatus::configuration_and_sw_hardening_needed:
      return "ConfigurationAndSWHardeningNeeded";
    case TcbStatus::out_of_date:
      return "OutOfDate";
    case TcbStatus::out_of_date_configuration_needed:
      return "OutOfDateConfigurationNeeded";
    case TcbStatus::revoked:
      return "Revoked";
  }
  return "unknown";
}

std::optional<TcbStatus> tcb_status_from_name(std::string_view name) noexcept {
  for (TcbStatus s :
       {TcbStatus::up_to_date, TcbStatus::sw_hardening_needed, TcbStatus::configuration_needed,
        TcbStatus::configuration_and_sw_hardening_needed, TcbStatus::out_of_date,
        TcbStatus::out_of_date_configuration_needed, TcbStatus::revoked}) {
    if (tcb_status_name(s) == name) return s;
  }
  return std::nullopt;
}

TcbStatus converge_tcb_status(TcbStatus platform, TcbStatus component) noexcept {
  if (component == TcbStatus::revoked) return TcbStatus::revoked;
  if (component == TcbStatus::out_of_date) {
    switch (platform) {
      case TcbStatus::up_to_date:
      case TcbStatus::sw_hardening_needed:
        return TcbStatus::out_of_date;
      case TcbStatus::configuration_needed:
      case TcbStatus::configuration_and_sw_hardening_needed:
        return TcbStatus::out_of_date_configuration_needed;
      default:
        break;
    }
  }
  return platform;
}

Result<TcbInfo, Error> parse_tcb_info(std::string_view response) {
  constexpr std::string_view kWhat = "TCB info";
  SignedDocument doc;
  if (auto r = parse_signed(response, "tcbInfo", kWhat, doc); !r) return r.error();
  const JsonObject in(doc.value, "", kWhat);
  TcbInfo info;
  info.signed_body = std::move(doc.body);
  info.signature = doc.signature;

  auto id = in.string("id");
  if (!id) return id.error();
  if (*id != "TDX") {
    return in.error("id", "\"" + std::string(*id) + "\" is not \"TDX\"",
                    errc::unsupported_evidence);
  }
  info.id = std::string(*id);
  auto version = in.number("version", 1000);
  if (!version) return version.error();
  if (*version != 3) {
    return in.error("version", std::to_string(*version) + " is not supported (3)",
                    errc::unsupported_evidence);
  }
  info.version = static_cast<int>(*version);
  auto tcb_type = in.number("tcbType", 0xFFFF);
  if (!tcb_type) return tcb_type.error();
  if (*tcb_type != 0) {
    return in.error("tcbType", std::to_string(*tcb_type) + " is not supported (0)",
                    errc::unsupported_evidence);
  }
  auto issued = in.time("issueDate");
  if (!issued) return issued.error();
  auto next = in.time("nextUpdate");
  if (!next) return next.error();
  info.issue_date = *issued;
  info.next_update = *next;
  if (auto r = in.hex_bytes("fmspc", info.fmspc); !r) return r.error();
  if (auto r = in.hex_bytes("pceId", info.pce_id); !r) return r.error();
  auto evaluation = in.number("tcbEvaluationDataNumber", 0xFFFFFFFF);
  if (!evaluation) return evaluation.error();
  info.tcb_evaluation_data_number = static_cast<std::uint32_t>(*evaluation);

  auto module = in.object("tdxModule");
  if (!module) return module.error();
  auto tdx_module = parse_module(*module, false);
  if (!tdx_module) return tdx_module.error();
  info.tdx_module = std::move(*tdx_module);
  if (in.has("tdxModuleIdentities")) {
    auto identities = in.objects("tdxModuleIdentities");
    if (!identities) return identities.error();
    for (const JsonObject& m : *identities) {
      auto identity = parse_module(m, true);
      if (!identity) return identity.error();
      info.tdx_module_identities.push_back(std::move(*identity));
    }
  }

  auto levels = in.objects("tcbLevels");
  if (!levels) return levels.error();
  for (const JsonObject& level : *levels) {
    auto parsed = parse_tcb_level(level);
    if (!parsed) return parsed.error();
    info.levels.push_back(std::move(*parsed));
  }
  return info;
}

Result<QeIdentity, Error> parse_qe_identity(std::string_view response) {
  constexpr std::string_view kWhat = "QE identity";
  SignedDocument doc;
  if (auto r = parse_signed(response, "enclaveIdentity", kWhat, doc); !r) return r.error();
  const JsonObject in(doc.value, "", kWhat);
  QeIdentity qe;
  qe.signed_body = std::move(doc.body);
  qe.signature = doc.signature;

  auto id = in.string("id");
  if (!id) return id.error();
  if (*id != "TD_QE") {
    return in.error("id", "\"" + std::string(*id) + "\" is not \"TD_QE\"",
                    errc::unsupported_evidence);
  }
  qe.id = std::string(*id);
  auto version = in.number("version", 1000);
  if (!version) return version.error();
  if (*version != 2) {
    return in.error("version", std::to_string(*version) + " is not supported (2)",
                    errc::unsupported_evidence);
  }
  qe.version = static_cast<int>(*version);
  auto issued = in.time("issueDate");
  if (!issued) return issued.error();
  auto next = in.time("nextUpdate");
  if (!next) return next.error();
  qe.issue_date = *issued;
  qe.next_update = *next;
  auto evaluation = in.number("tcbEvaluationDataNumber", 0xFFFFFFFF);
  if (!evaluation) return evaluation.error();
  qe.tcb_evaluation_data_number = static_cast<std::uint32_t>(*evaluation);
  auto miscselect = in.hex_word("miscselect");
  if (!miscselect) return miscselect.error();
  auto miscselect_mask = in.hex_word("miscselectMask");
  if (!miscselect_mask) return miscselect_mask.error();
  qe.miscselect = *miscselect;
  qe.miscselect_mask = *miscselect_mask;
  if (auto r = in.hex_bytes("attributes", qe.attributes); !r) return r.error();
  if (auto r = in.hex_bytes("attributesMask", qe.attributes_mask); !r) return r.error();
  if (auto r = in.hex_bytes("mrsigner", qe.mrsigner); !r) return r.error();
  auto prod_id = in.number("isvprodid", 0xFFFF);
  if (!prod_id) return prod_id.error();
  qe.isvprodid = static_cast<std::uint16_t>(*prod_id);
  auto levels = parse_isv_levels(in);
  if (!levels) return levels.error();
  qe.levels = std::move(*levels);
  return qe;
}

TcbEvaluation evaluate_tcb(const TcbInfo& info, const PckExtensions& pck, const TdQuoteBody& body) {
  TcbEvaluation e;
  const auto svn = [&body](std::size_t i) {
    return std::to_integer<std::uint8_t>(body.tee_tcb_svn[i]);
  };
  // A non-zero major version means bytes 0 and 1 describe the TDX module,
  // which has levels of its own.
  const std::size_t first_tdx_component = svn(1) == 0 ? 0 : 2;
  for (const TcbLevel& level : info.levels) {
    bool meets = pck.pcesvn >= level.pcesvn;
    for (std::size_t i = 0; i < 16; ++i) {
      meets = meets && pck.sgx_tcb_components[i] >= level.sgx_components[i];
    }
    for (std::size_t i = first_tdx_component; i < 16; ++i) {
      meets = meets && svn(i) >= level.tdx_components[i];
    }
    if (meets) {
      e.level = &level;
      break;
    }
  }
  std::optional<TcbStatus> status;
  if (e.level != nullptr) status = e.level->status;
  if (svn(1) != 0) {
    e.module_consulted = true;
    char id[8];
    std::snprintf(id, sizeof id, "TDX_%02X", static_cast<unsigned>(svn(1)));
    e.module_id = id;
    for (const TdxModuleIdentity& m : info.tdx_module_identities) {
      if (same_id(m.id, e.module_id)) {
        e.module = &m;
        break;
      }
    }
    if (e.module != nullptr) {
      for (const IsvTcbLevel& level : e.module->levels) {
        if (level.isvsvn <= svn(0)) {
          e.module_level = &level;
          break;
        }
      }
    }
    status = status && e.module_level != nullptr
                 ? std::optional(converge_tcb_status(*status, e.module_level->status))
                 : std::nullopt;
  }
  e.status = status;
  return e;
}

const IsvTcbLevel* qe_tcb_level(const QeIdentity& identity, std::uint16_t isv_svn) {
  for (const IsvTcbLevel& level : identity.levels) {
    if (level.isvsvn <= isv_svn) return &level;
  }
  return nullptr;
}

void check_collateral(const Quote& quote, const Collateral& collateral, const TrustedRoot& root,
                      const CollateralPolicy& policy, TimePoint now, VerificationReport& report) {
  const TcbInfo& info = collateral.tcb_info;
  const QeIdentity& qe = collateral.qe_identity;
  const TdQuoteBody& body = quote.body;
  report.claim("TCB evaluation data number", std::to_string(info.tcb_evaluation_data_number));

  // Authenticity: the signed bytes exactly as served, under Intel's TCB
  // signing key. Any certificate under the root will not do: a PCK
  // certificate chains there too, and its key lives on the platform being
  // judged. So the signer must be the TCB signing certificate, issued by the
  // root itself.
  if (collateral.signing_certificate) {
    const crypto::Certificate& signer = *collateral.signing_certificate;
    const crypto::Certificate roots[] = {root.certificate};
    auto chained = crypto::verify_chain(signer, {}, roots, now);
    const bool named = has_common_name(signer.subject(), kTcbSigningName);
    report.check("TCB signing certificate",
                 "CN=" + std::string(kTcbSigningName) + ", issued by the trusted root",
                 !named    ? signer.subject()
                 : chained ? "verified"
                           : chained.error().message(),
                 named && chained.has_value());
    const auto key = signer.public_key();
    const auto signature_check = [&](std::string name, const std::string& signed_body,
                                     std::span<const std::byte> signature) {
      auto valid = key ? crypto::verify_ecdsa(*key, crypto::Hash::sha256,
                                              std::as_bytes(std::span(signed_body)), signature,
                                              crypto::SignatureFormat::raw)
                       : Result<void, Error>(key.error());
      report.check(std::move(name), "valid under the TCB signing certificate",
                   valid ? "valid" : valid.error().message(), valid.has_value());
    };
    signature_check("TCB info signature", info.signed_body, info.signature);
    signature_check("QE identity signature", qe.signed_body, qe.signature);
  } else if (policy.allow_unsigned_collateral) {
    report.claim("collateral signatures",
                 "not checked: no TCB signing certificate given (allowed by policy)");
  } else {
    report.check("TCB signing certificate",
                 "CN=" + std::string(kTcbSigningName) + ", issued by the trusted root",
                 "none given: the collateral's signatures cannot be checked", false);
  }
  check_fresh(report, "TCB info freshness", info.issue_date, info.next_update, now);
  check_fresh(report, "QE identity freshness", qe.issue_date, qe.next_update, now);

  auto chain = parse_pck_chain(quote);
  check_revocation(report, chain, collateral, root, policy, now);

  // The platform: the TCB info must be for this FMSPC and PCE.
  auto pck =
      chain ? parse_pck_extensions(chain->leaf) : Result<PckExtensions, Error>(chain.error());
  if (!pck) {
    report.check("TCB level", "a level the platform meets",
                 "no PCK extensions: " + pck.error().message(), false);
    return;
  }
  report.check_equal("TCB info FMSPC", hex(pck->fmspc), hex(info.fmspc));
  report.check_equal("TCB info PCE-ID", hex(pck->pce_id), hex(info.pce_id));
  report.check_equal("TDX module signer", hex(info.tdx_module.mrsigner), hex(body.mr_signer_seam));
  report.check_equal("TDX module attributes", hex(info.tdx_module.attributes),
                     hex(masked(body.seam_attributes, info.tdx_module.attributes_mask)));

  const TcbEvaluation e = evaluate_tcb(info, *pck, body);
  std::vector<std::string> advisories;
  if (e.level != nullptr) {
    const auto index = static_cast<std::size_t>(e.level - info.levels.data());
    report.check("TCB level", "a level the platform meets",
                 "level " + std::to_string(index + 1) + " of " +
                     std::to_string(info.levels.size()) + " (" +
                     std::string(tcb_status_name(e.level->status)) + ", tcbDate " +
                     format_time(e.level->tcb_date) + ")",
                 true);
    report.claim("TCB date", format_time(e.level->tcb_date));
    add_advisories(advisories, e.level->advisory_ids);
  } else {
    report.check("TCB level", "a level the platform meets",
                 "none of " + std::to_string(info.levels.size()) + " (SGX components " +
                     components_text(pck->sgx_tcb_components) + ", PCESVN " +
                     std::to_string(pck->pcesvn) + ", TEE_TCB_SVN " + hex(body.tee_tcb_svn) + ")",
                 false);
  }
  if (e.module_consulted) {
    report.check("TDX module identity", e.module_id + " in the TCB info",
                 e.module != nullptr ? e.module_id : "absent", e.module != nullptr);
    if (e.module != nullptr) {
      report.check_equal("TDX module identity signer", hex(e.module->mrsigner),
                         hex(body.mr_signer_seam));
      report.check_equal("TDX module identity attributes", hex(e.module->attributes),
                         hex(masked(body.seam_attributes, e.module->attributes_mask)));
      const auto module_svn = std::to_integer<unsigned>(body.tee_tcb_svn[0]);
      report.check("TDX module TCB level", "a level with ISVSVN <= " + std::to_string(module_svn),
                   e.module_level != nullptr
                       ? "ISVSVN " + std::to_string(e.module_level->isvsvn) + " (" +
                             std::string(tcb_status_name(e.module_level->status)) + ")"
                       : "none",
                   e.module_level != nullptr);
      if (e.module_level != nullptr) {
        report.claim("TDX module TCB status", std::string(tcb_status_name(e.module_level->status)));
        add_advisories(advisories, e.module_level->advisory_ids);
      }
    }
  }

  // The quoting enclave.
  const EnclaveReport& qe_report = quote.qe_report;
  report.check_equal("QE identity MRSIGNER", hex(qe.mrsigner), hex(qe_report.mr_signer));
  report.check_equal("QE identity ISVPRODID", std::to_string(qe.isvprodid),
                     std::to_string(qe_report.isv_prod_id));
  report.check_equal("QE identity MISCSELECT", hex32(qe.miscselect),
                     hex32(qe_report.misc_select & qe.miscselect_mask));
  report.check_equal("QE identity attributes", hex(qe.attributes),
                     hex(masked(qe_report.attributes, qe.attributes_mask)));
  const IsvTcbLevel* qe_level = qe_tcb_level(qe, qe_report.isv_svn);
  report.check("QE TCB level", "a level with ISVSVN <= " + std::to_string(qe_report.isv_svn),
               qe_level != nullptr ? "ISVSVN " + std::to_string(qe_level->isvsvn) + " (" +
                                         std::string(tcb_status_name(qe_level->status)) + ")"
                                   : "none",
               qe_level != nullptr);
  if (qe_level != nullptr) {
    report.claim("QE TCB status", std::string(tcb_status_name(qe_level->status)));
    add_advisories(advisories, qe_level->advisory_ids);
  }

  std::vector<std::string> accepted;
  for (TcbStatus s : policy.accepted_statuses) accepted.emplace_back(tcb_status_name(s));
  const std::string expected = accepted.empty() ? "(no status accepted)" : join(accepted, " or ");
  if (e.status && qe_level != nullptr) {
    const TcbStatus status = converge_tcb_status(*e.status, qe_level->status);
    report.claim("TCB status", std::string(tcb_status_name(status)));
    report.check("TCB status", expected, std::string(tcb_status_name(status)),
                 std::find(policy.accepted_statuses.begin(), policy.accepted_statuses.end(),
                           status) != policy.accepted_statuses.end());
  } else {
    report.check("TCB status", expected, "none (a TCB level is missing)", false);
  }
  if (!advisories.empty()) report.claim("advisory IDs", join(advisories, ", "));
  if (policy.min_tcb_evaluation_data_number != 0) {
    report.check("TCB evaluation data number",
                 ">= " + std::to_string(policy.min_tcb_evaluation_data_number),
                 std::to_string(info.tcb_evaluation_data_number),
                 info.tcb_evaluation_data_number >= policy.min_tcb_evaluation_data_number);
  }
  if (!policy.allowed_piids.empty()) {
    std::vector<std::string> allowed;
    for (const auto& piid : policy.allowed_piids) allowed.push_back(hex(piid));
    const auto& piid = pck->platform_instance_id;
    report.check("PIID", "one of " + join(allowed, ", "),
                 piid ? hex(*piid) : "absent (the PCK certificate has no PIID)",
                 piid && std::find(policy.allowed_piids.begin(), policy.allowed_piids.end(),
                                   *piid) != policy.allowed_piids.end());
  }
}

Result<Collateral, Error> parse_collateral(const CollateralDocuments& documents) {
  auto info = parse_tcb_info(documents.tcb_info);
  if (!info) return info.error();
  auto qe = parse_qe_identity(documents.qe_identity);
  if (!qe) return qe.error();
  Collateral out{std::move(*info), std::move(*qe), std::nullopt, documents.pck_crl,
                 documents.root_crl};
  if (!documents.tcb_signing_chain_pem.empty()) {
    auto signer = crypto::Certificate::from_pem(documents.tcb_signing_chain_pem);
    if (!signer) {
      return Error(errc::malformed_evidence, "TCB signing chain: " + signer.error().message());
    }
    out.signing_certificate = std::move(*signer);
  }
  return out;
}

namespace {

std::vector<std::byte> bytes_of(std::string_view text) {
  const auto b = std::as_bytes(std::span(text));
  return {b.begin(), b.end()};
}

std::string text_of(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::vector<EvidenceFile> collateral_files(const CollateralDocuments& documents) {
  std::vector<EvidenceFile> files{{"tcb_info.json", bytes_of(documents.tcb_info)},
                                  {"qe_identity.json", bytes_of(documents.qe_identity)}};
  if (!documents.tcb_signing_chain_pem.empty()) {
    files.push_back({"tcb_signing.pem", bytes_of(documents.tcb_signing_chain_pem)});
  }
  if (documents.pck_crl) files.push_back({"pck_crl.der", *documents.pck_crl});
  if (documents.root_crl) files.push_back({"root_crl.der", *documents.root_crl});
  return files;
}

Result<CollateralDocuments, Error> collateral_from_files(std::span<const EvidenceFile> files) {
  const auto find = [&](std::string_view name) -> const EvidenceFile* {
    for (const auto& f : files) {
      if (f.name == name) return &f;
    }
    return nullptr;
  };
  CollateralDocuments out;
  for (const auto* required : {"tcb_info.json", "qe_identity.json"}) {
    if (!find(required)) {
      return Error(errc::malformed_evidence,
                   std::string("TDX collateral: ") + required + " is missing");
    }
  }
  out.tcb_info = text_of(find("tcb_info.json")->bytes);
  out.qe_identity = text_of(find("qe_identity.json")->bytes);
  if (const auto* f = find("tcb_signing.pem")) out.tcb_signing_chain_pem = text_of(f->bytes);
  if (const auto* f = find("pck_crl.der")) out.pck_crl = f->bytes;
  if (const auto* f = find("root_crl.der")) out.root_crl = f->bytes;
  return out;
}

}  // namespace cipherline::attest::tdx
