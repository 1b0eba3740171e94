// Fuzz target: SocketAddress::try_parse. Any accepted input must format back
// to a string that parses to the same address.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "cipherline/runtime/socket_address.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto parsed = cipherline::SocketAddress::try_parse(text);
  if (parsed) {
    const auto again = cipherline::SocketAddress::try_parse(parsed->to_string());
    if (!again || !(*again == *parsed)) std::abort();
  }
  return 0;
}
