// The chain of trust end to end on loopback: the development backend (every
// role, software TEE) and the in-process client — every route, streaming
// and not — then one failure per step.
#include <gtest/gtest.h>

#include "cipherline/attest/contrast/attestation_document.hpp"
#include "cipherline/attest/contrast/snp_evidence.hpp"
#include "cipherline/backend/error.hpp"
#include "cipherline/client/error.hpp"
#include "cipherline/crypto/base64.hpp"
#include "cipherline/crypto/error.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/json/writer.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using namespace std::chrono;
using testing::chat_request;
using testing::client_options;
using testing::content_of_chunks;
using testing::Relay;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

Task<std::vector<std::string>> collect(AsyncGenerator<Result<std::string, Error>> chunks,
                                       std::string* error = nullptr) {
  std::vector<std::string> out;
  while (auto piece = co_await chunks.next()) {
    if (!*piece) {
      if (error) *error = piece->error().message();
      break;
    }
    out.push_back(**piece);
  }
  co_return out;
}

TEST(Pipeline, EveryRouteStreamingAndNot) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              // Every step of the backend's own chain passed.
              for (const auto& r : b.reports()) EXPECT_TRUE(r.passed()) << r.to_text();
              client::Client client(client_options(b));
              auto connected = co_await client.connect();
              EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
              if (!connected) co_return;
              const auto* verified = client.session().last_report();
              EXPECT_TRUE(verified != nullptr && verified->passed());

              const std::string prompt = "attested tokens travel sealed";
              auto whole = co_await client.chat(chat_request(prompt));
              EXPECT_TRUE(whole) << (whole ? "" : whole.error().message());
              if (whole) {
                EXPECT_NE(whole->find("\"content\":\"" + prompt + "\""), std::string::npos)
                    << *whole;
                EXPECT_NE(whole->find("\"usage\""), std::string::npos);
              }

              std::string error;
              auto chunks = co_await collect(client.stream_chat(chat_request(prompt)), &error);
              EXPECT_EQ(error, "");
              EXPECT_EQ(content_of_chunks(chunks), prompt);
              EXPECT_GE(chunks.size(), 4u);  // one per word, then the finish chunk

              // Legacy completions, both ways.
              for (const bool stream : {false, true}) {
                auto r = co_await client.send(
                    protocol::Route::completions,
                    std::string(R"({"model":"synthetic","prompt":"complete me now","stream":)") +
                        (stream ? "true" : "false") + "}");
                EXPECT_TRUE(r);
                if (!r) continue;
                EXPECT_EQ(r->status(), 200);
                EXPECT_EQ(r->event_stream(), stream);
                auto text = co_await r->read_all();
                EXPECT_TRUE(text);
                if (text) {
                  for (const char* word : {"complete", "me", "now"}) {
                    EXPECT_NE(text->find(word), std::string::npos) << *text;
                  }
                  if (stream) EXPECT_NE(text->find("data: [DONE]"), std::string::npos);
                }
              }

              // Embeddings: deterministic vectors.
              std::string vectors[2];
              for (auto& v : vectors) {
                auto r = co_await client.send(protocol::Route::embeddings,
                                              R"({"model":"synthetic","input":"same text"})");
                EXPECT_TRUE(r);
                if (!r) co_return;
                EXPECT_EQ(r->status(), 200);
                auto text = co_await r->read_all();
                if (text) v = *text;
              }
              EXPECT_NE(vectors[0].find("\"embedding\""), std::string::npos) << vectors[0];
              EXPECT_EQ(vectors[0], vectors[1]);

              // Anthropic messages, both ways; the event names stay readable.
              for (const bool stream : {false, true}) {
                auto r = co_await client.send(
                    protocol::Route::messages,
                    std::string(R"({"model":"synthetic","max_tokens":64,"stream":)") +
                        (stream ? "true" : "false") +
                        R"(,"messages":[{"role":"user","content":"claude style words"}]})");
                EXPECT_TRUE(r);
                if (!r) continue;
                EXPECT_EQ(r->status(), 200);
                auto text = co_await r->read_all();
                EXPECT_TRUE(text);
                if (!text) continue;
                for (const char* word : {"claude", "style", "words"}) {
                  EXPECT_NE(text->find(word), std::string::npos) << *text;
                }
                if (stream) {
                  EXPECT_NE(text->find("event: message_start\n"), std::string::npos);
                  EXPECT_NE(text->find("event: message_stop\n"), std::string::npos);
                }
              }

              auto models = co_await client.list_models();
              EXPECT_TRUE(models);
              if (models) EXPECT_NE(models->find("\"synthetic\""), std::string::npos);
              co_await client.close();
            }));
}

