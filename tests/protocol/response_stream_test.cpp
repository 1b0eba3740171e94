// ResponseStream: both wire formats, bodies and event streams, however the
// bytes are split; every way the gateway could cut, reorder, inject or
// forge an answer is an error, never a shorter answer.
#include "cipherline/protocol/response_stream.hpp"

#include <gtest/gtest.h>

#include "cipherline/crypto/error.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/protocol/event_fields.hpp"

namespace cipherline::protocol {
namespace {

using crypto::errc;

std::shared_ptr<const InferenceSecret> make_secret() {
  const auto key = crypto::SecretBytes::random(32);
  return std::make_shared<const InferenceSecret>("secret-A", key.bytes());
}

const std::vector<std::string> kChunks = {
    R"({"id":"c1","choices":[{"index":0,"delta":{"content":"Hello"}}]})",
    R"({"id":"c1","choices":[{"index":0,"delta":{"content":" world"}}]})",
    R"({"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})",
};

// The worker's side of an OAE exchange.
struct OaeExchange {
  std::shared_ptr<const InferenceSecret> secret = make_secret();
  crypto::OaeRequester requester{oae_secret(*secret)};
  crypto::OaeResponder responder =
      crypto::OaeResponder::create(oae_secret(*secret), requester.request_header()).value();

  ResponseStream client(bool event_stream, ResponseLimits limits = {}) {
    return ResponseStream(Route::chat_completions, event_stream,
                          requester.accept_response(responder.response_header()).value(), limits);
  }
  std::string frame(std::string_view plaintext, bool final) {
    std::string out;
    EXPECT_TRUE(seal_frame(responder.response(), plaintext, final, out));
    return out;
  }
  // A whole stream, one frame per event and [DONE] as the final message.
  std::vector<std::string> stream_frames() {
    std::vector<std::string> frames;
    for (const auto& c : kChunks) frames.push_back(frame("data: " + c + "\n\n", false));
    frames.push_back(frame("data: [DONE]\n\n", true));
    return frames;
  }
};

// The worker's side of a fields exchange.
struct FieldsExchange {
  std::shared_ptr<const InferenceSecret> secret = make_secret();
  std::unique_ptr<RequestCipher> request = std::make_unique<RequestCipher>(secret);
  ResponseCipher response{secret};

  FieldsExchange() {
    std::string field, ignored;
    request->seal(R"("hello")", field).value();
    response.open(field, ignored).value();
  }
  ResponseStream client(bool event_stream) {
    return ResponseStream(Route::chat_completions, event_stream, std::move(request));
  }
  std::string event(std::string_view type, std::string_view data) {
    std::string out;
    EXPECT_TRUE(seal_event(
        type, data, plain_response_fields(Route::chat_completions),
        [this](std::string_view raw, std::string& o) { return response.seal(raw, o); }, out));
    return out;
  }
  std::string stream() {
    std::string all;
    for (const auto& c : kChunks) all += event("message", c);
    all += "data: [DONE]\n\n";
    return all;
  }
};

std::string expected_wire() {
  std::string all;
  for (const auto& c : kChunks) all += "data: " + c + "\n\n";
  return all + "data: [DONE]\n\n";
}

// Feeds `bytes` in pieces of `piece` bytes, collecting output and event data.
struct Collected {
  std::string wire;
  std::vector<std::string> data;
  Result<void, Error> status;
};
Collected feed_all(ResponseStream& s, std::string_view bytes, std::size_t piece, bool finish) {
  Collected c;
  for (std::size_t at = 0; at < bytes.size(); at += piece) {
    c.status = s.feed(bytes.substr(at, piece));
    c.wire += s.output();
    for (const auto& e : s.events()) c.data.emplace_back(e.data);
    s.consume();
    if (!c.status) return c;
  }
  if (finish) {
    c.status = s.finish();
    c.wire += s.output();
  }
  return c;
}

void expect_error(const Result<void, Error>& r, errc code) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), code) << r.error().message();
}

TEST(ResponseStreamOae, OpensAStreamHoweverItIsSplit) {
  for (const std::size_t piece : {std::size_t{1}, std::size_t{7}, std::size_t{100000}}) {
    OaeExchange x;
    std::string body;
    for (const auto& f : x.stream_frames()) body += f;
    auto s = x.client(true);
    const auto c = feed_all(s, body, piece, true);
    ASSERT_TRUE(c.status) << c.status.error().message();
    EXPECT_EQ(c.wire, expected_wire()) << "piece " << piece;
    ASSERT_EQ(c.data.size(), 4u);
    EXPECT_EQ(c.data[0], kChunks[0]);
    EXPECT_EQ(c.data[3], "[DONE]");
    EXPECT_TRUE(s.ended());
  }
}

TEST(ResponseStreamOae, EventViewsNameTheType) {
  OaeExchange x;
  auto s = x.client(true);
  ASSERT_TRUE(
      s.feed(x.frame("event: message_start\ndata: {\"type\":\"message_start\"}\n\n", false)));
  ASSERT_EQ(s.events().size(), 1u);
  EXPECT_EQ(s.events()[0].type, "message_start");
  EXPECT_EQ(s.events()[0].data, "{\"type\":\"message_start\"}");
}

