// multi_loop_client: one attested session for a whole process. N event
// loops on N threads each run a Client of their own (connections, counters)
// on one client::SharedSession, so the backend is attested once, one key is
// exchanged and one background rotation serves every loop.
//
//   cipherline backend --dev --state /tmp/cl --listen 127.0.0.1:8443 &
//   multi_loop_client 127.0.0.1:8443 /tmp/cl 4
//
// Prints one line per loop and then how many attestations and exchanges the
// process made (1 and 1, whatever N is).
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cipherline/client/client.hpp"
#include "cipherline/runtime/loop_group.hpp"
#include "cipherline/runtime/sync_wait.hpp"

using namespace cipherline;

namespace {

std::vector<std::byte> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto bytes = std::as_bytes(std::span(text));
  return {bytes.begin(), bytes.end()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: multi_loop_client HOST:PORT STATE_DIR LOOPS\n");
    return 2;
  }
  auto endpoint = http::Origin::parse(std::string("https://") + argv[1]);
  auto trust = client::DevelopmentTrust::load(argv[2]);
  const int loops = std::atoi(argv[3]);
  if (!endpoint || !trust || loops < 1) {
    std::fprintf(stderr, "multi_loop_client: %s\n",
                 !endpoint ? endpoint.error().message().c_str()
                 : !trust  ? trust.error().message().c_str()
                           : "LOOPS must be at least 1");
    return 2;
  }
  std::atomic<int> attestations{0}, exchanges{0}, failures{0};
  client::ClientOptions options{
      .session = {.endpoint = *endpoint,
                  .manifest = read_bytes(std::filesystem::path(argv[2]) / "manifest.json"),
                  .development = std::move(*trust),
                  .api_key = "dev",
                  .observe = [&](std::string_view step, std::chrono::microseconds) {
                    ++(step == "attest" ? attestations : exchanges);
                  }}};

  LoopGroup group(static_cast<std::size_t>(loops));
  // The session lives on loop 0 and is destroyed before the loops are.
  auto session = std::make_shared<client::SharedSession>(options.session, &group.loop(0));
  group.run([&](std::size_t index) -> Task<void> {
    client::Client client(options, session);       // this loop's own; the session is shared
    if (auto r = co_await client.connect(); !r) {  // the first attests, the others join it
      std::fprintf(stderr, "loop %zu: %s\n", index, r.error().message().c_str());
      ++failures;
    } else {
      const std::string request =
          R"({"model":"synthetic","messages":[{"role":"user","content":"loop )" +
          std::to_string(index) + R"("}]})";
      auto answer = co_await client.chat(request);
      if (answer) {
        std::printf("loop %zu: %zu bytes of decrypted answer\n", index, answer->size());
      } else {
        std::fprintf(stderr, "loop %zu: %s\n", index, answer.error().message().c_str());
        ++failures;
      }
    }
    co_await client.close();
  });
  sync_wait(group.loop(0), session->close());  // stops the one rotation, on its loop
  session.reset();
  std::printf("attestations: %d, exchanges: %d\n", attestations.load(), exchanges.load());
  return failures == 0 ? 0 : 1;
}
