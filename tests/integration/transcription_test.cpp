// Transcriptions end to end (spec §5.4): a multipart form through the
// in-process Client, the gateway and the worker to the synthetic model and
// back — the transcript shows the file and the form values arrived
// decrypted, the gateway sees neither the file nor the prompt, streams end
// at [DONE] with the forced usage, bad input is refused naming the problem;
// then the same through the proxy with curl -F.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include <cstdio>

#include "../http/server_fixture.hpp"
#include "cipherline/client/error.hpp"
#include "cipherline/client/proxy.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/multipart.hpp"
#include "cipherline/http/server.hpp"
#include "cipherline/runtime/offload.hpp"
#include "cipherline/runtime/sleep.hpp"
#include "pipeline_fixture.hpp"

namespace cipherline {
namespace {

using testing::client_options;
using ::testing::HasSubstr;
using testing::with_backend;

const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new testing::StateDirCleanup);

// Words with letters outside hex, so that ciphertext cannot spell them.
constexpr std::string_view kPrompt = "zebra quartz lantern";
constexpr std::string_view kFileMarker = "jackdaws love my big sphinx";

// 32000 bytes (one second of 16 kHz 16-bit mono): a marker, then binary.
const std::string kAudio = [] {
  std::string s(kFileMarker);
  while (s.size() < 32000) s += static_cast<char>(s.size() * 13);
  return s;
}();

std::string expected_transcript(std::string_view language, std::string_view prompt) {
  const auto digest = crypto::sha256(std::as_bytes(std::span(kAudio)));
  std::string hex(16, '\0');
  crypto::hex_encode(std::span(digest).first(8), hex.data());
  std::string t =
      "synthetic transcript of 32000 bytes, sha256 " + hex + ", language " + std::string(language);
  if (!prompt.empty()) t += ", prompt: " + std::string(prompt);
  return t + ".";
}

struct Form {
  std::string body;
  std::string type;
};

Form make_form(std::vector<std::pair<std::string, std::string>> values, bool file = true) {
  Form f;
  http::MultipartWriter w(f.body, http::random_boundary());
  for (const auto& [name, value] : values) w.field(name, value).value();
  if (file) w.file("file", "recording-secret-name.wav", "audio/wav", kAudio).value();
  w.finish();
  f.type = w.content_type();
  return f;
}

Task<Result<client::InferenceResponse, Error>> transcribe(client::Client& client, Form form) {
  return client.send(protocol::Route::audio_transcriptions, std::move(form.body),
                     {{"Content-Type", form.type}});
}

TEST(Transcription, ThroughTheClientSealedOnTheWire) {
  Loop loop;
  std::string request_wire, response_wire;
  sync_wait(
      loop,
      with_backend(
          {.gateway_tap =
               [&](std::string_view direction, std::string_view path, std::string_view bytes) {
                 if (path != "/v1/audio/transcriptions") return;
                 (direction == "request" ? request_wire : response_wire).append(bytes);
               }},
          [&](backend::DevBackend& b) -> Task<void> {
            client::Client client(client_options(b));
            auto connected = co_await client.connect();
            EXPECT_TRUE(connected) << (connected ? "" : connected.error().message());
            if (!connected) co_return;

            // verbose_json: text, language, duration and a segment.
            auto r = co_await transcribe(client, make_form({{"model", "synthetic"},
                                                            {"language", "qx"},
                                                            {"prompt", std::string(kPrompt)},
                                                            {"response_format", "verbose_json"},
                                                            {"temperature", "0"}}));
            EXPECT_TRUE(r) << (r ? "" : r.error().message());
            if (!r) co_return;
            EXPECT_EQ(r->status(), 200);
            EXPECT_FALSE(r->event_stream());
            auto text = co_await r->read_all();
            EXPECT_TRUE(text) << (text ? "" : text.error().message());
            if (!text) co_return;
            simdjson::dom::parser parser;
            simdjson::dom::element root;
            if (parser.parse(*text).get(root) != simdjson::SUCCESS) {
              ADD_FAILURE() << "not JSON: " << *text;
              co_return;
            }
            EXPECT_EQ(std::string_view(root["text"]), expected_transcript("qx", kPrompt)) << *text;
            EXPECT_EQ(std::string_view(root["language"]), "qx");
            EXPECT_EQ(double(root["duration"]), 1.0);
            EXPECT_EQ(simdjson::dom::array(root["segments"]).size(), 1u);

            // json: {"text", "usage"}; no prompt or language given.
            auto plain = co_await transcribe(client, make_form({{"model", "synthetic"}}));
            EXPECT_TRUE(plain);
            if (plain) {
              auto body = co_await plain->read_all();
              EXPECT_TRUE(body);
              if (body) {
                EXPECT_EQ(*body, R"({"text":")" + expected_transcript("en", "") +
                                     R"(","usage":{"type":"duration","seconds":1}})");
              }
            }
            co_await client.close();
          }));

  // On the wire: a new boundary, the form's routing values in plaintext,
  // neither the file, its name and type nor the prompt.
  ASSERT_GT(request_wire.size(), 2 * kAudio.size());
  EXPECT_EQ(request_wire.find(kFileMarker), std::string::npos) << "the file in plaintext";
  EXPECT_EQ(request_wire.find(kPrompt), std::string::npos) << "the prompt in plaintext";
  EXPECT_EQ(request_wire.find("zebra"), std::string::npos);
  EXPECT_EQ(request_wire.find("recording-secret-name"), std::string::npos);
  EXPECT_EQ(request_wire.find("audio/wav"), std::string::npos);
  EXPECT_EQ(request_wire.find("verbose_json"), std::string::npos);
  EXPECT_THAT(request_wire, HasSubstr("name=\"model\"\r\n\r\nsynthetic\r\n"));
  EXPECT_THAT(request_wire, HasSubstr("name=\"file\"; filename=\"file\""));
  // The answer: duration and usage in plaintext, the transcript sealed.
  EXPECT_THAT(response_wire, HasSubstr("\"duration\":1"));
  EXPECT_THAT(response_wire, HasSubstr("\"usage\":{"));
  EXPECT_EQ(response_wire.find("synthetic transcript"), std::string::npos);
  EXPECT_EQ(response_wire.find("zebra"), std::string::npos);
}