TEST(Pipeline, ManifestMismatchIsRefusedAndNotRetried) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto options = client_options(b);
              options.session.manifest.push_back(std::byte{' '});  // one byte more
              client::Client client(options);
              auto r = co_await client.connect();
              EXPECT_FALSE(r);
              if (!r) {
                EXPECT_EQ(r.error(), client::errc::manifest_mismatch);
                EXPECT_NE(r.error().message().find("manifest mismatch"), std::string::npos)
                    << r.error().message();
              }
              co_await client.close();
            }));
}

TEST(Pipeline, WrongApiKeyIsUnauthorized) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              client::Client client(client_options(b, "not-a-key"));
              auto r = co_await client.connect();
              EXPECT_FALSE(r);
              if (!r) {
                EXPECT_EQ(r.error(), client::errc::unauthorized) << r.error().message();
                EXPECT_NE(r.error().message().find("invalid API key"), std::string::npos);
              }
              co_await client.close();
            }));
}

// Replaces the base64 value of `field` in a JSON body by f(decoded).
void rewrite_b64_field(std::string& body, std::string_view field,
                       const std::function<void(std::vector<std::byte>&)>& f) {
  const std::string key = "\"" + std::string(field) + "\":\"";
  const auto at = body.find(key);
  ASSERT_NE(at, std::string::npos) << body;
  const auto start = at + key.size();
  const auto end = body.find('"', start);
  auto bytes = crypto::from_base64(std::string_view(body).substr(start, end - start)).value();
  f(bytes);
  body.replace(start, end - start, crypto::to_base64(bytes));
}

// Connecting through `relay` fails with `code`, the message saying `text`.
void expect_refused_through(Relay& relay, client::errc code, std::string text) {
  Loop loop;
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              co_await relay.run(b, [&](client::ClientOptions options) -> Task<void> {
                client::Client client(options);
                auto r = co_await client.connect();
                EXPECT_FALSE(r);
                if (!r) {
                  EXPECT_EQ(r.error(), code) << r.error().message();
                  EXPECT_NE(r.error().message().find(text), std::string::npos)
                      << r.error().message();
                }
                co_await client.close();
              });
            }));
}

// A chat through `relay` (a gateway that misbehaves) in `format`, streamed
// or not: it must fail with `code`, the message saying `text`, and never
// hand out what arrived as a complete answer.
template <class Code>
void expect_chat_refused_through(Relay& relay, protocol::WireFormat format, bool stream, Code code,
                                 std::string text) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
        co_await relay.run(b, [&](client::ClientOptions options) -> Task<void> {
          options.chat_format = format;
          client::Client client(options);
          EXPECT_TRUE(co_await client.connect());
          Result<std::string, Error> r =
              Error(std::make_error_code(std::errc::io_error), "not run");
          if (stream) {
            auto pieces = client.stream_chat(chat_request("cut me"));
            std::string content;
            std::optional<Error> failed;
            while (auto piece = co_await pieces.next()) {
              if (!*piece) {
                failed = piece->error();
                break;
              }
              content += **piece;
            }
            r = failed ? Result<std::string, Error>(*failed) : Result<std::string, Error>(content);
          } else {
            r = co_await client.chat(chat_request("cut me"));
          }
          EXPECT_FALSE(r) << "accepted: " << (r ? *r : "");
          if (!r) {
            EXPECT_EQ(r.error(), code) << r.error().message();
            EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
          }
          co_await client.close();
        });
      }));
}

Relay tamper_chat(std::function<void(std::string&)> f) {
  return Relay{.tamper = [f](std::string_view path, std::string& body) {
    if (path == "/v1/chat/completions") f(body);
  }};
}

TEST(PipelineOae, AGatewayThatDropsTheFinalFrameIsCaught) {
  for (const bool stream : {true, false}) {
    auto relay = tamper_chat([](std::string& body) {
      if (!testing::drop_last_frame(body)) body.erase(body.size() - 1);  // a one-frame body
    });
    expect_chat_refused_through(relay, protocol::WireFormat::oae, stream,
                                crypto::errc::stream_truncated, "");
  }
}

