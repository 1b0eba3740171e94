// chat_client: confidential inference from inside a C++ program, with no
// proxy in between — cipherline::client::Client attests the backend,
// exchanges a key with its secret service, encrypts the prompt and decrypts
// the answer as it streams.
//
// Start a development backend, then point this program at it:
//
//   cipherline backend --dev --state /tmp/cl --listen 127.0.0.1:8443 &
//   chat_client 127.0.0.1:8443 /tmp/cl "What does attestation prove?"
//
// The second argument is the backend's state directory: the example pins its
// manifest.json and trusts its development TEE roots and CA (and nothing
// else). Against a production deployment you would pin the published
// manifest and leave `development` unset, so only AMD's and Intel's roots
// count.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cipherline/client/client.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/runtime/sync_wait.hpp"

using namespace cipherline;

namespace {

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto bytes = std::as_bytes(std::span(text));
  return {bytes.begin(), bytes.end()};
}

// The request body: any OpenAI chat-completions JSON; "model" is required.
std::string chat_request(const std::string& prompt) {
  std::string body;
  json::JsonWriter(body)
      .begin_object()
      .key("model")
      .string("synthetic")
      .key("messages")
      .begin_array()
      .begin_object()
      .key("role")
      .string("user")
      .key("content")
      .string(prompt)
      .end_object()
      .end_array()
      .end_object();
  return body;
}

Task<int> run(std::string endpoint, std::filesystem::path state, std::string prompt) {
  auto host_port = http::Origin::parse("https://" + endpoint);
  auto trust = client::DevelopmentTrust::load(state);
  if (!host_port || !trust) {
    std::fprintf(stderr, "chat_client: %s\n",
                 (!host_port ? host_port.error() : trust.error()).message().c_str());
    co_return 2;
  }
  client::Client client({.session = {.endpoint = *host_port,
                                     .manifest = read_bytes(state / "manifest.json"),
                                     .development = std::move(*trust),
                                     .api_key = "dev"}});

  // 1. Attest, verify, exchange a key. The error says which step failed.
  if (auto r = co_await client.connect(); !r) {
    std::fprintf(stderr, "chat_client: %s\n", r.error().message().c_str());
    co_await client.close();
    co_return 1;
  }
  std::printf("verified: %s\n", client.session().last_report()->passed() ? "yes" : "no");

  // 2. A whole answer: the decrypted response JSON.
  auto answer = co_await client.chat(chat_request(prompt));
  if (answer) std::printf("answer: %s\n", answer->c_str());

  // 3. The same as a stream: each decrypted chunk as it arrives.
  auto chunks = client.stream_chat(chat_request(prompt));
  while (auto chunk = co_await chunks.next()) {
    if (!*chunk) {
      std::fprintf(stderr, "chat_client: %s\n", chunk->error().message().c_str());
      break;
    }
    std::printf("chunk: %s\n", (*chunk)->c_str());
  }

  co_await client.close();  // stops the background key rotation
  co_return answer ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: chat_client HOST:PORT STATE_DIR PROMPT\n");
    return 2;
  }
  Loop loop;
  return sync_wait(loop, run(argv[1], argv[2], argv[3]));
}
