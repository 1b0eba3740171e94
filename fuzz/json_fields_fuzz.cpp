// Fuzz target: the JSON field walk. Arbitrary input gives a result or a
// named error, never a crash. For a valid object, a transform that copies
// each value reproduces the input, and sealing it with a RequestCipher then
// opening it with a ResponseCipher restores it byte for byte.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/crypto/error.hpp"
#include "cipherline/protocol/json_fields.hpp"
#include "cipherline/protocol/request_cipher.hpp"

namespace {

using namespace cipherline;
using namespace cipherline::protocol;

std::shared_ptr<const InferenceSecret> secret() {
  static const auto s =
      std::make_shared<const InferenceSecret>("fuzz", std::vector<std::byte>(32, std::byte{0x42}));
  return s;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // The first byte picks the route, so that plain and encrypted fields vary.
  const Route route = size == 0 ? Route::chat_completions : static_cast<Route>(data[0] % 4);
  const PlainFields plain = plain_request_fields(route);

  std::size_t fields = 0;
  const FieldTransform copy = [&](std::string_view value, std::string& out) -> Result<void, Error> {
    check(!value.empty());
    ++fields;
    out.append(value);
    return {};
  };
  std::string copied;
  auto walked = seal_json_fields(text, plain, copy, copied);
  if (!walked) {
    check(walked.error() == crypto::errc::invalid_json);
    check(!walked.error().message().empty());
    check(copied.empty() && fields == 0);
    std::string opened;
    auto o = open_json_fields(text, plain, copy, opened);
    check(o.error() == crypto::errc::invalid_json && fields == 0);
    return 0;
  }
  check(copied == text);

  RequestCipher client(secret(), FieldNonce{});
  std::string sealed;
  seal_json_fields(
      text, plain, [&](std::string_view raw, std::string& out) { return client.seal(raw, out); },
      sealed)
      .value();

  ResponseCipher server(secret());
  std::string opened;
  auto o = open_json_fields(
      sealed, plain, [&](std::string_view f, std::string& out) { return server.open(f, out); },
      opened);
  check(static_cast<bool>(o));
  check(opened == text);

  // Opening the input itself (no encrypted fields in it, but maybe values
  // that look like them) either succeeds without anything to open or fails
  // with a named error.
  ResponseCipher other(secret());
  std::string garbage;
  auto g = open_json_fields(
      text, plain, [&](std::string_view f, std::string& out) { return other.open(f, out); },
      garbage);
  if (g) {
    check(fields == 0 && garbage == text);
  } else {
    check(!g.error().message().empty());
  }
  return 0;
}
