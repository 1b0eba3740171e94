#include "cipherline/protocol/secret_exchange.hpp"

#include <simdjson.h>

#include <algorithm>

#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/hpke.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/json/writer.hpp"

namespace cipherline::protocol {
namespace {

constexpr std::size_t kSecretSize = 32;
constexpr std::string_view kServerAuth = "1.3.6.1.5.5.7.3.1";

Error exchange_error(crypto::errc code, const std::string& why) {
  return Error(code, "secret exchange: " + why);
}

crypto::Sha256Digest transcript_digest(std::span<const std::byte> public_key,
                                       std::span<const std::byte> encapsulated_key) {
  return crypto::sha256({public_key, encapsulated_key});
}

// Reads the base64 string fields `names` of a JSON object, in order.
Result<std::vector<std::vector<std::byte>>, Error> base64_fields(
    std::string_view json, std::initializer_list<const char*> names, const char* what) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto err = parser.parse(json.data(), json.size()).get(root); err) {
    return exchange_error(crypto::errc::malformed_field,
                          std::string(what) + " is not JSON: " + simdjson::error_message(err));
  }
  std::vector<std::vector<std::byte>> out;
  for (const char* name : names) {
    std::string_view text;
    if (root[name].get(text) != simdjson::SUCCESS) {
      return exchange_error(crypto::errc::malformed_field,
                            std::string(what) + " lacks the string field \"" + name + "\"");
    }
    auto bytes = crypto::from_base64(text);
    if (!bytes) {
      return exchange_error(crypto::errc::malformed_field, std::string(what) + " field \"" + name +
                                                               "\": " + bytes.error().message());
    }
    out.push_back(std::move(*bytes));
  }
  return out;
}

}  // namespace

std::string secret_request_json(std::span<const std::byte> public_key) {
  std::string out;
  json::JsonWriter(out)
      .begin_object()
      .key("PublicKey")
      .string(crypto::to_base64(public_key))
      .end_object();
  return out;
}

Result<std::vector<std::byte>, Error> parse_secret_request(std::string_view json) {
  auto fields = base64_fields(json, {"PublicKey"}, "the secret request");
  if (!fields) return fields.error();
  return std::move((*fields)[0]);
}

std::string secret_response_json(const SecretResponse& r) {
  std::string out;
  json::JsonWriter(out)
      .begin_object()
      .key("EncapsulatedKey")
      .string(crypto::to_base64(r.encapsulated_key))
      .key("Signature")
      .string(crypto::to_base64(r.signature))
      .key("MeshCert")
      .string(crypto::to_base64(r.mesh_certificate))
      .end_object();
  return out;
}

Result<SecretResponse, Error> parse_secret_response(std::string_view json) {
  auto fields =
      base64_fields(json, {"EncapsulatedKey", "Signature", "MeshCert"}, "the secret response");
  if (!fields) return fields.error();
  return SecretResponse{std::move((*fields)[0]), std::move((*fields)[1]), std::move((*fields)[2])};
}

Result<SecretOffer, Error> offer_secret(std::span<const std::byte> client_public_key,
                                        const crypto::PrivateKey& mesh_key,
                                        const crypto::Certificate& mesh_certificate) {
  auto sender = crypto::hpke_setup_sender(crypto::HpkeKem::xwing, client_public_key, {});
  if (!sender) return sender.error();
  auto signature = mesh_key.sign_ecdsa_prehashed(transcript_digest(client_public_key, sender->enc));
  if (!signature) return signature.error();
  const crypto::SecretBytes key = sender->context.export_secret({}, kSecretSize);
  SecretOffer offer;
  offer.response = {sender->enc, std::move(*signature), mesh_certificate.der()};
  offer.secret =
      std::make_shared<const InferenceSecret>(secret_id_for(client_public_key), key.bytes());
  return offer;
}

Result<void, Error> verify_secret_response(std::span<const std::byte> public_key,
                                           const SecretResponse& response,
                                           const crypto::Certificate& mesh_ca,
                                           std::chrono::system_clock::time_point now) {
  auto certificate = crypto::Certificate::from_der(response.mesh_certificate);
  if (!certificate) {
    return exchange_error(crypto::errc::certificate_invalid,
                          "the mesh certificate does not parse: " + certificate.error().message());
  }
  const crypto::Certificate roots[] = {mesh_ca};
  if (auto chained = crypto::verify_chain(*certificate, {}, roots, now); !chained) {
    return exchange_error(
        crypto::errc::certificate_invalid,
        "the mesh certificate does not chain to the mesh CA: " + chained.error().message());
  }
  // Contrast issues workload certificates for clientAuth and serverAuth;
  // Privatemode verifies serverAuth. Unlike Go, a certificate without the
  // extension is refused too: no genuine mesh certificate lacks it.
  const auto usage = certificate->extended_key_usage();
  if (!usage || std::find(usage->begin(), usage->end(), kServerAuth) == usage->end()) {
    std::string listed;
    for (const auto& oid : usage.value_or(std::vector<std::string>{})) {
      listed += (listed.empty() ? "" : ", ") + oid;
    }
    return exchange_error(crypto::errc::certificate_invalid,
                          "the mesh certificate's extended key usage lacks serverAuth (" +
                              std::string(kServerAuth) + "): " +
                              (!usage           ? "no such extension"
                               : listed.empty() ? "empty or malformed"
                                                : listed));
  }
  auto certified = certificate->public_key();
  if (!certified) {
    return exchange_error(crypto::errc::invalid_public_key,
                          "the mesh certificate's key: " + certified.error().message());
  }
  const crypto::PublicKey& key = *certified;
  if (key.type() != crypto::PublicKey::Type::ec_p256 &&
      key.type() != crypto::PublicKey::Type::ec_p384) {
    return exchange_error(crypto::errc::invalid_public_key,
                          "the mesh certificate's key is not ECDSA (" + key.description() + ")");
  }
  if (!crypto::verify_ecdsa_prehashed(key, transcript_digest(public_key, response.encapsulated_key),
                                      response.signature)) {
    return exchange_error(crypto::errc::signature_invalid, "invalid signature");
  }
  return {};
}

Result<std::shared_ptr<const InferenceSecret>, Error> accept_secret(
    const crypto::XWingKeyPair& keys, const SecretResponse& response,
    const crypto::Certificate& mesh_ca, std::chrono::system_clock::time_point now) {
  if (auto verified = verify_secret_response(keys.public_key, response, mesh_ca, now); !verified) {
    return verified.error();
  }
  auto context = crypto::hpke_setup_recipient(crypto::HpkeKem::xwing, response.encapsulated_key,
                                              keys.seed.bytes(), {});
  if (!context) return context.error();
  const crypto::SecretBytes secret = context->export_secret({}, kSecretSize);
  return std::make_shared<const InferenceSecret>(secret_id_for(keys.public_key), secret.bytes());
}

}  // namespace cipherline::protocol
