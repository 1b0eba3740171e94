// The Contrast Coordinator's attestation document: the JSON its `/attest`
// endpoint answers, which Privatemode's `/privatemode/v1/attest` passes on
// base64-encoded (spec: contrast-attestation §1.2).
//
//   auto doc = contrast::parse_attestation_document(json);
//   if (!doc) ... doc.error().message()   // "attestation document: 'manifests': not base64 …"
//   if (doc->evidence_type() == EvidenceType::snp) ...
//   decode_snp_attestation(doc->raw_attestation_doc)
//
// Contract:
// - Fields: `version` (string), `raw_attestation_doc` (base64 protobuf),
//   `attestation_type` (the evidence OID as an array of integers),
//   `manifests` and `policies` (arrays of base64), `root_ca` and `mesh_ca`
//   (base64 of PEM). Unknown fields are ignored, as Go's decoder does;
//   missing or mistyped ones are errors (attest::errc::malformed_evidence)
//   naming the field.
// - At least one manifest.
// - Pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/runtime/error.hpp"
#include "cipherline/runtime/result.hpp"

namespace cipherline::attest::contrast {

enum class EvidenceType { unknown, snp, tdx };

struct AttestationDocument {
  std::string version;
  std::vector<std::byte> raw_attestation_doc;
  std::vector<std::uint64_t> attestation_type;    // OID arcs, e.g. 1.3.9901.2.1
  std::vector<std::vector<std::byte>> manifests;  // oldest first
  std::vector<std::vector<std::byte>> policies;
  std::string root_ca_pem;
  std::string mesh_ca_pem;

  // 1.3.9901.2.1 is SEV-SNP, 1.3.9901.2.2 is TDX.
  EvidenceType evidence_type() const noexcept;
  std::string attestation_type_text() const;  // "1.3.9901.2.1"
};

Result<AttestationDocument, Error> parse_attestation_document(std::string_view json);
// write_attestation_document is the inverse (for the Coordinator side).
std::string write_attestation_document(const AttestationDocument& doc);

}  // namespace cipherline::attest::contrast
