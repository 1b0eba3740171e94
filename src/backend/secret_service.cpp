#include "cipherline/backend/secret_service.hpp"

#include "cipherline/backend/error.hpp"
#include "cipherline/backend/error_response.hpp"
#include "cipherline/protocol/secret_exchange.hpp"

namespace cipherline::backend {

void SecretService::add_routes(http::Router& router) {
  router.add("POST", "/privatemode/v1/secret",
             [this](http::Request& request, http::ResponseWriter& writer) -> Task<void> {
               co_await exchange(request, writer);
             },
             {.max_body = 64 * 1024});
}

Task<void> SecretService::exchange(http::Request& request, http::ResponseWriter& writer) {
  auto body = co_await request.body.read_all(64 * 1024);
  if (!body) {
    co_await respond_error(request, writer, 400, "reading the request: " + body.error().message());
    co_return;
  }
  auto public_key = protocol::parse_secret_request(*body);
  if (!public_key) {
    co_await respond_error(request, writer, 400, public_key.error().message());
    co_return;
  }
  auto offer = protocol::offer_secret(*public_key, mesh_key_, mesh_certificate_);
  if (!offer) {
    co_await respond_error(request, writer, 400, "secret exchange: " + offer.error().message());
    co_return;
  }
  auto stored = co_await store_.put(
      offer->secret, std::chrono::duration_cast<std::chrono::seconds>(protocol::kSecretStoredFor));
  if (!stored) {
    const int status = stored.error() == errc::secret_exists ? 409 : 500;
    co_await respond_error(request, writer, status, stored.error().message());
    co_return;
  }
  (void)co_await writer.respond(200, {{"Content-Type", "application/json"}},
                                protocol::secret_response_json(offer->response));
}

}  // namespace cipherline::backend
