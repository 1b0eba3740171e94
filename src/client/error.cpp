#include "cipherline/client/error.hpp"

#include <string>

namespace cipherline::client {
namespace {

class ClientCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline.client"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::manifest_mismatch:
        return "manifest mismatch";
      case errc::attestation_failed:
        return "attestation failed";
      case errc::exchange_failed:
        return "secret exchange failed";
      case errc::unauthorized:
        return "unauthorized";
      case errc::bad_status:
        return "unexpected status";
      case errc::invalid_request:
        return "invalid request";
      case errc::bad_configuration:
        return "bad configuration";
      case errc::unauthenticated_response:
        return "unauthenticated response";
      case errc::response_cut_off:
        return "response cut off";
    }
    return "unknown client error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& client_category() noexcept {
  static const ClientCategory category;
  return category;
}

}  // namespace cipherline::client