TEST(PipelineOae, AGatewayThatReordersFramesIsCaught) {
  auto relay = tamper_chat([](std::string& body) {
    const auto at = testing::oae_frames(body);
    ASSERT_GE(at.size(), 3u);
    const std::string first = body.substr(at[0], at[1] - at[0]);
    const std::string second = body.substr(at[1], at[2] - at[1]);
    body.replace(at[0], first.size() + second.size(), second + first);
  });
  expect_chat_refused_through(relay, protocol::WireFormat::oae, true,
                              crypto::errc::authentication_failed, "does not authenticate");
}

TEST(PipelineOae, APlaintextAnswerToAnOaeRequestIsRefused) {
  // The gateway answers 200 with a plaintext event stream of its own.
  Relay relay;
  relay.tamper = [](std::string_view path, std::string& body) {
    if (path == "/v1/chat/completions")
      body = "data: {\"choices\":[{\"delta\":{\"content\":\"forged\"}}]}\n\n";
  };
  relay.forge_headers = [](std::string_view path, http::Headers& h) {
    if (path != "/v1/chat/completions") return;
    h.set("Content-Type", "text/event-stream");
  };
  expect_chat_refused_through(relay, protocol::WireFormat::oae, true,
                              client::errc::unauthenticated_response, "not an encrypted body");
}

TEST(Pipeline, APlaintext2xxMarkedUnencryptedIsRefused) {
  for (const auto format : {protocol::WireFormat::oae, protocol::WireFormat::fields}) {
    Relay relay;
    relay.tamper = [](std::string_view path, std::string& body) {
      if (path == "/v1/chat/completions")
        body = R"({"choices":[{"message":{"content":"forged"}}]})";
    };
    relay.forge_headers = [](std::string_view path, http::Headers& h) {
      if (path != "/v1/chat/completions") return;
      h.set("Content-Type", "application/json");
      h.set("Privatemode-Encrypted", "false");
    };
    expect_chat_refused_through(relay, format, false, client::errc::unauthenticated_response,
                                "Privatemode-Encrypted: false");
  }
}

TEST(PipelineFields, AnAnswerWithNothingSealedIsRefused) {
  // The gateway replaces the whole answer with JSON that has no encrypted
  // field; every field of it would be "plaintext", so nothing authenticates.
  auto relay = tamper_chat([](std::string& body) { body = R"({"id":"forged"})"; });
  expect_chat_refused_through(relay, protocol::WireFormat::fields, false,
                              crypto::errc::authentication_failed, "no encrypted field");
}

TEST(PipelineFields, AStreamWhereNoneWasAskedForIsRefused) {
  Relay relay;
  relay.tamper = [](std::string_view path, std::string& body) {
    if (path == "/v1/chat/completions") body = "data: [DONE]\n\n";
  };
  relay.forge_headers = [](std::string_view path, http::Headers& h) {
    if (path == "/v1/chat/completions") h.set("Content-Type", "text/event-stream");
  };
  expect_chat_refused_through(relay, protocol::WireFormat::fields, false,
                              client::errc::unauthenticated_response, "does not match the request");
}

TEST(PipelineFields, EndOfStreamBeforeDoneIsAnError) {
  auto relay = tamper_chat([](std::string& body) {
    const auto done = body.find("data: [DONE]");
    ASSERT_NE(done, std::string::npos) << body;
    body.erase(done);
  });
  expect_chat_refused_through(relay, protocol::WireFormat::fields, true,
                              crypto::errc::stream_truncated, "before [DONE]");
}

TEST(PipelineFields, AnInjectedEarlyDoneEndsTheAnswerThere) {
  // The gateway cuts the answer after its first token with a plaintext
  // [DONE]: the field format cannot tell (the OAE format can), but nothing
  // after it reaches the caller.
  Loop loop;
  auto relay = tamper_chat([](std::string& body) {
    const auto second = body.find("data: ", 1);
    ASSERT_NE(second, std::string::npos);
    body.insert(second,
                "data: [DONE]\n\ndata: {\"choices\":[{\"delta\":{\"content\":\"forged\"}}]}\n\n");
  });
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              co_await relay.run(b, [&](client::ClientOptions options) -> Task<void> {
                options.chat_format = protocol::WireFormat::fields;
                client::Client client(options);
                EXPECT_TRUE(co_await client.connect());
                std::string error;
                auto chunks =
                    co_await collect(client.stream_chat(chat_request("three word prompt")), &error);
                EXPECT_EQ(error, "");
                EXPECT_EQ(content_of_chunks(chunks), "three ");
                for (const auto& c : chunks) EXPECT_EQ(c.find("forged"), std::string::npos);
                co_await client.close();
              });
            }));
}

