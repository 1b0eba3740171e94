// The client session over time: keys rotated in the background before they
// expire, a failed re-attestation ending the trust of the attestation before
// it, and the workspace's manifest log, append-only and hash-chained.
#include <gtest/gtest.h>

#include <set>

#include "cipherline/client/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using namespace std::chrono;
using testing::client_options;
using testing::read_text;
using testing::Relay;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

constexpr std::string_view kChat =
    R"({"model":"synthetic","messages":[{"role":"user","content":"still fresh"}]})";

TEST(Session, RotatesTheSecretInTheBackgroundBeforeItExpires) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto options = client_options(b);
              options.session.usable_for = seconds(2);
              options.session.refresh_margin = seconds(1);
              client::Client client(options);
              EXPECT_TRUE(co_await client.connect());
              const auto first = (co_await client.session().secret()).value()->id();
              (void)co_await sleep_for(milliseconds(1600));
              // Rotated at about 1 s by the background task, not by a request.
              EXPECT_GE(client.session().exchanges(), 2u);
              const auto second = (co_await client.session().secret()).value()->id();
              EXPECT_NE(first, second);
              auto r = co_await client.chat(std::string(kChat));
              EXPECT_TRUE(r) << (r ? "" : r.error().message());
              co_await client.close();
            }));
}

TEST(Session, AFailedReattestationStopsTheOldMeshCaAndSecret) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        // On the path: the first attestation reply is kept, and replayed
        // later (genuine evidence, but bound to an old nonce); the exchange
        // can be refused.
        std::string first_attestation;
        bool replay_attestation = false, refuse_exchange = false;
        Relay relay{.inject = [&](std::string_view path) -> std::optional<Relay::Injected> {
                      if (refuse_exchange && path == "/privatemode/v1/secret")
                        return Relay::Injected{503};
                      return std::nullopt;
                    },
                    .tamper =
                        [&](std::string_view path, std::string& body) {
                          if (path != "/privatemode/v1/attest") return;
                          if (first_attestation.empty()) first_attestation = body;
                          if (replay_attestation) body = first_attestation;
                        }};
        co_await relay.run(b, [&](client::ClientOptions options) -> Task<void> {
          client::Client client(options);
          auto connected = co_await client.connect();
          EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
          auto& session = client.session();
          const auto before = (co_await session.secret()).value();

          // The exchange fails, so the session re-attests, and that fails
          // (the replayed document, or the exchange beside it, whichever
          // answers first).
          refuse_exchange = replay_attestation = true;
          auto refreshed = co_await session.force_refresh();
          EXPECT_FALSE(refreshed);
          if (!refreshed) {
            EXPECT_TRUE(refreshed.error() == client::errc::attestation_failed ||
                        refreshed.error() == client::errc::bad_status)
                << refreshed.error().message();
          }
          EXPECT_FALSE(session.established());

          // The exchange would work again, but nothing the old attestation
          // verified is used: not its secret, nor its mesh CA for a new one.
          refuse_exchange = false;
          auto secret = co_await session.secret();
          EXPECT_FALSE(secret);
          if (!secret) {
            EXPECT_EQ(secret.error(), client::errc::attestation_failed);
            EXPECT_NE(secret.error().message().find("attestation failed: check"), std::string::npos)
                << secret.error().message();
          }
          auto again = co_await session.force_refresh();
          EXPECT_FALSE(again);
          auto chat = co_await client.chat(std::string(kChat));
          EXPECT_FALSE(chat);
          // A request that held the old secret still has it (it may finish).
          EXPECT_EQ(before->key().size(), 32u);

          // Once an attestation passes again, so do secrets and requests.
          replay_attestation = false;
          auto after = co_await session.secret();
          EXPECT_TRUE(after) << (after ? "" : after.error().message());
          if (after) EXPECT_NE((*after)->id(), before->id());
          auto answered = co_await client.chat(std::string(kChat));
          EXPECT_TRUE(answered) << (answered ? "" : answered.error().message());
          co_await client.close();
        });
      }));
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < text.size();) {
    const auto end = text.find('\n', at);
    out.push_back(text.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

std::string hex_sha256(std::string_view s) {
  return crypto::to_hex(crypto::sha256(std::as_bytes(std::span(s))));
}

TEST(Session, KeepsAHashChainedManifestLogAndRefusesAnEditedOne) {
  const auto workspace = std::filesystem::temp_directory_path() /
                         ("cipherline-workspace-" + std::to_string(::getpid()));
  std::filesystem::remove_all(workspace);
  Loop loop;
  sync_wait(
      loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
        auto options = client_options(b);
        options.session.workspace = workspace;
        for (int i = 0; i < 2; ++i) {
          client::Client client(options);
          EXPECT_TRUE(co_await client.connect());
          co_await client.close();
        }
        const auto log = workspace / "manifests" / "log.txt";
        const auto lines = lines_of(read_text(log));
        EXPECT_EQ(lines.size(), 2u);
        if (lines.size() != 2) co_return;
        // "<time> <previous line's SHA-256> <manifest SHA-256> <file>"
        const auto manifest = read_text(b.state_dir() / "manifest.json");
        EXPECT_NE(lines[0].find(" " + hex_sha256("") + " " + hex_sha256(manifest) + " 1.json"),
                  std::string::npos)
            << lines[0];
        EXPECT_NE(lines[1].find(" " + hex_sha256(lines[0]) + " "), std::string::npos) << lines[1];
        EXPECT_EQ(read_text(workspace / "manifests" / "2.json"), manifest);

        // Edit the first line: the next session refuses to extend the log.
        std::string edited = lines[0];
        edited[3] = edited[3] == '5' ? '6' : '5';  // another year, still a valid time
        {
          std::ofstream out(log, std::ios::trunc);
          out << edited << '\n' << lines[1] << '\n';
        }
        client::Client client(options);
        auto r = co_await client.connect();
        EXPECT_FALSE(r);
        if (!r) {
          EXPECT_EQ(r.error(), client::errc::bad_configuration);
          EXPECT_NE(r.error().message().find("line 2 does not chain"), std::string::npos)
              << r.error().message();
        }
        // Trying again does not get past the log either (it attests anew).
        auto again = co_await client.connect();
        EXPECT_FALSE(again);
        if (!again) EXPECT_EQ(again.error(), client::errc::bad_configuration);
        EXPECT_EQ(lines_of(read_text(log)).size(), 2u);
        co_await client.close();
      }));
  std::filesystem::remove_all(workspace);
}

}  // namespace
// Every file under `dir`, concatenated.
std::string all_files(const std::filesystem::path& dir) {
  std::string out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out += read_text(e.path());
  }
  return out;
}

