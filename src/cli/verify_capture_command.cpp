// `cipherline verify capture DIR`: re-runs, offline, every check of every
// attestation captured in DIR (client/attestation_log.hpp) and the index's
// hash chain. Exit 0 when all verify, 1 naming each capture and check that
// failed, 2 for unreadable or malformed input.
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "cipherline/attest/contrast/coordinator.hpp"
#include "cipherline/attest/snp/report.hpp"
#include "cipherline/client/attestation_log.hpp"
#include "cipherline/client/rfc3339.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/attest_call.hpp"
#include "commands.hpp"
#include "flags.hpp"
#include "verify_support.hpp"

#include <simdjson.h>

namespace cipherline::cli {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono;
using attest::VerificationReport;

std::string_view text_of(const std::vector<std::byte>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string sha256_hex(std::string_view bytes) {
  return crypto::to_hex(crypto::sha256(std::as_bytes(std::span(bytes))));
}

UsageError malformed(const client::StoredCapture& c, const std::string& file,
                     const std::string& why) {
  return UsageError("capture " + c.id + ": " + file + ": " + why);
}

const attest::EvidenceFile& required(const client::StoredCapture& c, const std::string& path) {
  const auto* f = c.file(path);
  if (!f) throw malformed(c, path, "missing from the capture's file list");
  return *f;
}

// The captured report's checks as (name, expected, passed), for comparing
// with a re-run (the actual text may differ: a cached chain, say).
std::vector<std::tuple<std::string, std::string, bool>> checks_of(const client::StoredCapture& c,
                                                                  std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::array checks;
  simdjson::dom::element doc;
  if (parser.parse(json.data(), json.size()).get(doc) != simdjson::SUCCESS ||
      doc["checks"].get(checks) != simdjson::SUCCESS) {
    throw malformed(c, "report.json", "not a report (no \"checks\" array)");
  }
  std::vector<std::tuple<std::string, std::string, bool>> out;
  for (auto check : checks) {
    std::string_view name, expected;
    bool passed = false;
    if (check["name"].get_string().get(name) != simdjson::SUCCESS ||
        check["expected"].get_string().get(expected) != simdjson::SUCCESS ||
        check["passed"].get_bool().get(passed) != simdjson::SUCCESS) {
      throw malformed(c, "report.json", "a check lacks \"name\", \"expected\" or \"passed\"");
    }
    out.emplace_back(std::string(name), std::string(expected), passed);
  }
  return out;
}

struct Rerun {
  VerificationReport report{""};
  std::vector<attest::EvidenceFile> collateral;
  std::string mesh_ca_pem;
};

Rerun rerun_coordinator(const client::StoredCapture& c, system_clock::time_point at,
                        const std::optional<attest::snp::TrustedChain>& development) {
  const auto& response = required(c, "attest_response.json");
  auto document = protocol::parse_attest_response(text_of(response.bytes));
  if (!document) throw malformed(c, "attest_response.json", document.error().message());
  attest::contrast::CoordinatorTrust trust{.expected_manifest = required(c, "manifest.json").bytes,
                                           .now = at};
  trust.development_chain = development;
  trust.tdx_allow_missing_crls = c.policy.tdx_allow_missing_crls;
  trust.amd_revocation = {.fail_open = c.policy.amd_crl_fail_open,
                          .require_crl = c.policy.amd_require_crl};
  if (c.file("collateral/tcb_info.json")) {
    std::vector<attest::EvidenceFile> files;
    for (const auto& f : c.files) {
      if (f.name.starts_with("collateral/")) files.push_back({f.name.substr(11), f.bytes});
    }
    trust.tdx_collateral = parse_or_usage(attest::tdx::collateral_from_files(files));
  }
  auto v = attest::contrast::verify_coordinator(text_of(*document), c.nonce, trust);
  return {std::move(v.report), std::move(v.collateral), std::move(v.mesh_ca_pem)};
}

Rerun rerun_snp(const client::StoredCapture& c, system_clock::time_point at) {
  const auto certificate = [&](const std::string& path) {
    auto cert = crypto::Certificate::from_der(required(c, path).bytes);
    if (!cert) throw malformed(c, path, cert.error().message());
    return std::move(*cert);
  };
  auto report = attest::snp::parse_report(required(c, "report.bin").bytes);
  if (!report) throw malformed(c, "report.bin", report.error().message());
  const auto ark = certificate("collateral/ark.der");
  SnpInputs inputs{
      .report = *report,
      .vcek = certificate("collateral/vcek.der"),
      .chain = {ark_product(ark), certificate("collateral/ask.der"), ark, false},
      .at = at,
      .policy = {.fail_open = c.policy.amd_crl_fail_open, .require_crl = c.policy.amd_require_crl},
      .report_data = c.report_data};
  if (const auto* crl = c.file("collateral/amd_crl.der")) inputs.crl = crl->bytes;
  if (const auto* reference = c.file("reference.json")) {
    inputs.reference_json = std::string(text_of(reference->bytes));
  }
  Rerun out;
  out.report = check_snp(inputs);
  return out;
}

// verify_one: every check of one captured attestation, into `r`.
// What the auditor asked for: the time, the roots, how strict.
struct Judgement {
  std::optional<system_clock::time_point> at;
  std::optional<attest::snp::TrustedChain> development;
  std::string development_root;  // its ARK's SHA-256 (hex), or ""
  bool strict = false;
};

// policy_text: the settings a capture was judged under, for its claims.
std::string policy_text(const client::CapturePolicy& p) {
  std::string out = p.development_root.empty()
                        ? "production roots (AMD, Intel)"
                        : "development root " + p.development_root.substr(0, 16) + "…";
  for (const auto& [on, what] :
       {std::pair{p.amd_require_crl, "AMD CRL required"},
        {p.amd_crl_fail_open, "AMD CRL fail-open"},
        {p.tdx_allow_missing_crls, "TDX CRLs may be missing"},
        {p.tdx_allow_unsigned_collateral, "TDX collateral may be unsigned"},
        {p.tdx_quote_only, "TDX quote only"}}) {
    if (on) out += std::string("; ") + what;
  }
  return out;
}

bool relaxed(const client::CapturePolicy& p) {
  return p.amd_crl_fail_open || p.tdx_allow_missing_crls || p.tdx_allow_unsigned_collateral ||
         p.tdx_quote_only;
}

void verify_one(const fs::path& dir, const client::IndexLine& line, const Judgement& judge,
                VerificationReport& r) {
  const auto& at = judge.at;
  auto stored = client::read_capture(dir, line.capture_id, r);
  if (!stored) throw UsageError(stored.error().message());
  if (!r.passed()) return;  // the files are not what was captured: nothing to re-run
  const auto& c = *stored;
  r.claim("kind", std::string(client::capture_kind_name(c.kind)));
  r.claim("captured at", c.captured_at);
  r.claim("verdict", c.verdict);
  r.claim("cipherline version", c.version);
  if (!c.endpoint.empty()) r.claim("endpoint", c.endpoint);
  r.claim("policy", policy_text(c.policy));
  if (judge.strict) {
    r.check("policy strict", "no relaxed setting (--strict)",
            relaxed(c.policy) ? policy_text(c.policy) : "none", !relaxed(c.policy));
  }
  // A capture judged under a development root is re-judged under that
  // root only, and one judged under the production roots under those only.
  if (!c.policy.development_root.empty()) {
    r.check_equal(
        "development root", c.policy.development_root,
        judge.development_root.empty() ? "none given (--dev-trust)" : judge.development_root);
  }
  const auto development = c.policy.development_root.empty()
                               ? std::optional<attest::snp::TrustedChain>()
                               : judge.development;
  // The capture and its index line vouch for each other.
  r.check_equal("index line", std::to_string(line.number), std::to_string(c.line));
  r.check_equal("index previous line", line.previous, c.previous);
  r.check_equal("index time", line.time, c.captured_at);
  r.check_equal("index verdict", line.verdict, c.verdict);
  const auto* manifest = c.file("manifest.json");
  r.check_equal("index manifest", line.manifest_sha256,
                manifest ? sha256_hex(text_of(manifest->bytes)) : "no manifest.json");
  if (!r.passed()) return;

  const auto when = at.value_or(c.judged_at);
  Rerun rerun = c.kind == client::CaptureKind::coordinator ? rerun_coordinator(c, when, development)
                : c.kind == client::CaptureKind::snp_report
                    ? rerun_snp(c, when)
                    : throw malformed(c, "capture.json", "tdx-quote captures are not re-run yet");
  const bool passed = rerun.report.passed();
  const auto* failure = rerun.report.first_failure();
  const std::string verdict =
      passed ? "accepted" : "rejected (check " + (failure ? failure->name : "none") + ")";
  r.check("verdict", c.verdict + (at ? " at " + client::format_rfc3339(*at) : " as captured"),
          verdict, (c.verdict == "accepted") == passed);
  // An accepted capture must pass every check again; a rejected one is
  // reproduced by failing again (its checks are shown, not counted).
  if (c.verdict == "accepted") r.merge(rerun.report, "");
  if (!at) {
    const auto* captured = c.file("report.json");
    if (!captured) throw malformed(c, "report.json", "missing from the capture's file list");
    const auto before = checks_of(c, text_of(captured->bytes));
    std::size_t same = 0;
    const auto& after = rerun.report.checks();
    for (std::size_t i = 0; i < std::min(before.size(), after.size()); ++i) {
      const auto& [name, expected, ok] = before[i];
      if (name == after[i].name && expected == after[i].expected && ok == after[i].passed) {
        ++same;
      }
    }
    r.check("report reproduced", std::to_string(before.size()) + " checks as captured",
            std::to_string(same) + " of " + std::to_string(after.size()) + " the same",
            same == before.size() && same == after.size());
  }
  // The collateral the re-run used is the collateral captured.
  for (const auto& used : rerun.collateral) {
    const auto* file = c.file("collateral/" + used.name);
    r.check("collateral " + used.name, "as captured",
            !file                       ? "not in the capture"
            : file->bytes == used.bytes ? "the same"
                                        : "different",
            file && file->bytes == used.bytes);
  }
  // The key exchange made with an accepted attestation: signed by a mesh
  // certificate of the attested mesh CA, over the client's public key.
  const auto* exchange = c.file("exchange.json");
  if (!exchange) {
    if (c.kind == client::CaptureKind::coordinator) {
      r.claim("exchange", "none captured (the exchange request failed)");
    }
    return;
  }
  if (c.verdict != "accepted" || !passed) return;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view pk, enc, sig, cert;
  bool accepted = false;
  const std::string_view exchange_text = text_of(exchange->bytes);
  if (parser.parse(exchange_text.data(), exchange_text.size()).get(doc) != simdjson::SUCCESS ||
      doc["public_key"].get_string().get(pk) != simdjson::SUCCESS ||
      doc["encapsulated_key"].get_string().get(enc) != simdjson::SUCCESS ||
      doc["signature"].get_string().get(sig) != simdjson::SUCCESS ||
      doc["mesh_certificate"].get_string().get(cert) != simdjson::SUCCESS ||
      doc["accepted"].get_bool().get(accepted) != simdjson::SUCCESS) {
    throw malformed(c, "exchange.json", "not an exchange transcript");
  }
  auto public_key = crypto::from_base64(pk);
  auto encapsulated = crypto::from_base64(enc);
  auto signature = crypto::from_base64(sig);
  auto mesh_certificate = crypto::from_base64(cert);
  if (!public_key || !encapsulated || !signature || !mesh_certificate) {
    throw malformed(c, "exchange.json", "a field is not base64");
  }
  auto mesh_ca = crypto::Certificate::from_pem(rerun.mesh_ca_pem);
  if (!mesh_ca) throw malformed(c, "attest_response.json", "the mesh CA does not parse");
  const auto verified = protocol::verify_secret_response(
      *public_key, {std::move(*encapsulated), std::move(*signature), std::move(*mesh_certificate)},
      *mesh_ca, when);
  r.check("exchange", accepted ? "signed by the attested mesh CA (accepted)" : "refused",
          verified ? "signed by the attested mesh CA" : verified.error().message(),
          verified.has_value() == accepted);
}

}  // namespace

int verify_capture(std::span<const std::string_view> args) {
  Flags flags("verify capture",
              "Re-runs, with no network access, every check of every attestation captured in\n"
              "DIR (a workspace or --capture-dir) and verifies the index's hash chain. Exit\n"
              "status 0 all verified, 1 a check failed (each capture and check named), 2\n"
              "unreadable or malformed input.");
  flags
      .option("at", "RFC3339", "judge at this time instead (would it pass now, or then?)",
              "the captured time")
      .option("dev-trust", "DIR",
              "trust the development TEE roots in DIR (" + std::string(kDevSnpChainFile) + ")",
              "none")
      .option("anchor", "LINE:SHA256",
              "an index head kept from earlier (`index head` of a run): that line must still\n"
              "hash to it, and the captures up to it be unpruned or pruned by a later line",
              "none")
      .toggle("strict",
              "fail captures judged under relaxed settings (CRL fail-open, TDX CRLs or\n"
              "collateral signatures not required, quote-only TDX)")
      .toggle("json", "print the reports as JSON");
  // DIR comes first: `verify capture DIR [flags]`.
  const bool has_dir = !args.empty() && !args[0].starts_with("-");
  if (!flags.parse(has_dir ? args.subspan(1) : args)) return 0;
  if (!has_dir) throw UsageError("verify capture expects the capture directory first: DIR");
  const fs::path dir(args[0]);
  Judgement judge;
  if (flags.is_set("at")) judge.at = time_flag(flags, "at");
  if (flags.is_set("dev-trust")) {
    judge.development = development_chain(flags, "dev-trust");
    judge.development_root = crypto::to_hex(judge.development->ark.fingerprint_sha256());
  }
  judge.strict = flags.is_set("strict");
  std::optional<std::pair<std::size_t, std::string>> anchor;
  if (flags.is_set("anchor")) {
    const std::string& value = flags.text("anchor");
    const auto colon = value.find(':');
    std::size_t line = 0;
    const auto digits = std::string_view(value).substr(0, std::min(colon, value.size()));
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), line);
    const std::string digest = colon == std::string::npos ? "" : value.substr(colon + 1);
    if (ec != std::errc() || end != digits.data() + digits.size() || line == 0 ||
        digest.size() != 64 || digest.find_first_not_of("0123456789abcdef") != std::string::npos) {
      throw UsageError("--anchor: '" + value +
                       "' is not LINE:SHA256 (a line number, ':', 64 lowercase hex digits)");
    }
    anchor.emplace(line, digest);
  }

  auto index = client::read_index(dir);
  if (!index) throw UsageError(index.error().message());
  VerificationReport index_report("index " + (dir / "manifests" / "log.txt").string());
  client::check_index(dir, *index, index_report);
  if (index->lines.empty()) {
    index_report.check("index has lines", "at least one attestation", "an empty index", false);
  }
  if (anchor) {
    const auto& [line, digest] = *anchor;
    const bool present = line <= index->lines.size();
    const std::string actual =
        present ? sha256_hex(index->lines[line - 1].text)
                : "the index has " + std::to_string(index->lines.size()) + " lines";
    index_report.check("anchor line " + std::to_string(line), digest, actual, actual == digest);
    std::size_t pruned_since = 0;
    for (const auto& l : index->lines) {
      if (l.type == client::IndexLine::Type::pruned && l.number > line && l.pruned_line <= line) {
        ++pruned_since;
      }
    }
    index_report.claim("captures up to the anchor pruned since", std::to_string(pruned_since));
  }

  std::set<std::size_t> pruned;
  for (const auto& line : index->lines) {
    if (line.type == client::IndexLine::Type::pruned) pruned.insert(line.pruned_line);
  }
  std::vector<VerificationReport> reports;
  std::set<std::string> indexed;
  for (const auto& line : index->lines) {
    if (line.type != client::IndexLine::Type::attestation) continue;
    indexed.insert(line.capture_id);
    if (pruned.contains(line.number)) continue;
    reports.emplace_back("capture " + line.capture_id + " (index line " +
                         std::to_string(line.number) + ")");
    verify_one(dir, line, judge, reports.back());
  }
  // Every capture directory is one the index names.
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir / "captures", ec)) {
    const auto name = entry.path().filename().string();
    if (name.starts_with(".staging-")) continue;
    index_report.check("captures/" + name + " indexed", "a capture the index names",
                       indexed.contains(name) ? "indexed" : "not in the index",
                       indexed.contains(name));
  }

  bool passed = index_report.passed();
  std::size_t accepted = 0;
  for (const auto& r : reports) {
    passed = passed && r.passed();
    const auto* verdict = r.find_claim("verdict");
    if (verdict && *verdict == "accepted") ++accepted;
  }
  std::string out;
  if (flags.is_set("json")) {
    json::JsonWriter w(out);
    w.begin_object().key("passed").boolean(passed).key("index").raw(index_report.to_json());
    w.key("captures").begin_array();
    for (const auto& r : reports) w.raw(r.to_json());
    w.end_array().end_object();
    out += "\n";
  } else {
    out = index_report.to_text();
    for (const auto& r : reports) out += "\n" + r.to_text();
    out += "\n" + std::to_string(reports.size()) + " captures (" + std::to_string(accepted) +
           " accepted, " + std::to_string(reports.size() - accepted) + " rejected), " +
           std::to_string(index->lines.size()) +
           " index lines: " + (passed ? "all verified" : "FAILED") + "\n";
    for (const auto& r : reports) {
      for (const auto& check : r.checks()) {
        if (!check.passed)
          out += attest::printable("FAIL " + r.subject() + ": " + check.name) + "\n";
      }
    }
    for (const auto& check : index_report.checks()) {
      if (!check.passed) {
        out += attest::printable("FAIL " + index_report.subject() + ": " + check.name) + "\n";
      }
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return passed ? 0 : 1;
}

}  // namespace cipherline::cli
