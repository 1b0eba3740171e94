#include "cipherline/http/error.hpp"

#include <string>

namespace cipherline::http {
namespace {

class HttpCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "cipherline.http"; }

  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::sse_event_too_large:
        return "SSE event larger than the reader's size limit";
    }
    return "unknown http error " + std::to_string(code);
  }

  std::error_condition default_error_condition(int code) const noexcept override {
    switch (static_cast<errc>(code)) {
      case errc::sse_event_too_large:
        return std::errc::message_size;
    }
    return {code, *this};
  }
};

}  // namespace

const std::error_category& http_category() noexcept {
  static const HttpCategory category;
  return category;
}

}  // namespace cipherline::http
