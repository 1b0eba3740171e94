#include "cipherline/backend/coordinator.hpp"

#include <simdjson.h>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/manifest.hpp"
#include "cipherline/attest/contrast/report_data.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/attest/error.hpp"
#include "cipherline/backend/error.hpp"
#include "cipherline/backend/error_response.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/certificate_builder.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha512.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/protocol/attest_call.hpp"

namespace cipherline::backend {
namespace {

using namespace std::chrono;

constexpr std::size_t kNonceSize = 32;

Result<crypto::Certificate, Error> self_signed_ca(const crypto::PrivateKey& key,
                                                  const std::string& cn, std::uint64_t serial) {
  const auto now = system_clock::now();
  return crypto::issue_certificate({.subject = {{"O", "cipherline"}, {"CN", cn}},
                                    .public_key = key.public_key(),
                                    .not_before = now - hours(1),
                                    .not_after = now + hours(24 * 3650),
                                    .serial = serial,
                                    .ca = true},
                                   key, nullptr, crypto::Signature::ecdsa_sha256);
}

// Reads the base64 nonce from a JSON body's `field`.
Result<std::vector<std::byte>, Error> nonce_from(std::string_view body, const char* field) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view text;
  if (parser.parse(body.data(), body.size()).get(root) != simdjson::SUCCESS ||
      root[field].get(text) != simdjson::SUCCESS) {
    return Error(attest::errc::malformed_evidence,
                 std::string("expected a JSON object with the base64 string \"") + field + "\"");
  }
  auto nonce = crypto::from_base64(text);
  if (!nonce) {
    return Error(nonce.error().code(),
                 std::string("\"") + field + "\": " + nonce.error().message());
  }
  if (nonce->size() != kNonceSize) {
    return Error(attest::errc::malformed_evidence,
                 "the nonce must be 32 bytes, got " + std::to_string(nonce->size()));
  }
  return std::move(*nonce);
}

}  // namespace

Coordinator::Coordinator(CoordinatorConfig config, crypto::PrivateKey ca_key,
                         crypto::Certificate root_ca, crypto::Certificate mesh_ca,
                         std::array<std::byte, 32> policy_hash)
    : config_(std::move(config)),
      ca_key_(std::move(ca_key)),
      root_ca_(std::move(root_ca)),
      mesh_ca_(std::move(mesh_ca)),
      root_ca_pem_(crypto::to_pem(root_ca_)),
      mesh_ca_pem_(crypto::to_pem(mesh_ca_)),
      policy_hash_(policy_hash) {}

Result<Coordinator, Error> Coordinator::create(CoordinatorConfig config) {
  const std::string_view text(reinterpret_cast<const char*>(config.manifest.data()),
                              config.manifest.size());
  auto manifest = attest::contrast::parse_manifest(text);
  if (!manifest) return manifest.error();
  const auto coordinators = manifest->coordinator_policy_hashes();
  auto key = crypto::PrivateKey::generate(crypto::KeyType::ec_p256);
  if (!key) return key.error();
  auto root = self_signed_ca(*key, "system:coordinator:root", 1);
  if (!root) return root.error();
  auto mesh = self_signed_ca(*key, "system:coordinator:intermediate", 2);
  if (!mesh) return mesh.error();
  return Coordinator(std::move(config), std::move(*key), std::move(*root), std::move(*mesh),
                     coordinators.front());
}

