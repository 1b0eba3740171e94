// The Privatemode key exchange (spec §3): X-Wing HPKE in export-only mode,
// signed by the secret service's mesh key — both sides, as pure functions.
//
//   // client
//   auto keys = crypto::xwing_generate();
//   std::string body = protocol::secret_request_json(keys.public_key);  // POST
//   /privatemode/v1/secret auto response = protocol::parse_secret_response(reply_body).value();
//   auto secret = protocol::accept_secret(keys, response, mesh_ca, now);  // InferenceSecret or
//   error
//
//   // secret service
//   auto pk = protocol::parse_secret_request(body).value();
//   auto offer = protocol::offer_secret(pk, mesh_key, mesh_certificate).value();
//   store(offer.secret);  reply(protocol::secret_response_json(offer.response));
//
// Contract:
// - HPKE base mode, KEM X-Wing (0x647a), HKDF-SHA256, export-only, empty
//   info; the inference secret is Export("", 32).
// - The service signs SHA-256(public key ‖ encapsulated key) as a prehashed
//   digest with its mesh certificate's ECDSA key (DER signature).
// - The client accepts only: a mesh certificate that chains to the attested
//   mesh CA at `now`, whose extended key usage lists serverAuth (as
//   Contrast issues them; a certificate without the extension is refused),
//   with an ECDSA key, whose signature over that digest — which covers the
//   client's own public key, so an answer to another key fails — verifies.
//   Each failure is an error naming the step: "secret exchange: the mesh
//   certificate does not chain to the mesh CA: …", "…: the mesh
//   certificate's extended key usage lacks serverAuth …", "…: invalid
//   signature", "…: the mesh certificate's key is not ECDSA".
// - JSON bodies as Go encodes them: {"PublicKey": b64} and
//   {"EncapsulatedKey": b64, "Signature": b64, "MeshCert": b64 (DER)}.
// - No I/O.
#pragma once

#include <chrono>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/crypto/certificate.hpp"
#include "cipherline/crypto/private_key.hpp"
#include "cipherline/crypto/xwing.hpp"
#include "cipherline/protocol/inference_secret.hpp"

namespace cipherline::protocol {

struct SecretResponse {
  std::vector<std::byte> encapsulated_key;
  std::vector<std::byte> signature;         // DER
  std::vector<std::byte> mesh_certificate;  // DER
};

struct SecretOffer {
  SecretResponse response;
  std::shared_ptr<const InferenceSecret> secret;
};

std::string secret_request_json(std::span<const std::byte> public_key);
Result<std::vector<std::byte>, Error> parse_secret_request(std::string_view json);
std::string secret_response_json(const SecretResponse& response);
Result<SecretResponse, Error> parse_secret_response(std::string_view json);

// The secret service's side.
Result<SecretOffer, Error> offer_secret(std::span<const std::byte> client_public_key,
                                        const crypto::PrivateKey& mesh_key,
                                        const crypto::Certificate& mesh_certificate);

// The client's side. verify_secret_response is its public half — the mesh
// certificate and the signature over `public_key`, every check but the
// decapsulation (so a recorded exchange can be checked again without the
// private key); accept_secret runs it, then derives the secret.
Result<void, Error> verify_secret_response(std::span<const std::byte> public_key,
                                           const SecretResponse& response,
                                           const crypto::Certificate& mesh_ca,
                                           std::chrono::system_clock::time_point now);
Result<std::shared_ptr<const InferenceSecret>, Error> accept_secret(
    const crypto::XWingKeyPair& keys, const SecretResponse& response,
    const crypto::Certificate& mesh_ca, std::chrono::system_clock::time_point now);

}  // namespace cipherline::protocol
