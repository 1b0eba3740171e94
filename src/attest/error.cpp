#include "cipherline/attest/error.hpp"

#include <string>

namespace cipherline::attest {
namespace {

class AttestCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline.attest"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::malformed_evidence:
        return "malformed attestation evidence";
      case errc::unsupported_evidence:
        return "unsupported attestation evidence";
    }
    return "unknown attest error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& attest_category() noexcept {
  static const AttestCategory category;
  return category;
}

}  // namespace cipherline::attest