TEST(ResponseStreamOae, ADroppedFinalFrameIsTruncation) {
  OaeExchange x;
  auto frames = x.stream_frames();
  frames.pop_back();
  std::string body;
  for (const auto& f : frames) body += f;
  auto s = x.client(true);
  const auto c = feed_all(s, body, 1000, true);
  expect_error(c.status, errc::stream_truncated);
  EXPECT_FALSE(s.ended());
}

TEST(ResponseStreamOae, AStreamCutInsideAFrameIsTruncation) {
  OaeExchange x;
  std::string body;
  for (const auto& f : x.stream_frames()) body += f;
  body.resize(body.size() - 3);
  auto s = x.client(true);
  expect_error(feed_all(s, body, 1000, true).status, errc::stream_truncated);
}

TEST(ResponseStreamOae, ReorderedFramesFail) {
  OaeExchange x;
  auto frames = x.stream_frames();
  std::swap(frames[0], frames[1]);
  std::string body;
  for (const auto& f : frames) body += f;
  auto s = x.client(true);
  const auto c = feed_all(s, body, 1000, false);
  expect_error(c.status, errc::authentication_failed);
  EXPECT_TRUE(c.wire.empty()) << "nothing unauthenticated is released";
}

TEST(ResponseStreamOae, APlaintextEventIsNotAFrame) {
  OaeExchange x;
  auto s = x.client(true);
  // "data" read as a length prefix: far above any sane frame.
  expect_error(s.feed(std::string_view("data: {\"forged\":true}\n\n")), errc::malformed_message);
  EXPECT_TRUE(s.output().empty());
}

TEST(ResponseStreamOae, AFrameAboveTheMaximumIsRefusedBeforeItArrives) {
  OaeExchange x;
  auto s = x.client(true, {.max_frame = 64});
  const std::string big = x.frame("data: " + std::string(100, 'x') + "\n\n", false);
  expect_error(s.feed(std::string_view(big).substr(0, 4)), errc::malformed_message);
}

TEST(ResponseStreamOae, FramesAfterTheFinalOneFail) {
  OaeExchange x;
  auto frames = x.stream_frames();
  std::string body;
  for (const auto& f : frames) body += f;
  body += frames[0];
  auto s = x.client(true);
  expect_error(feed_all(s, body, 100000, false).status, errc::stream_closed);
}

TEST(ResponseStreamOae, AMessageThatIsNotOneEventIsMalformed) {
  OaeExchange x;
  auto s = x.client(true);
  expect_error(s.feed(x.frame("data: a\ndata: b\n\n", false)), errc::malformed_message);
  OaeExchange y;
  auto t = y.client(true);
  expect_error(t.feed(y.frame("data: a\n", false)), errc::malformed_message);
}

TEST(ResponseStreamOae, AnErrorSealedAsTheFinalMessageReachesTheCaller) {
  OaeExchange x;
  auto s = x.client(true);
  std::string body = x.frame("data: " + kChunks[0] + "\n\n", false);
  body +=
      x.frame("event: error\ndata: {\"error\":{\"message\":\"model server broke off\"}}\n\n", true);
  ASSERT_TRUE(s.feed(body));
  ASSERT_EQ(s.events().size(), 2u);
  EXPECT_TRUE(s.events()[1].is_error());
  EXPECT_TRUE(s.ended());
  EXPECT_TRUE(s.finish());
}

TEST(ResponseStreamOae, AWholeBodyIsOneFinalMessage) {
  OaeExchange x;
  auto s = x.client(false);
  const std::string answer = R"({"id":"c1","choices":[{"message":{"content":"hi"}}]})";
  const auto c = feed_all(s, x.frame(answer, true), 5, true);
  ASSERT_TRUE(c.status);
  EXPECT_EQ(c.wire, answer);
  OaeExchange y;
  auto t = y.client(false);
  expect_error(feed_all(t, y.frame(answer, false), 5, true).status, errc::stream_truncated);
}

TEST(ResponseStreamFields, OpensAStreamHoweverItIsSplit) {
  for (const std::size_t piece : {std::size_t{1}, std::size_t{13}, std::size_t{100000}}) {
    FieldsExchange x;
    const std::string body = x.stream();
    auto s = x.client(true);
    const auto c = feed_all(s, body, piece, true);
    ASSERT_TRUE(c.status) << c.status.error().message();
    EXPECT_EQ(c.wire, expected_wire());
    ASSERT_EQ(c.data.size(), 4u);
    EXPECT_EQ(c.data[1], kChunks[1]);
  }
}

