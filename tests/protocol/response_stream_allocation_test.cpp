// ResponseStream in steady state: once its buffers have grown, opening a
// read of ~80 events allocates nothing per event, in either wire format.
#include <gtest/gtest.h>

#include "../allocation_counter.hpp"
#include "cipherline/crypto/secret_bytes.hpp"
#include "cipherline/protocol/event_fields.hpp"
#include "cipherline/protocol/response_stream.hpp"

namespace cipherline::protocol {
namespace {

constexpr int kEventsPerRead = 80;
constexpr int kReads = 20;

std::string chunk_json(int i) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","choices":[{"index":0,"delta":{"content":"tok)" +
         std::to_string(i % 10) + R"( "},"finish_reason":null}]})";
}

// Allocations per event over kReads reads after two warm-up reads.
double allocations_per_event(ResponseStream& stream, const std::vector<std::string>& reads) {
  long counted = 0;
  for (std::size_t r = 0; r < reads.size(); ++r) {
    const long before = cipherline::testing::allocations();
    EXPECT_TRUE(stream.feed(reads[r]));
    EXPECT_EQ(stream.events().size(), static_cast<std::size_t>(kEventsPerRead));
    stream.consume();
    if (r >= 2) counted += cipherline::testing::allocations() - before;
  }
  return static_cast<double>(counted) / ((reads.size() - 2) * kEventsPerRead);
}

TEST(ResponseStreamAllocations, OaeAllocatesNothingPerEvent) {
  const auto key = crypto::SecretBytes::random(32);
  const auto secret = std::make_shared<const InferenceSecret>("s", key.bytes());
  crypto::OaeRequester requester(oae_secret(*secret));
  auto responder =
      crypto::OaeResponder::create(oae_secret(*secret), requester.request_header()).value();
  ResponseStream stream(Route::chat_completions, true,
                        requester.accept_response(responder.response_header()).value());
  std::vector<std::string> reads(kReads);
  for (auto& read : reads) {
    for (int i = 0; i < kEventsPerRead; ++i) {
      ASSERT_TRUE(seal_frame(responder.response(), "data: " + chunk_json(i) + "\n\n", false, read));
    }
  }
  EXPECT_EQ(allocations_per_event(stream, reads), 0.0);
}

TEST(ResponseStreamAllocations, FieldsAllocateNothingPerEvent) {
  const auto key = crypto::SecretBytes::random(32);
  const auto secret = std::make_shared<const InferenceSecret>("s", key.bytes());
  auto request = std::make_unique<RequestCipher>(secret);
  ResponseCipher response(secret);
  std::string field, ignored;
  ASSERT_TRUE(request->seal(R"("x")", field));
  ASSERT_TRUE(response.open(field, ignored));
  ResponseStream stream(Route::chat_completions, true, std::move(request));
  const auto seal = [&](std::string_view raw, std::string& o) { return response.seal(raw, o); };
  std::vector<std::string> reads(kReads);
  for (auto& read : reads) {
    for (int i = 0; i < kEventsPerRead; ++i) {
      ASSERT_TRUE(seal_event("message", chunk_json(i),
                             plain_response_fields(Route::chat_completions), seal, read));
    }
  }
  EXPECT_EQ(allocations_per_event(stream, reads), 0.0);
}

}  // namespace
}  // namespace cipherline::protocol
