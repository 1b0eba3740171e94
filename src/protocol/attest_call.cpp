#include "cipherline/protocol/attest_call.hpp"

#include <simdjson.h>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

constexpr std::string_view kNonceField = "Nonce";
constexpr std::string_view kDocumentField = "AttestationDoc";

std::string one_field(std::string_view name, std::span<const std::byte> bytes) {
  std::string out;
  json::JsonWriter(out).begin_object().key(name).string(crypto::to_base64(bytes)).end_object();
  return out;
}

Result<std::vector<std::byte>, Error> base64_field(std::string_view json, std::string_view name) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  std::string_view text;
  if (parser.parse(json.data(), json.size()).get(root) != simdjson::SUCCESS ||
      root[name].get(text) != simdjson::SUCCESS) {
    return Error(errc::invalid_json,
                 "expected a JSON object with the base64 string \"" + std::string(name) + "\"");
  }
  auto bytes = crypto::from_base64(text);
  if (!bytes) {
    return Error(errc::invalid_base64, "\"" + std::string(name) + "\": " + bytes.error().message());
  }
  return std::move(*bytes);
}

}  // namespace

std::string attest_request_json(std::span<const std::byte> nonce) {
  return one_field(kNonceField, nonce);
}

Result<std::vector<std::byte>, Error> parse_attest_request(std::string_view json) {
  auto nonce = base64_field(json, kNonceField);
  if (nonce && nonce->size() != kAttestNonceSize) {
    return Error(errc::invalid_length,
                 "the nonce must be 32 bytes, got " + std::to_string(nonce->size()));
  }
  return nonce;
}

std::string attest_response_json(std::span<const std::byte> document) {
  return one_field(kDocumentField, document);
}

Result<std::vector<std::byte>, Error> parse_attest_response(std::string_view json) {
  return base64_field(json, kDocumentField);
}

}  // namespace cipherline::protocol
