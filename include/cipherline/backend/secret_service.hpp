// SecretService: the secret service role's key exchange endpoint,
// `POST /privatemode/v1/secret` (spec §3, §7).
//
//   SecretService service(mesh_key, mesh_certificate, store);
//   http::Router router;
//   service.add_routes(router);
//
// Contract:
// - A request {"PublicKey": b64} gets {"EncapsulatedKey", "Signature",
//   "MeshCert"} (protocol::offer_secret), after the secret is stored under
//   its ID for protocol::kSecretStoredFor.
// - A public key already exchanged gets 409 "secret \"<id>\" already
//   exists" (create-only: a replay cannot replace a key in use); a malformed
//   body gets 400 naming what is wrong; a store failure 500. Errors use
//   respond_error's format. Request bodies over 64 KiB get 413.
// - Loop thread only; the store is borrowed and must outlive the service.
#pragma once

#include "cipherline/backend/secret_store.hpp"
#include "cipherline/crypto/certificate.hpp"
#include "cipherline/crypto/private_key.hpp"
#include "cipherline/http/router.hpp"

namespace cipherline::backend {

class SecretService {
 public:
  SecretService(crypto::PrivateKey mesh_key, crypto::Certificate mesh_certificate,
                SecretStore& store)
      : mesh_key_(std::move(mesh_key)),
        mesh_certificate_(std::move(mesh_certificate)),
        store_(store) {}

  void add_routes(http::Router& router);
  Task<void> exchange(http::Request& request, http::ResponseWriter& writer);

 private:
  crypto::PrivateKey mesh_key_;
  crypto::Certificate mesh_certificate_;
  SecretStore& store_;
};

}  // namespace cipherline::backend
