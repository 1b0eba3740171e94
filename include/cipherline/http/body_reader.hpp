// BodyReader: the body of an incoming HTTP message, pulled chunk by chunk.
//
//   while (true) {
//     auto chunk = co_await request.body().next();
//     if (!chunk) return fail(chunk.error());   // body_too_large, malformed, reset…
//     if (chunk->empty()) break;                // end of body
//     consume(*chunk);
//   }
//   std::string all = (co_await request.body().read_all()).value();
//
// Contract:
// - Chunks view the connection's read buffer (no copy): each stays valid
//   until the next call. Chunked transfer coding is already removed.
// - The body's size is limited by its route (server) or the client's
//   options; beyond it, http::errc::body_too_large.
// - Reading drives the connection: bytes are read from the network only
//   when a chunk is asked for (backpressure reaches the sender).
// - One reader per message; loop thread only; valid while its message is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "cipherline/runtime/result.hpp"
#include "cipherline/runtime/task.hpp"
#include "cipherline/runtime/tcp_stream.hpp"

namespace cipherline::http {

namespace internal {
class MessageReader;
}

class BodyReader {
 public:
  explicit BodyReader(internal::MessageReader* reader) noexcept : reader_(reader) {}

  Task<Result<ConstBuffer, Error>> next();
  // next_burst: like next(), then every further piece already received
  // (no read from the network for them): what a relay forwards in one write
  // and a parser takes in one feed. The view is the one piece, or `scratch`
  // holding several; empty at the end of the body. Valid until the next call.
  Task<Result<std::string_view, Error>> next_burst(std::string& scratch);
  // read_all collects the rest of the body into a string; bodies larger than
  // `limit` fail with body_too_large (the connection then closes).
  Task<Result<std::string, Error>> read_all(std::size_t limit = 64 * 1024 * 1024);
  bool complete() const noexcept;

 private:
  internal::MessageReader* reader_;
};

}  // namespace cipherline::http