TEST(Pipeline, BothWireFormatsAreServedAtOnce) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              auto oae_options = client_options(b);
              auto fields_options = client_options(b);
              fields_options.chat_format = protocol::WireFormat::fields;
              client::Client oae(oae_options), fields(fields_options);
              EXPECT_TRUE(co_await oae.connect());
              EXPECT_TRUE(co_await fields.connect());
              for (auto* c : {&oae, &fields}) {
                auto r = co_await c->send(protocol::Route::chat_completions,
                                          chat_request("either format answers"));
                EXPECT_TRUE(r);
                if (!r) continue;
                EXPECT_EQ(r->wire_format(),
                          c == &oae ? protocol::WireFormat::oae : protocol::WireFormat::fields);
                auto text = co_await r->read_all();
                EXPECT_TRUE(text && text->find("either format answers") != std::string::npos)
                    << (text ? *text : text.error().message());
                std::string error;
                auto chunks =
                    co_await collect(c->stream_chat(chat_request("streamed too")), &error);
                EXPECT_EQ(error, "");
                EXPECT_EQ(content_of_chunks(chunks), "streamed too");
              }
              co_await oae.close();
              co_await fields.close();
            }));
}

TEST(Pipeline, TamperedCoordinatorEvidenceFailsAttestation) {
  Relay relay{.tamper = [](std::string_view path, std::string& body) {
    if (path != "/privatemode/v1/attest") return;
    rewrite_b64_field(body, "AttestationDoc", [](std::vector<std::byte>& doc_bytes) {
      const std::string_view json(reinterpret_cast<const char*>(doc_bytes.data()),
                                  doc_bytes.size());
      auto doc = attest::contrast::parse_attestation_document(json).value();
      auto evidence = attest::contrast::decode_snp_attestation(doc.raw_attestation_doc).value();
      evidence.report.raw[0x90] ^= std::byte{1};  // MEASUREMENT: a different launch
      doc.raw_attestation_doc = attest::contrast::encode_snp_attestation(evidence);
      const auto out = attest::contrast::write_attestation_document(doc);
      const auto b = std::as_bytes(std::span(out));
      doc_bytes.assign(b.begin(), b.end());
    });
  }};
  expect_refused_through(relay, client::errc::attestation_failed, "check ");
}

TEST(Pipeline, InvalidSecretServiceSignatureFailsTheExchange) {
  Relay relay{.tamper = [](std::string_view path, std::string& body) {
    if (path != "/privatemode/v1/secret") return;
    rewrite_b64_field(body, "EncapsulatedKey",
                      [](std::vector<std::byte>& enc) { enc.back() ^= std::byte{0x80}; });
  }};
  expect_refused_through(relay, client::errc::exchange_failed, "invalid signature");
}

TEST(Pipeline, WorkerWithFailingGpuIsNeverActivated) {
  Loop loop;
  attest::sim::GpuState bad_gpu;
  bad_gpu.driver_version = "535.00.01";  // not on the allow-list
  sync_wait(loop, with_backend({.gpu_states = {bad_gpu}}, [](backend::DevBackend& b) -> Task<void> {
              const auto& gpu_report = b.reports().back();
              EXPECT_FALSE(gpu_report.passed());
              const auto* failure = gpu_report.first_failure();
              EXPECT_TRUE(failure != nullptr && failure->name.find("driver") != std::string::npos)
                  << gpu_report.to_text();
              client::Client client(client_options(b));
              EXPECT_TRUE(co_await client.connect());  // the Coordinator is fine
              auto r = co_await client.chat(chat_request("never answered"));
              EXPECT_FALSE(r);
              if (!r) {
                EXPECT_NE(r.error().message().find("is not activated"), std::string::npos)
                    << r.error().message();
                EXPECT_NE(r.error().message().find("503"), std::string::npos);
              }
              co_await client.close();
            }));
}