Result<std::string, Error> Coordinator::attest(std::span<const std::byte> nonce) const {
  attest::contrast::AttestationDocument doc;
  doc.version = config_.version;
  doc.attestation_type = {1, 3, 9901, 2, 1};
  doc.manifests = {config_.manifest};
  doc.root_ca_pem = root_ca_pem_;
  doc.mesh_ca_pem = mesh_ca_pem_;
  attest::sim::SnpLaunch launch;
  launch.measurement = config_.measurement;
  launch.host_data = policy_hash_;
  const auto report_data =
      attest::contrast::coordinator_report_data(nonce, doc.manifests, root_ca_pem_, mesh_ca_pem_);
  auto report = attest::sim::issue_snp_report(config_.tee, launch, report_data);
  if (!report) return report.error();
  attest::contrast::SnpEvidence evidence;
  evidence.report = std::move(*report);
  evidence.vcek_der = config_.tee.vcek.der();
  evidence.ask_der = config_.tee.ask.der();
  evidence.ark_der = config_.tee.ark.der();
  evidence.product = config_.tee.product;
  doc.raw_attestation_doc = attest::contrast::encode_snp_attestation(evidence);
  return attest::contrast::write_attestation_document(doc);
}

Task<void> Coordinator::serve_attest(http::Request& request, http::ResponseWriter& writer,
                                     bool privatemode_form) {
  auto body = co_await request.body.read_all(4096);
  auto nonce = !body              ? Result<std::vector<std::byte>, Error>(body.error())
               : privatemode_form ? protocol::parse_attest_request(*body)
                                  : nonce_from(*body, "nonce");
  if (!nonce) {
    co_await respond_error(request, writer, 400, "attestation: " + nonce.error().message());
    co_return;
  }
  auto doc = attest(*nonce);
  if (!doc) {
    co_await respond_error(request, writer, 500, "attestation: " + doc.error().message());
    co_return;
  }
  std::string out = std::move(*doc);
  if (privatemode_form) out = protocol::attest_response_json(std::as_bytes(std::span(out)));
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
}

Task<void> Coordinator::serve_admit(http::Request& request, http::ResponseWriter& writer) {
  auto body = co_await request.body.read_all(64 * 1024);
  if (!body) {
    co_await respond_error(request, writer, 400, "admission: " + body.error().message());
    co_return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view evidence_b64, key_b64;
  if (parser.parse(*body).get(root) != simdjson::SUCCESS ||
      root["Evidence"].get(evidence_b64) != simdjson::SUCCESS ||
      root["PublicKey"].get(key_b64) != simdjson::SUCCESS) {
    co_await respond_error(request, writer, 400,
                           "admission: expected {\"Evidence\": base64, \"PublicKey\": base64}");
    co_return;
  }
  auto evidence_bytes = crypto::from_base64(evidence_b64);
  auto key_bytes = crypto::from_base64(key_b64);
  auto evidence = evidence_bytes
                      ? attest::contrast::decode_snp_attestation(*evidence_bytes)
                      : Result<attest::contrast::SnpEvidence, Error>(evidence_bytes.error());
  auto key = key_bytes ? crypto::PublicKey::from_spki_der(*key_bytes)
                       : Result<crypto::PublicKey, Error>(key_bytes.error());
  auto vcek = evidence ? crypto::Certificate::from_der(evidence->vcek_der)
                       : Result<crypto::Certificate, Error>(evidence.error());
  if (!evidence || !key || !vcek) {
    const auto& e = !evidence ? evidence.error() : !key ? key.error() : vcek.error();
    co_await respond_error(request, writer, 400, "admission: " + e.message());
    co_return;
  }
  attest::VerificationReport report("admission");
  auto certificate = admit({std::move(evidence->report), std::move(*vcek)}, *key, report);
  if (!certificate) {
    co_await respond_error(request, writer, 403, certificate.error().message());
    co_return;
  }
  std::string out;
  json::JsonWriter(out)
      .begin_object()
      .key("Certificate")
      .string(crypto::to_pem(*certificate))
      .key("MeshCA")
      .string(mesh_ca_pem_)
      .end_object();
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}}, out);
}

void Coordinator::add_routes(http::Router& router) {
  router.add("POST", "/admit",
             [this](http::Request& request, http::ResponseWriter& writer) {
               return serve_admit(request, writer);
             },
             {.max_body = 64 * 1024});
  for (const bool privatemode_form : {false, true}) {
    router.add("POST", privatemode_form ? "/privatemode/v1/attest" : "/attest",
               [this, privatemode_form](http::Request& request, http::ResponseWriter& writer) {
                 return serve_attest(request, writer, privatemode_form);
               },
               {.max_body = 4096});
  }
}

