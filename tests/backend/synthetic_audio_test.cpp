// The synthetic model's transcriptions over HTTP, in plaintext: the
// transcript is derived from the file and the form values, in every
// response format and streamed; bad forms get 400 naming the problem.
#include "cipherline/backend/synthetic_audio.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <simdjson.h>

#include "../http/server_fixture.hpp"
#include "cipherline/backend/synthetic_model.hpp"
#include "cipherline/crypto/hex.hpp"
#include "cipherline/crypto/sha256.hpp"
#include "cipherline/http/client.hpp"
#include "cipherline/http/multipart.hpp"
#include "cipherline/http/sse_reader.hpp"

namespace cipherline::backend {
namespace {

using ::testing::HasSubstr;

struct Reply {
  int status = 0;
  std::string type;
  std::string body;
};

// 64000 bytes: two seconds of 16 kHz 16-bit mono.
const std::string kAudio = [] {
  std::string s(64000, '\0');
  for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 7);
  return s;
}();

std::string sha256_prefix(std::string_view bytes) {
  const auto digest = crypto::sha256(std::as_bytes(std::span(bytes)));
  std::string hex(16, '\0');
  crypto::hex_encode(std::span(digest).first(8), hex.data());
  return hex;
}

struct Field {
  std::string name, value;
};

// A form with the given values and, unless `file` is false, the audio file.
std::pair<std::string, std::string> form(const std::vector<Field>& values, bool file = true) {
  std::string body;
  http::MultipartWriter w(body, http::random_boundary());
  for (const auto& [name, value] : values) w.field(name, value).value();
  if (file) w.file("file", "speech.wav", "audio/wav", kAudio).value();
  w.finish();
  return {std::move(body), w.content_type()};
}

Task<Reply> post(http::HttpClient& client, SocketAddress a, std::string body, std::string type) {
  auto r = co_await client.request(http::Origin::parse("http://" + a.to_string()).value(),
                                   {.method = "POST",
                                    .target = "/v1/audio/transcriptions",
                                    .headers = {{"Content-Type", std::move(type)}},
                                    .body = std::move(body)});
  if (!r) co_return Reply{0, "", r.error().message()};
  Reply reply{r->status(), std::string(r->head().headers.get("Content-Type").value_or("")), ""};
  reply.body = (co_await r->body().read_all()).value();
  co_return reply;
}

template <class Body>
void with_model(Body body) {
  Loop loop;
  SyntheticModel model;
  http::Router router;
  model.add_routes(router);
  http::HttpServer server(std::move(router));
  sync_wait(loop, http::testing::with_server(server, [&](SocketAddress a) -> Task<void> {
              http::HttpClient client({.proxy = http::ProxySettings{}});
              co_await body(client, a);
            }));
}

const std::string kTranscript = "synthetic transcript of 64000 bytes, sha256 " +
                                sha256_prefix(kAudio) + ", language de, prompt: Ada Grace.";

TEST(SyntheticAudio, JsonAndVerboseJson) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    auto [body, type] = form({{"model", "synthetic"}, {"language", "de"}, {"prompt", "Ada Grace"}});
    const Reply json = co_await post(client, a, body, type);
    EXPECT_EQ(json.status, 200) << json.body;
    EXPECT_EQ(json.type, "application/json");
    EXPECT_EQ(json.body,
              R"({"text":")" + kTranscript + R"(","usage":{"type":"duration","seconds":2}})");

    auto [vbody, vtype] = form({{"model", "synthetic"},
                                {"language", "de"},
                                {"prompt", "Ada Grace"},
                                {"response_format", "verbose_json"}});
    const Reply verbose = co_await post(client, a, vbody, vtype);
    EXPECT_EQ(verbose.status, 200) << verbose.body;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    if (parser.parse(verbose.body).get(root) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << verbose.body;
      co_return;
    }
    EXPECT_EQ(std::string_view(root["text"]), kTranscript);
    EXPECT_EQ(std::string_view(root["language"]), "de");
    EXPECT_EQ(double(root["duration"]), 2.0);
    simdjson::dom::array segments = root["segments"];
    EXPECT_EQ(segments.size(), 1u);
    if (segments.size() != 1) co_return;
    EXPECT_EQ(double(segments.at(0)["end"]), 2.0);
    EXPECT_EQ(std::string_view(segments.at(0)["text"]), kTranscript);
  });
}

