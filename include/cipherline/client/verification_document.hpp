// The proxy's verification document: the JSON behind GET /verification and
// the dashboard — whether the backend is verified and on what evidence,
// which secret is in use, and what the proxy counted.
//
//   std::string body = verification_document(
//       {.proxy_verified = verified_, .failure = failure_, .session = session,
//        .metrics = metrics, .rotating = true},
//       system_clock::now(), steady_clock::now());
//
// Contract (the shape is in docs/architecture.md, "GET /verification"):
// - `verified` is true only while the proxy verified the backend, the
//   session holds a secret and its last Coordinator report passed: a failed
//   re-attestation (which drops the secret) makes it false again, with
//   `failure` naming the failed check.
// - `coordinator` is the session's last Coordinator report, passed or not
//   (null before any): `evidence_type`, `measurement` (the SEV-SNP launch
//   measurement or the TDX MRTD, from the report's claims), `tcb` (every
//   claim whose name contains "TCB") and the whole report as JSON.
// - `secret` (null without one): its ID (public; requests carry it), its
//   age and the seconds until it is rotated (refresh margin before expiry
//   with `rotating`, at expiry otherwise; 0 when due).
// - `counters`, `last_errors` and `series` come from `metrics`, the same
//   numbers as /metrics.
// - `manifest_history`: the session's recent attestations, oldest first
//   ({time, manifest_sha256, verdict, capture_id}); `capture_id`: the last
//   capture's ID (null without captures), for `cipherline verify capture`.
// - Times come in as arguments: a pure function of its inputs, no I/O.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "cipherline/client/proxy_metrics.hpp"
#include "cipherline/client/session.hpp"

namespace cipherline::client {

struct VerificationSources {
  bool proxy_verified = false;  // Proxy::verified()
  std::string_view failure;     // Proxy::failure(): why not (yet) verified
  const Session& session;
  const ProxyMetrics& metrics;
  bool rotating = true;  // keep_fresh runs (ClientOptions::keep_fresh)
};

std::string verification_document(const VerificationSources& sources,
                                  std::chrono::system_clock::time_point now,
                                  std::chrono::steady_clock::time_point steady_now);

}  // namespace cipherline::client
