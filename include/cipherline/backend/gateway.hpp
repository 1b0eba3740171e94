// Gateway: the backend's front door (Privatemode's API gateway; spec §1.1,
// §1.3). It terminates the client's TLS, checks the API key, relays the
// key-setup calls to the Coordinator and the secret service, and relays
// inference requests to a worker serving the requested model, over mTLS
// with its mesh certificate. It never sees plaintext: prompts and tokens
// pass through it encrypted.
//
//   Gateway gateway({.api_keys = {"dev"}}, mesh_client);
//   gateway.set_attest(...);  gateway.set_secret(...);
//   gateway.add_worker("synthetic", worker_origin);
//   http::HttpServer server(gateway.router());
//
// Contract:
// - Every route but /healthz needs `Authorization: Bearer <key>` with one of
//   the configured keys (compared in constant time): else 401 "missing API
//   key" / "invalid API key", in respond_error's plaintext format.
// - POST /privatemode/v1/attest and /privatemode/v1/secret go to the
//   handlers given (in one process, the Coordinator's and the secret
//   service's own).
// - POST /v1/chat/completions, /v1/completions, /v1/embeddings,
//   /v1/messages, /v1/audio/transcriptions go to a worker for the model
//   named by the Privatemode-Target-Model header (400 if it is missing, 400
//   with code model_not_found for a model no worker serves), round robin
//   among that model's workers; GET /v1/models and /v1/models/{id}, and POST
//   /unstructured/* (which name no model), to any worker. The request body
//   and the worker's response
//   are relayed as they are, the response streamed chunk by chunk; of the
//   headers only Content-Type, Accept and the Privatemode-* ones travel on.
//   A worker that refuses the connection passes the request to the next;
//   when every one refused, 502 with code not_forwarded (the request went
//   to no worker); any other failure to reach a worker, 502 bad_gateway.
// - `tap`, if set, sees every request body after TLS termination and every
//   response chunk before it goes to the client (for tests that prove the
//   gateway handles ciphertext only).
// - Loop thread only; the mesh client is borrowed.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cipherline/http/client.hpp"
#include "cipherline/http/router.hpp"

namespace cipherline::backend {

// kHopConnections: the connections one hop (gateway to a worker, worker to
// its model) may hold to one peer. A stream holds one for its lifetime, so
// this bounds the concurrent streams; above it, requests wait for one.
inline constexpr std::size_t kHopConnections = 16384;

struct GatewayOptions {
  std::vector<std::string> api_keys;
  std::uint64_t max_body = 16 * 1024 * 1024;
  // Relay the workers' /plain/ routes (benchmarks only; see worker.hpp).
  bool plaintext_routes = false;
  // (direction "request" or "response", path, bytes)
  std::function<void(std::string_view, std::string_view, std::string_view)> tap{};
};

class Gateway {
 public:
  Gateway(GatewayOptions options, http::HttpClient& mesh_client)
      : options_(std::move(options)), client_(mesh_client) {}

  void set_attest(http::Handler handler) { attest_ = std::move(handler); }
  void set_secret(http::Handler handler) { secret_ = std::move(handler); }
  void add_worker(const std::string& model, http::Origin worker) {
    workers_[model].origins.push_back(std::move(worker));
  }

  // router: the gateway's routes (the Gateway must outlive it).
  http::Router router();

 private:
  struct Pool {
    std::vector<http::Origin> origins;
    std::size_t next = 0;
  };
  bool authorized(const http::Request& request, std::string& why, std::string_view& code) const;
  Task<void> relay(http::Request& request, http::ResponseWriter& writer, Pool& pool);
  Task<void> route_inference(http::Request& request, http::ResponseWriter& writer);

  GatewayOptions options_;
  http::HttpClient& client_;
  http::Handler attest_, secret_;
  std::map<std::string, Pool, std::less<>> workers_;
};

}  // namespace cipherline::backend
