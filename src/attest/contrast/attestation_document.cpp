#include "cipherline/attest/contrast/attestation_document.hpp"

#include <simdjson.h>

#include "cipherline/attest/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::attest::contrast {
namespace {

Error doc_error(const std::string& field, const std::string& why) {
  return Error(errc::malformed_evidence,
               "attestation document: " + (field.empty() ? "" : "'" + field + "': ") + why);
}

Result<std::vector<std::byte>, Error> base64_field(std::string_view field, std::string_view text) {
  auto bytes = crypto::from_base64(text);
  if (!bytes) return doc_error(std::string(field), "not base64 (" + bytes.error().message() + ")");
  return std::move(*bytes);
}

std::string as_text(const std::vector<std::byte>& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

EvidenceType AttestationDocument::evidence_type() const noexcept {
  const std::vector<std::uint64_t> snp = {1, 3, 9901, 2, 1};
  const std::vector<std::uint64_t> tdx = {1, 3, 9901, 2, 2};
  if (attestation_type == snp) return EvidenceType::snp;
  if (attestation_type == tdx) return EvidenceType::tdx;
  return EvidenceType::unknown;
}

std::string AttestationDocument::attestation_type_text() const {
  std::string out;
  for (std::uint64_t arc : attestation_type) out += (out.empty() ? "" : ".") + std::to_string(arc);
  return out;
}

Result<AttestationDocument, Error> parse_attestation_document(std::string_view json) {
  using namespace simdjson;
  dom::parser parser;
  dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return doc_error("", std::string("not JSON: ") + error_message(err));
  }
  dom::object object;
  if (root.get(object) != SUCCESS) return doc_error("", "not a JSON object");

  AttestationDocument doc;
  const auto string_field = [&](const char* name) -> Result<std::string_view, Error> {
    std::string_view value;
    const auto err = object[name].get(value);
    if (err == NO_SUCH_FIELD) return doc_error(name, "missing");
    if (err != SUCCESS) return doc_error(name, "not a string");
    return value;
  };
  const auto base64_list = [&](const char* name,
                               std::vector<std::vector<std::byte>>& out) -> Result<void, Error> {
    dom::array array;
    const auto err = object[name].get(array);
    if (err == NO_SUCH_FIELD) return doc_error(name, "missing");
    if (err != SUCCESS) return doc_error(name, "not an array");
    std::size_t index = 0;
    for (dom::element item : array) {
      std::string_view text;
      const std::string where = std::string(name) + "[" + std::to_string(index++) + "]";
      if (item.get(text) != SUCCESS) return doc_error(where, "not a string");
      auto bytes = base64_field(where, text);
      if (!bytes) return bytes.error();
      out.push_back(std::move(*bytes));
    }
    return {};
  };

  if (auto v = string_field("version"); v) {
    doc.version = std::string(*v);
  } else {
    return v.error();
  }
  if (auto v = string_field("raw_attestation_doc"); v) {
    auto bytes = base64_field("raw_attestation_doc", *v);
    if (!bytes) return bytes.error();
    doc.raw_attestation_doc = std::move(*bytes);
  } else {
    return v.error();
  }
  dom::array type;
  if (const auto err = object["attestation_type"].get(type); err != SUCCESS) {
    return doc_error("attestation_type", err == NO_SUCH_FIELD ? "missing" : "not an array");
  }
  for (dom::element arc : type) {
    std::uint64_t value = 0;
    if (arc.get(value) != SUCCESS) {
      return doc_error("attestation_type", "not an array of non-negative integers");
    }
    doc.attestation_type.push_back(value);
  }
  if (auto r = base64_list("manifests", doc.manifests); !r) return r.error();
  if (doc.manifests.empty())
    return doc_error("manifests", "empty (the Coordinator has no manifest)");
  if (auto r = base64_list("policies", doc.policies); !r) return r.error();
  for (const char* name : {"root_ca", "mesh_ca"}) {
    auto text = string_field(name);
    if (!text) return text.error();
    auto bytes = base64_field(name, *text);
    if (!bytes) return bytes.error();
    (std::string_view(name) == "root_ca" ? doc.root_ca_pem : doc.mesh_ca_pem) = as_text(*bytes);
  }
  return doc;
}

std::string write_attestation_document(const AttestationDocument& doc) {
  std::string out;
  json::JsonWriter w(out);
  const auto b64 = [](std::string_view s) {
    return crypto::to_base64(std::as_bytes(std::span(s.data(), s.size())));
  };
  w.begin_object().key("version").string(doc.version);
  w.key("raw_attestation_doc").string(crypto::to_base64(doc.raw_attestation_doc));
  w.key("attestation_type").begin_array();
  for (std::uint64_t arc : doc.attestation_type) w.number(arc);
  w.end_array().key("manifests").begin_array();
  for (const auto& m : doc.manifests) w.string(crypto::to_base64(m));
  w.end_array().key("policies").begin_array();
  for (const auto& p : doc.policies) w.string(crypto::to_base64(p));
  w.end_array();
  w.key("root_ca").string(b64(doc.root_ca_pem)).key("mesh_ca").string(b64(doc.mesh_ca_pem));
  w.end_object();
  return out;
}

}  // namespace cipherline::attest::contrast