TEST(SyntheticAudio, TextSrtAndVtt) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const std::vector<Field> base = {
        {"model", "synthetic"}, {"language", "de"}, {"prompt", "Ada Grace"}};
    const std::pair<const char*, std::string> expected[] = {
        {"text", kTranscript + "\n"},
        {"srt", "1\n00:00:00,000 --> 00:00:02,000\n" + kTranscript + "\n\n"},
        {"vtt", "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n" + kTranscript + "\n\n"},
    };
    for (const auto& [format, text] : expected) {
      auto values = base;
      values.push_back({"response_format", format});
      auto [body, type] = form(values);
      const Reply r = co_await post(client, a, body, type);
      EXPECT_EQ(r.status, 200) << format;
      EXPECT_THAT(r.type, HasSubstr("text/plain")) << format;
      EXPECT_EQ(r.body, text) << format;
    }
  });
}

TEST(SyntheticAudio, StreamsDeltasThenDoneThenDoneMarker) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    auto [body, type] = form({{"model", "synthetic"},
                              {"language", "de"},
                              {"prompt", "Ada Grace"},
                              {"stream", "true"},
                              {"stream_continuous_usage_stats", "true"}});
    const Reply r = co_await post(client, a, body, type);
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.type, "text/event-stream");
    http::SseReader reader;
    reader.feed(r.body);
    std::string joined;
    std::vector<std::string> data;
    while (auto ev = reader.next().value()) data.emplace_back(ev->data);
    EXPECT_GE(data.size(), 3u);
    if (data.size() < 3) co_return;
    EXPECT_EQ(data.back(), "[DONE]");
    simdjson::dom::parser parser;
    for (std::size_t i = 0; i + 2 < data.size(); ++i) {
      simdjson::dom::element e;
      if (parser.parse(data[i]).get(e) != simdjson::SUCCESS) {
        ADD_FAILURE() << "not JSON: " << data[i];
        co_return;
      }
      EXPECT_EQ(std::string_view(e["type"]), "transcript.text.delta");
      joined += std::string_view(e["delta"]);
      EXPECT_EQ(uint64_t(e["usage"]["output_tokens"]), i + 1);
    }
    EXPECT_EQ(joined, kTranscript);
    simdjson::dom::element done;
    if (parser.parse(data[data.size() - 2]).get(done) != simdjson::SUCCESS) {
      ADD_FAILURE() << "not JSON: " << data[data.size() - 2];
      co_return;
    }
    EXPECT_EQ(std::string_view(done["type"]), "transcript.text.done");
    EXPECT_EQ(std::string_view(done["text"]), kTranscript);
    EXPECT_EQ(uint64_t(done["usage"]["input_tokens"]), 2u);
  });
}

TEST(SyntheticAudio, BadFormsAreRefusedNamingTheProblem) {
  with_model([](http::HttpClient& client, SocketAddress a) -> Task<void> {
    const auto refused = [&](std::string body, std::string type) -> Task<std::string> {
      const Reply r = co_await post(client, a, std::move(body), std::move(type));
      EXPECT_EQ(r.status, 400) << r.body;
      co_return r.body;
    };
    EXPECT_THAT(co_await refused(R"({"model":"synthetic"})", "application/json"),
                HasSubstr("is not multipart/form-data"));
    EXPECT_THAT(co_await refused("--b\r\nno headers", "multipart/form-data; boundary=b"),
                HasSubstr("part 0"));
    auto [nomodel, t1] = form({{"language", "de"}});
    EXPECT_THAT(co_await refused(nomodel, t1), HasSubstr("missing form field \\\"model\\\""));
    auto [other, t2] = form({{"model", "whisper-1"}});
    EXPECT_THAT(co_await refused(other, t2), HasSubstr("unknown model \\\"whisper-1\\\""));
    auto [nofile, t3] = form({{"model", "synthetic"}}, false);
    EXPECT_THAT(co_await refused(nofile, t3), HasSubstr("missing form file \\\"file\\\""));
    auto [format, t4] = form({{"model", "synthetic"}, {"response_format", "mp3"}});
    EXPECT_THAT(co_await refused(format, t4), HasSubstr("unknown response_format \\\"mp3\\\""));
    auto [stream, t5] = form({{"model", "synthetic"}, {"stream", "maybe"}});
    EXPECT_THAT(co_await refused(stream, t5), HasSubstr("\\\"stream\\\" must be true or false"));
    auto [srt, t6] = form({{"model", "synthetic"}, {"stream", "true"}, {"response_format", "srt"}});
    EXPECT_THAT(co_await refused(srt, t6), HasSubstr("stream=true needs response_format json"));
  });
}

}  // namespace
}  // namespace cipherline::backend