Result<ServiceEvidence, Error> issue_service_evidence(const attest::sim::DevelopmentSnpPki& tee,
                                                      const std::array<std::byte, 48>& measurement,
                                                      const std::array<std::byte, 32>& policy_hash,
                                                      const crypto::PublicKey& key) {
  attest::sim::SnpLaunch launch;
  launch.measurement = measurement;
  launch.host_data = policy_hash;
  auto report = attest::sim::issue_snp_report(tee, launch, crypto::sha512(key.spki_der()));
  if (!report) return report.error();
  return ServiceEvidence{std::move(*report), tee.vcek};
}

Result<crypto::Certificate, Error> Coordinator::admit(const ServiceEvidence& evidence,
                                                      const crypto::PublicKey& key,
                                                      attest::VerificationReport& report) {
  const auto now = system_clock::now();
  report.merge(attest::snp::verify_report(evidence.report, evidence.vcek,
                                          config_.tee.trusted_chain(), now, chain_cache_.get()),
               "");
  const std::string_view text(reinterpret_cast<const char*>(config_.manifest.data()),
                              config_.manifest.size());
  auto manifest = attest::contrast::parse_manifest(text);
  if (!manifest) return manifest.error();
  // The first reference entry for this product decides (the manifest the
  // backend writes has one).
  bool referenced = false;
  for (const auto& entry : manifest->snp) {
    if (entry.values.product != evidence.report.cpuid_product()) continue;
    attest::snp::check_reference_values(evidence.report, entry.values, report);
    referenced = true;
    break;
  }
  report.check("reference values", "an SNP entry for the product", referenced ? "found" : "none",
               referenced);
  const auto expected_binding = crypto::sha512(key.spki_der());
  report.check_equal("REPORT_DATA", crypto::to_hex(expected_binding),
                     crypto::to_hex(evidence.report.report_data));
  const attest::contrast::ManifestPolicy* policy = nullptr;
  for (const auto& p : manifest->policies) {
    if (p.role != "coordinator" && p.hash == evidence.report.host_data) policy = &p;
  }
  report.check("workload policy", "HOST_DATA among the manifest's service policies",
               crypto::to_hex(evidence.report.host_data), policy != nullptr);
  if (!report.passed()) {
    const auto* failure = report.first_failure();
    return Error(errc::admission_refused,
                 "admission refused: " + failure->name + ": " + failure->actual);
  }
  return issue_mesh_certificate(key, policy->sans, {"127.0.0.1"});
}

Result<crypto::Certificate, Error> Coordinator::issue_mesh_certificate(
    const crypto::PublicKey& key, const std::string& dns_name) {
  return issue_mesh_certificate(key, std::vector<std::string>{dns_name}, {});
}

Result<crypto::Certificate, Error> Coordinator::issue_mesh_certificate(
    const crypto::PublicKey& key, const std::vector<std::string>& dns_names,
    const std::vector<std::string>& ips) {
  if (dns_names.empty()) {
    return Error(attest::errc::malformed_evidence, "a mesh certificate needs a name");
  }
  const auto now = system_clock::now();
  return crypto::issue_certificate({.subject = {{"O", "cipherline"}, {"CN", dns_names.front()}},
                                    .public_key = key,
                                    .not_before = now - minutes(5),
                                    .not_after = now + kMeshCertificateLifetime,
                                    .serial = next_serial_++,
                                    .dns_names = dns_names,
                                    .ip_addresses = ips,
                                    // As Contrast's workload certificates: for
                                    // both ends of the mesh's mTLS.
                                    .extended_key_usage = {"serverAuth", "clientAuth"}},
                                   ca_key_, &mesh_ca_, crypto::Signature::ecdsa_sha256);
}

}  // namespace cipherline::backend