TEST(Session, CapturesHoldNoSecretAndAttestEveryRequestMakesAFreshOne) {
  const auto workspace = std::filesystem::temp_directory_path() /
                         ("cipherline-captures-" + std::to_string(::getpid()));
  std::filesystem::remove_all(workspace);
  Loop loop;
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              auto options = client_options(b);
              options.session.workspace = workspace;
              {
                client::Client client(options);
                EXPECT_TRUE(co_await client.connect());
                const auto secret = (co_await client.session().secret()).value();
                const auto key = secret->key().bytes();
                const std::string raw(reinterpret_cast<const char*>(key.data()), key.size());
                const std::string files = all_files(workspace);
                EXPECT_FALSE(files.empty());
                EXPECT_EQ(files.find(raw), std::string::npos);
                EXPECT_EQ(files.find(crypto::to_hex(key)), std::string::npos);
                EXPECT_EQ(files.find(crypto::to_base64(key)), std::string::npos);
                // The secret's ID is public, and in the capture's exchange.
                const auto id = client.session().last_capture_id();
                EXPECT_NE(
                    read_text(workspace / "captures" / id / "exchange.json").find(secret->id()),
                    std::string::npos);
                co_await client.close();
              }
              options.session.attest_every_request = true;
              client::Client client(options);
              EXPECT_TRUE(co_await client.connect());
              std::set<std::string> ids{client.session().last_capture_id()};
              for (int i = 0; i < 3; ++i) {
                auto r = co_await client.chat(std::string(kChat));
                EXPECT_TRUE(r) << (r ? "" : r.error().message());
                ids.insert(client.session().last_capture_id());
              }
              // The connect and each request: an attestation and an exchange of its own.
              EXPECT_EQ(client.session().exchanges(), 4u);
              EXPECT_EQ(ids.size(), 4u);
              EXPECT_EQ(lines_of(read_text(workspace / "manifests" / "log.txt")).size(), 5u);
              co_await client.close();
            }));
  std::filesystem::remove_all(workspace);
}

}  // namespace cipherline