TEST(Transcription, StreamsDeltasWithTheUsageTheWorkerForces) {
  Loop loop;
  sync_wait(loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
              client::Client client(client_options(b));
              EXPECT_TRUE(co_await client.connect());
              auto r = co_await transcribe(client, make_form({{"model", "synthetic"},
                                                              {"stream", "true"},
                                                              {"language", "qx"},
                                                              {"prompt", std::string(kPrompt)}}));
              EXPECT_TRUE(r) << (r ? "" : r.error().message());
              if (!r) co_return;
              EXPECT_EQ(r->status(), 200);
              EXPECT_TRUE(r->event_stream());
              std::vector<std::string> data;
              while (true) {
                auto more = co_await r->read();
                EXPECT_TRUE(more) << (more ? "" : more.error().message());
                if (!more || !*more) break;
                for (const auto& e : r->events()) data.emplace_back(e.data);
              }
              EXPECT_GE(data.size(), 3u);
              if (data.size() < 3) co_return;
              EXPECT_EQ(data.back(), "[DONE]");
              simdjson::dom::parser parser;
              std::string joined;
              for (std::size_t i = 0; i + 2 < data.size(); ++i) {
                simdjson::dom::element e;
                if (parser.parse(data[i]).get(e) != simdjson::SUCCESS) {
                  ADD_FAILURE() << "not JSON: " << data[i];
                  co_return;
                }
                EXPECT_EQ(std::string_view(e["type"]), "transcript.text.delta");
                joined += std::string_view(e["delta"]);
                // The client did not ask for continuous usage; the worker
                // forced it (spec §5.4).
                EXPECT_EQ(e["usage"]["output_tokens"].get_uint64().value(), i + 1) << data[i];
              }
              EXPECT_EQ(joined, expected_transcript("qx", kPrompt));
              EXPECT_THAT(data[data.size() - 2], HasSubstr("\"type\":\"transcript.text.done\""));
              co_await client.close();
            }));
}

TEST(Transcription, BadInputIsRefusedNamingTheProblem) {
  Loop loop;
  sync_wait(
      loop, with_backend({}, [](backend::DevBackend& b) -> Task<void> {
        client::Client client(client_options(b));
        EXPECT_TRUE(co_await client.connect());
        const auto refused = [&](Form form) -> Task<std::string> {
          auto r = co_await transcribe(client, std::move(form));
          EXPECT_FALSE(r);
          if (r) co_return std::string("accepted");
          EXPECT_EQ(r.error(), client::errc::invalid_request);
          co_return r.error().message();
        };
        EXPECT_THAT(co_await refused(make_form({{"language", "de"}})),
                    HasSubstr("missing form field \"model\""));
        EXPECT_THAT(co_await refused({R"({"model":"synthetic"})", "application/json"}),
                    HasSubstr("is not multipart/form-data"));
        EXPECT_THAT(
            co_await refused({"--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\n",
                              "multipart/form-data; boundary=b"}),
            HasSubstr("part 0 (\"model\"): no boundary after its content"));
        EXPECT_THAT(co_await refused(make_form({{"model", "synthetic"}, {"stream", "yes"}})),
                    HasSubstr("form field \"stream\" must be true or false"));
        EXPECT_THAT(
            co_await refused(make_form({{"model", "synthetic"}, {"response_format", "srt"}})),
            HasSubstr("answers JSON only"));

        // The model's own refusal travels encrypted and is opened.
        auto nofile = co_await transcribe(
            client, make_form({{"model", "synthetic"}, {"language", "de"}}, false));
        EXPECT_TRUE(nofile) << (nofile ? "" : nofile.error().message());
        if (nofile) {
          EXPECT_EQ(nofile->status(), 400);
          EXPECT_TRUE(nofile->encrypted());
          auto body = co_await nofile->read_all();
          EXPECT_TRUE(body);
          if (body) EXPECT_THAT(*body, HasSubstr("missing form file \\\"file\\\""));
        }
        // A form with nothing to seal cannot get a sealed answer.
        auto unsealed = co_await transcribe(client, make_form({{"model", "synthetic"}}, false));
        EXPECT_TRUE(unsealed);
        if (unsealed) {
          EXPECT_EQ(unsealed->status(), 400);
          EXPECT_FALSE(unsealed->encrypted());
        }
        co_await client.close();
      }));
}

