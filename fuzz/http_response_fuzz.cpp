// Fuzz target: the HTTP/1.1 response reader (as the client uses it). The
// input (first byte: read size and HEAD flag) is what a server sent; reading
// heads and bodies must end in a value or a named error, never a crash, and
// bodies must respect the limit.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cipherline/runtime/sync_wait.hpp"
#include "memory_stream.hpp"
#include "message_reader.hpp"

using namespace cipherline;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Loop loop;
  if (size == 0) return 0;
  const std::size_t piece = 1 + (data[0] & 0x7f) % 61;
  const bool head_request = (data[0] & 0x80) != 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::string sink;
  fuzzing::MemoryByteStream stream(input, piece, sink);
  http::internal::MessageReader reader(stream, HTTP_RESPONSE);
  sync_wait(loop, [&]() -> Task<void> {
    for (int message = 0; message < 8; ++message) {
      http::ResponseHead head;
      auto got = co_await reader.read_response_head(
          head, head_request, {.max_head = 4096, .max_body = 8192}, http::ByteStream::kNoDeadline);
      if (!got) {
        if (got.error().message().empty()) std::abort();
        co_return;
      }
      std::size_t body = 0;
      while (true) {
        auto chunk = co_await reader.next_body_chunk();
        if (!chunk) co_return;
        if (chunk->empty()) break;
        body += chunk->size();
        if (body > 8192) std::abort();  // the limit was not enforced
      }
      if (!reader.keep_alive()) co_return;
    }
  }());
  return 0;
}
