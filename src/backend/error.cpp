#include "cipherline/backend/error.hpp"

#include <string>

namespace cipherline::backend {
namespace {

class BackendCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline.backend"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::secret_exists:
        return "secret already exists";
      case errc::no_secret:
        return "no secret for ID";
      case errc::store_failed:
        return "secret store failed";
      case errc::admission_refused:
        return "admission refused";
      case errc::bad_configuration:
        return "bad configuration";
    }
    return "unknown backend error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& backend_category() noexcept {
  static const BackendCategory category;
  return category;
}

}  // namespace cipherline::backend