TEST(Transcription, AFileOverHalfTheBackendsBodyLimitStillFitsWhenSealed) {
  // 9 MiB of audio is 18 MiB sealed, over the gateway's and worker's 16 MiB
  // default; their transcription routes take what such a form seals to.
  std::string audio(9 << 20, '\0');
  for (std::size_t i = 0; i < audio.size(); ++i) audio[i] = static_cast<char>(i % 251);
  const auto digest = crypto::sha256(std::as_bytes(std::span(audio)));
  std::string hex(16, '\0');
  crypto::hex_encode(std::span(digest).first(8), hex.data());
  Form form;
  http::MultipartWriter w(form.body, http::random_boundary());
  w.field("model", "synthetic").value();
  w.file("file", "long.wav", "audio/wav", audio).value();
  w.finish();
  form.type = w.content_type();
  Loop loop;
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              client::Client client(client_options(b));
              EXPECT_TRUE(co_await client.connect());
              auto r = co_await transcribe(client, std::move(form));
              EXPECT_TRUE(r) << (r ? "" : r.error().message());
              if (r) {
                EXPECT_EQ(r->status(), 200);
                auto body = co_await r->read_all();
                EXPECT_TRUE(body) << (body ? "" : body.error().message());
                if (body) {
                  EXPECT_THAT(*body, HasSubstr("synthetic transcript of 9437184 bytes, sha256 " +
                                               hex + ","));
                }
              }
              co_await client.close();
            }));
}

TEST(Transcription, ThroughTheProxyWithCurl) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no curl";
  const auto dir = std::filesystem::temp_directory_path() /
                   ("cipherline-transcription-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto audio = dir / "speech.wav";
  {
    std::ofstream out(audio, std::ios::binary);
    out << kAudio;
  }
  Loop loop;
  sync_wait(loop, with_backend({}, [&](backend::DevBackend& b) -> Task<void> {
              client::ProxyOptions options{.client = client_options(b)};
              co_await testing::with_proxy(
                  options, [&](client::Proxy& proxy, SocketAddress at) -> Task<void> {
                    co_await testing::wait_verified(proxy);
                    const std::string url = "http://" + at.to_string() + "/v1/audio/transcriptions";
                    const std::string curl = "curl -s --noproxy '*' -w '\\n%{http_code}' ";
                    auto ok = co_await testing::run_command(
                        curl + "-F model=synthetic -F language=qx -F 'prompt=" +
                        std::string(kPrompt) + "' -F response_format=json -F 'file=@" +
                        audio.string() + ";type=audio/wav' " + url);
                    EXPECT_THAT(
                        ok, HasSubstr(R"({"text":")" + expected_transcript("qx", kPrompt) + "\""));
                    EXPECT_TRUE(ok.ends_with("\n200")) << ok;

                    auto streamed = co_await testing::run_command(
                        curl + "-F model=synthetic -F stream=true -F 'file=@" + audio.string() +
                        "' " + url);
                    EXPECT_THAT(streamed, HasSubstr("data: {\"type\":\"transcript.text.delta\""));
                    EXPECT_THAT(streamed, HasSubstr("\"type\":\"transcript.text.done\""));
                    EXPECT_THAT(streamed, HasSubstr("data: [DONE]"));
                    EXPECT_TRUE(streamed.ends_with("\n200")) << streamed;

                    auto no_model = co_await testing::run_command(
                        curl + "-F language=de -F 'file=@" + audio.string() + "' " + url);
                    EXPECT_THAT(no_model, HasSubstr("missing form field \\\"model\\\""));
                    EXPECT_TRUE(no_model.ends_with("\n400")) << no_model;

                    auto not_form = co_await testing::run_command(
                        curl + "-H 'Content-Type: application/json' -d '{}' " + url);
                    EXPECT_THAT(not_form, HasSubstr("is not multipart/form-data"));
                    EXPECT_TRUE(not_form.ends_with("\n400")) << not_form;
                  });
            }));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cipherline