TEST(ResponseStreamFields, EndOfInputBeforeDoneIsTruncation) {
  FieldsExchange x;
  std::string body = x.stream();
  body.resize(body.find("data: [DONE]"));
  auto s = x.client(true);
  const auto c = feed_all(s, body, 1000, true);
  expect_error(c.status, errc::stream_truncated);
  EXPECT_EQ(c.data.size(), 3u);  // what did authenticate stays delivered
}

TEST(ResponseStreamFields, NothingAfterDoneIsBelieved) {
  FieldsExchange x;
  // A plaintext [DONE] injected early ends the stream there: later events
  // (genuine or forged) are not passed on.
  std::string body = x.event("message", kChunks[0]);
  body += "data: [DONE]\n\n";
  body += x.event("message", kChunks[1]);
  body += "data: {\"forged\":\"plaintext\"}\n\n";
  auto s = x.client(true);
  const auto c = feed_all(s, body, 1000, true);
  ASSERT_TRUE(c.status);
  ASSERT_EQ(c.data.size(), 2u);
  EXPECT_EQ(c.data[1], "[DONE]");
  EXPECT_EQ(c.wire.find("forged"), std::string::npos);
}

TEST(ResponseStreamFields, APlaintextFieldIsRefused) {
  FieldsExchange x;
  auto s = x.client(true);
  expect_error(s.feed(std::string_view(
                   "data: {\"id\":\"c1\",\"choices\":[{\"delta\":{\"content\":\"forged\"}}]}\n\n")),
               errc::malformed_field);
  EXPECT_TRUE(s.output().empty());
}

TEST(ResponseStreamFields, AnEventWithNothingSealedIsRefused) {
  FieldsExchange x;
  auto s = x.client(true);
  expect_error(s.feed(std::string_view("data: {\"id\":\"c1\",\"usage\":{\"total_tokens\":1}}\n\n")),
               errc::authentication_failed);
}

TEST(ResponseStreamFields, ABodyWithNothingSealedIsRefused) {
  FieldsExchange x;
  auto s = x.client(false);
  ASSERT_TRUE(s.feed(std::string_view(R"({"id":"c1"})")));
  expect_error(s.finish(), errc::authentication_failed);
  EXPECT_TRUE(s.output().empty());
}

TEST(ResponseStreamOae, StreamFramesAreBoundedByTheEventLimit) {
  OaeExchange x;
  auto s = x.client(true, {.max_event = 100});
  const std::string big = x.frame("data: " + std::string(200, 'x') + "\n\n", false);
  expect_error(s.feed(big), errc::malformed_message);
}

TEST(ResponseStreamFields, MessagesStreamsEndAtMessageStop) {
  auto secret = make_secret();
  auto request = std::make_unique<RequestCipher>(secret);
  ResponseCipher response(secret);
  std::string field, ignored;
  request->seal(R"("x")", field).value();
  response.open(field, ignored).value();
  ResponseStream s(Route::messages, true, std::move(request));
  const auto seal = [&](std::string_view raw, std::string& o) { return response.seal(raw, o); };
  std::string body;
  ASSERT_TRUE(seal_event("content_block_delta",
                         R"({"type":"content_block_delta","delta":{"text":"hi"}})",
                         plain_response_fields(Route::messages), seal, body));
  ResponseStream copy = std::move(s);  // the stream moves with its cipher
  ASSERT_TRUE(copy.feed(body));
  EXPECT_FALSE(copy.ended());
  expect_error(copy.finish(), errc::stream_truncated);
}

TEST(ResponseStreamFields, AWholeBodyOpensAtFinish) {
  FieldsExchange x;
  std::string sealed;
  ASSERT_TRUE(seal_json_fields(
      R"({"id":"c1","choices":[{"message":{"content":"hi"}}]})",
      plain_response_fields(Route::chat_completions),
      [&x](std::string_view raw, std::string& o) { return x.response.seal(raw, o); }, sealed));
  auto s = x.client(false);
  const auto c = feed_all(s, sealed, 9, true);
  ASSERT_TRUE(c.status);
  EXPECT_EQ(c.wire, R"({"id":"c1","choices":[{"message":{"content":"hi"}}]})");
}

TEST(FrameReader, ShortFramesAreMalformed) {
  FrameReader r;
  const std::string frame("\0\0\0\x05hello", 9);
  r.feed(std::as_bytes(std::span(frame)));
  auto m = r.next();
  ASSERT_FALSE(m);
  EXPECT_EQ(m.error(), errc::malformed_message);
}

TEST(OaeHeaderValue, RoundTripsAndRefusesBadValues) {
  crypto::OaeHeader salt;
  for (std::size_t i = 0; i < salt.size(); ++i) salt[i] = std::byte(i);
  EXPECT_EQ(oae_header_value(salt), ":AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=:");
  EXPECT_EQ(parse_oae_header_value(oae_header_value(salt)).value(), salt);
  EXPECT_FALSE(parse_oae_header_value("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="));
  EXPECT_FALSE(parse_oae_header_value(":AAEC:"));
  EXPECT_FALSE(parse_oae_header_value(":!!!:"));
}

}  // namespace
}  // namespace cipherline::protocol
