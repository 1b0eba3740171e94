// Fuzz target: ResponseStream, the client's opening of an encrypted answer.
// The first byte picks the format, stream or body and the read size; the
// rest is what the gateway sent. Arbitrary bytes must end in a named error
// or in nothing released: no OAE message can authenticate by chance, and a
// field-format stream can release only the plaintext [DONE]. Then the same
// bytes, sealed by the worker's side as events, must open to themselves.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cipherline/protocol/oae_carriage.hpp"
#include "cipherline/protocol/response_stream.hpp"

namespace {

using namespace cipherline;

const std::vector<std::byte> kSecret(32, std::byte{0x42});
const crypto::OaeHeader kRequestSalt{};
const crypto::OaeHeader kResponseSalt{std::byte{1}};

std::shared_ptr<const protocol::InferenceSecret> field_secret() {
  static const auto s = std::make_shared<const protocol::InferenceSecret>("fuzz", kSecret);
  return s;
}

protocol::ResponseStream oae_stream(bool event_stream) {
  crypto::OaeRequester requester(kSecret, kRequestSalt);
  return protocol::ResponseStream(protocol::Route::chat_completions, event_stream,
                                  requester.accept_response(kResponseSalt).value(),
                                  {.max_body = 1 << 20, .max_event = 4096});
}

// Feeds `bytes` in reads of `piece`, then finishes; returns what was released.
std::string run(protocol::ResponseStream& s, std::string_view bytes, std::size_t piece,
                bool& failed, std::vector<std::string>* data = nullptr) {
  std::string released;
  failed = false;
  for (std::size_t at = 0; at < bytes.size() && !failed; at += piece) {
    auto r = s.feed(bytes.substr(at, piece));
    released += s.output();
    if (data) {
      for (const auto& e : s.events()) data->emplace_back(e.data);
    }
    if (!r && r.error().message().empty()) std::abort();
    failed = !r;
    s.consume();
  }
  if (!failed) {
    auto r = s.finish();
    released += s.output();
    if (!r && r.error().message().empty()) std::abort();
    failed = !r;
  }
  return released;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const unsigned mode = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const bool event_stream = (mode & 1) != 0;
  const std::size_t piece = 1 + (mode >> 2);

  // Raw gateway bytes.
  bool failed = false;
  if ((mode & 2) != 0) {
    auto s = oae_stream(event_stream);
    const std::string released = run(s, bytes, piece, failed);
    // Nothing authenticates: nothing released, and the end is never complete.
    if (!released.empty() || !failed) std::abort();
  } else {
    protocol::ResponseStream s(protocol::Route::chat_completions, event_stream,
                               std::make_unique<protocol::RequestCipher>(field_secret()),
                               {.max_body = 1 << 20, .max_event = 4096});
    std::vector<std::string> events;
    (void)run(s, bytes, piece, failed, &events);
    for (const auto& e : events) {
      if (!protocol::is_done_event(e)) std::abort();  // only [DONE] travels in plaintext
    }
  }

  // The same bytes as the worker would seal them: one event per line.
  if (!event_stream || bytes.find_first_of("\r\n") != std::string_view::npos) return 0;
  crypto::OaeRequester requester(kSecret, kRequestSalt);
  auto responder = crypto::OaeResponder::create(kSecret, kRequestSalt, &kResponseSalt).value();
  std::string body;
  const std::string event = "data: " + std::string(bytes) + "\n\n";
  if (event.size() > 4096) return 0;
  (void)protocol::seal_frame(responder.response(), event, false, body);
  (void)protocol::seal_frame(responder.response(), "data: [DONE]\n\n", true, body);
  auto s = oae_stream(true);
  const std::string released = run(s, body, piece, failed);
  if (failed || released != event + "data: [DONE]\n\n") std::abort();
  return 0;
}