TEST(Pipeline, UnknownSecretIsExchangedAgainAndRetriedOnce) {
  Loop loop;
  auto now = system_clock::now();
  auto store = std::make_shared<backend::MemorySecretStore>([&now] { return now; });
  sync_wait(loop, with_backend({.secret_store = store}, [&](backend::DevBackend& b) -> Task<void> {
              client::Client client(client_options(b));
              EXPECT_TRUE(co_await client.connect());
              EXPECT_EQ(client.session().exchanges(), 1u);
              // The backend forgets the secret (its TTL passed on its clock).
              now += hours(2);
              EXPECT_EQ(store->purge(), 1u);
              auto r = co_await client.chat(chat_request("still answered"));
              EXPECT_TRUE(r) << (r ? "" : r.error().message());
              if (r) EXPECT_NE(r->find("still answered"), std::string::npos);
              EXPECT_EQ(client.counters().retries, 1u);
              EXPECT_EQ(client.session().exchanges(), 2u);
              co_await client.close();
            }));
}

TEST(Pipeline, SecretRotationDuringALongStreamLetsItComplete) {
  Loop loop;
  std::string prompt;
  for (int i = 0; i < 40; ++i) prompt += "w" + std::to_string(i) + " ";
  prompt.pop_back();
  sync_wait(loop, with_backend({.model = {.tokens_per_second = 200}},
                               [&](backend::DevBackend& b) -> Task<void> {
                                 client::Client client(client_options(b));
                                 EXPECT_TRUE(co_await client.connect());
                                 auto first = (co_await client.session().secret()).value();
                                 auto stream = client.stream_chat(chat_request(prompt));
                                 std::vector<std::string> chunks;
                                 bool rotated = false;
                                 while (auto piece = co_await stream.next()) {
                                   EXPECT_TRUE(*piece);
                                   if (!*piece) break;
                                   chunks.push_back(**piece);
                                   if (chunks.size() == 5 && !rotated) {
                                     EXPECT_TRUE(co_await client.session().force_refresh());
                                     rotated = true;
                                   }
                                 }
                                 auto second = (co_await client.session().secret()).value();
                                 EXPECT_TRUE(rotated);
                                 EXPECT_NE(first->id(), second->id());
                                 EXPECT_EQ(content_of_chunks(chunks), prompt);
                                 // New requests use the new secret.
                                 auto r = co_await client.chat(chat_request("after rotation"));
                                 EXPECT_TRUE(r);
                                 co_await client.close();
                               }));
}

TEST(Pipeline, GatewaySeesOnlyCiphertext) {
  Loop loop;
  std::string seen, chat;
  // Words with letters outside hex, so ciphertext cannot spell them by chance.
  const std::string prompt = "zebra quartz lantern xylophone";
  sync_wait(
      loop,
      with_backend(
          {.gateway_tap =
               [&](std::string_view, std::string_view path, std::string_view b) {
                 seen.append(b);
                 seen += '\n';
                 if (path == "/v1/chat/completions") chat.append(b);
               }},
          [&](backend::DevBackend& b) -> Task<void> {
            client::Client client(client_options(b));
            EXPECT_TRUE(co_await client.connect());
            auto whole = co_await client.chat(chat_request(prompt));
            EXPECT_TRUE(whole);
            auto chunks = co_await collect(client.stream_chat(chat_request(prompt)));
            EXPECT_EQ(content_of_chunks(chunks), prompt);
            auto r = co_await client.send(
                protocol::Route::messages,
                R"({"model":"synthetic","max_tokens":9,"stream":true,"messages":[{"role":"user","content":")" +
                    prompt + R"("}]})");
            if (r) (void)co_await r->read_all();
            co_await client.close();
          }));
  ASSERT_GT(seen.size(), 1000u);  // the tap saw the traffic
  for (const char* word : {"zebra", "quartz", "lantern", "xylophone"}) {
    EXPECT_EQ(seen.find(word), std::string::npos) << word << " in plaintext at the gateway";
  }
  // Chat completions travel as OAE: not even the JSON's shape or the SSE
  // framing shows.
  ASSERT_GT(chat.size(), 200u);
  for (const char* marker : {"\"messages\"", "\"role\"", "\"choices\"", "data: ", "[DONE]"}) {
    EXPECT_EQ(chat.find(marker), std::string::npos) << marker << " visible in an OAE exchange";
  }
  // What it does see: the routing metadata and the event names.
  EXPECT_NE(seen.find("\"model\":\"synthetic\""), std::string::npos);
  EXPECT_NE(seen.find("event: content_block_delta"), std::string::npos);
}

}  // namespace
}  // namespace cipherline
