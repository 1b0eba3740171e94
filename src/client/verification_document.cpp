#include "cipherline/client/verification_document.hpp"

#include <algorithm>

#include "cipherline/client/rfc3339.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::client {

using namespace std::chrono;

namespace {

// The launch measurement: SEV-SNP's MEASUREMENT or TDX's MRTD, as the best
// reference entry's claims name them ("snp[0]: measurement", "tdx[0]: MRTD").
const std::string* measurement_of(const attest::VerificationReport& report) {
  for (const attest::Claim& c : report.claims()) {
    if (c.name.ends_with(": measurement") || c.name.ends_with(": MRTD")) return &c.value;
  }
  return nullptr;
}

void string_or_null(json::JsonWriter& w, const std::string* value) {
  if (value) {
    w.string(*value);
  } else {
    w.null();
  }
}

std::int64_t whole_seconds(steady_clock::duration d) {
  return std::max<std::int64_t>(duration_cast<seconds>(d).count(), 0);
}

}  // namespace

std::string verification_document(const VerificationSources& sources, system_clock::time_point now,
                                  steady_clock::time_point steady_now) {
  const Session& session = sources.session;
  const attest::VerificationReport* report = session.last_report();
  const bool verified =
      sources.proxy_verified && session.established() && report != nullptr && report->passed();
  std::string failure;
  if (!sources.proxy_verified) {
    failure = sources.failure;
  } else if (const attest::Check* check = report ? report->first_failure() : nullptr) {
    failure = "attestation failed: check " + check->name + ": expected " + check->expected +
              ", got " + check->actual;
  } else if (!verified) {
    failure = "re-attestation failed: the secret of the last verification was dropped";
  }

  std::string out;
  json::JsonWriter w(out);
  w.begin_object().key("verified").boolean(verified).key("failure");
  if (verified) {
    w.null();
  } else {
    w.string(failure);
  }
  w.key("endpoint").string(session.options().endpoint.to_string());

  w.key("coordinator");
  if (report) {
    w.begin_object().key("evidence_type");
    string_or_null(w, report->find_claim("evidence type"));
    w.key("measurement");
    string_or_null(w, measurement_of(*report));
    w.key("tcb").begin_object();
    for (const attest::Claim& c : report->claims()) {
      if (c.name.find("TCB") != std::string::npos) w.key(c.name).string(c.value);
    }
    w.end_object().key("report").raw(report->to_json()).end_object();
  } else {
    w.null();
  }

  w.key("manifest_sha256")
      .string(
          crypto::to_hex(crypto::sha256(std::span<const std::byte>(session.options().manifest))));
  w.key("manifest_history").begin_array();
  for (const AttestationEntry& e : session.history()) {
    w.begin_object()
        .key("time")
        .string(format_rfc3339(e.at))
        .key("manifest_sha256")
        .string(e.manifest_sha256)
        .key("verdict")
        .string(e.accepted ? "accepted" : "rejected: " + e.failure)
        .key("capture_id");
    string_or_null(w, e.capture_id.empty() ? nullptr : &e.capture_id);
    w.end_object();
  }
  w.end_array().key("capture_id");
  string_or_null(w, session.last_capture_id().empty() ? nullptr : &session.last_capture_id());

  w.key("secret");
  if (const auto id = session.secret_id(); !id.empty()) {
    const auto rotation = sources.rotating
                              ? session.secret_expires_at() - session.options().refresh_margin
                              : session.secret_expires_at();
    w.begin_object()
        .key("id")
        .string(id)
        .key("age_seconds")
        .number(whole_seconds(steady_now - session.secret_exchanged_at()))
        .key("next_rotation_seconds")
        .number(whole_seconds(rotation - steady_now))
        .key("exchanges")
        .number(session.exchanges())
        .end_object();
  } else {
    w.null();
  }

  w.key("counters");
  sources.metrics.write_counters(w);
  w.key("last_errors");
  sources.metrics.write_last_errors(w);
  w.key("series");
  sources.metrics.write_series(w, now);
  w.end_object();
  return out;
}

}  // namespace cipherline::client
