// error_body: the two SDK shapes, the type by status and dialect, codes as
// null or strings, escaping, and parsing either shape back.
#include "cipherline/protocol/error_body.hpp"

#include <gtest/gtest.h>

namespace cipherline::protocol {
namespace {

TEST(ErrorBody, OpenAiShapeWithTypeAndCode) {
  EXPECT_EQ(error_body(ErrorDialect::openai, ErrorType::invalid_request, "model \"x\" is unknown",
                       kCodeModelNotFound),
            R"({"error":{"message":"model \"x\" is unknown","type":"invalid_request_error",)"
            R"("code":"model_not_found"}})");
  EXPECT_EQ(error_body(ErrorDialect::openai, ErrorType::authentication, "invalid API key"),
            R"({"error":{"message":"invalid API key","type":"authentication_error","code":null}})");
}

TEST(ErrorBody, AnthropicShape) {
  EXPECT_EQ(error_body(ErrorDialect::anthropic, ErrorType::overloaded, "busy"),
            R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})");
}

TEST(ErrorBody, TypeByStatus) {
  const std::pair<int, ErrorType> cases[] = {
      {400, ErrorType::invalid_request},
      {413, ErrorType::invalid_request},
      {401, ErrorType::authentication},
      {403, ErrorType::permission},
      {421, ErrorType::permission},
      {404, ErrorType::not_found},
      {429, ErrorType::rate_limit},
      {500, ErrorType::server},
      {502, ErrorType::api},
      {503, ErrorType::overloaded},
  };
  for (const auto& [status, type] : cases) EXPECT_EQ(error_type_for_status(status), type) << status;
  EXPECT_EQ(type_name(ErrorDialect::openai, ErrorType::server), "server_error");
  EXPECT_EQ(type_name(ErrorDialect::anthropic, ErrorType::server), "api_error");
  EXPECT_EQ(type_name(ErrorDialect::openai, ErrorType::api), "api_error");
  EXPECT_EQ(type_name(ErrorDialect::anthropic, ErrorType::not_found), "not_found_error");
}

TEST(ErrorBody, DialectByPath) {
  EXPECT_EQ(error_dialect_for_path("/v1/messages"), ErrorDialect::anthropic);
  EXPECT_EQ(error_dialect_for_path("/v1/messages/count_tokens"), ErrorDialect::anthropic);
  EXPECT_EQ(error_dialect_for_path("/v1/messagesx"), ErrorDialect::openai);
  EXPECT_EQ(error_dialect_for_path("/v1/chat/completions"), ErrorDialect::openai);
}

TEST(ErrorBody, ParsesEitherShapeBack) {
  auto openai = parse_error_body(
      error_body(ErrorDialect::openai, ErrorType::api, "no worker", kCodeNotForwarded));
  ASSERT_TRUE(openai);
  EXPECT_EQ(openai->message, "no worker");
  EXPECT_EQ(openai->type, "api_error");
  EXPECT_EQ(openai->code, "not_forwarded");
  auto anthropic =
      parse_error_body(error_body(ErrorDialect::anthropic, ErrorType::not_found, "gone"));
  ASSERT_TRUE(anthropic);
  EXPECT_EQ(anthropic->message, "gone");
  EXPECT_EQ(anthropic->code, "");
  auto privatemode = parse_error_body(R"({"error":{"message":"x","type":""}})");
  ASSERT_TRUE(privatemode);
  EXPECT_EQ(privatemode->message, "x");
  auto event = parse_error_body(
      "event: error\n\ndata: " + error_body(ErrorDialect::openai, ErrorType::not_found, "e") +
      "\n\n");
  ASSERT_TRUE(event);
  EXPECT_EQ(event->message, "e");
  EXPECT_FALSE(parse_error_body("not json"));
  EXPECT_FALSE(parse_error_body(R"({"error":"text"})"));
}

TEST(ErrorBody, UnknownSecretStillMatches) {
  const auto body = error_body(ErrorDialect::openai, ErrorType::server, no_secret_message("abc"),
                               kCodeUnknownSecret);
  EXPECT_TRUE(names_unknown_secret(body));
  EXPECT_FALSE(names_unknown_secret(error_body(ErrorDialect::openai, ErrorType::server, "other")));
}

}  // namespace
}  // namespace cipherline::protocol
