// http::errc: the category's name, messages and the std::errc conditions its
// codes compare equal to.
#include "cipherline/http/error.hpp"

#include <gtest/gtest.h>

#include <string>
#include <system_error>

#include "cipherline/runtime/result.hpp"

namespace cipherline::http {
namespace {

TEST(HttpError, CategoryAndMessage) {
  const std::error_code e = errc::sse_event_too_large;
  EXPECT_STREQ(e.category().name(), "cipherline.http");
  EXPECT_EQ(&e.category(), &http_category());
  EXPECT_EQ(e.message(), "SSE event larger than the reader's size limit");
}

TEST(HttpError, MapsToGenericConditions) {
  const std::error_code e = make_error_code(errc::sse_event_too_large);
  EXPECT_EQ(e, std::errc::message_size);
  EXPECT_NE(e, std::errc::timed_out);
  // Distinct from the runtime's codes with the same value.
  EXPECT_NE(e, make_error_code(cipherline::errc::operation_cancelled));
}

TEST(HttpError, EveryCodeHasAMessage) {
  for (int code = 1; code <= static_cast<int>(errc::tls_failed); ++code) {
    const std::string text = make_error_code(static_cast<errc>(code)).message();
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.find("unknown"), std::string::npos) << code;
  }
  EXPECT_EQ(std::error_code(99, http_category()).message(), "unknown http error 99");
}

TEST(HttpError, CarriedByErrorWithDetail) {
  const Error e(errc::sse_event_too_large, "SSE event larger than the 16-byte limit");
  EXPECT_EQ(e, errc::sse_event_too_large);
  EXPECT_EQ(e.code(), std::errc::message_size);
  EXPECT_EQ(e.message(), "SSE event larger than the 16-byte limit");
  try {
    Result<int, Error> r = e;
    (void)r.value();
    FAIL();
  } catch (const std::system_error& thrown) {
    EXPECT_EQ(thrown.code(), errc::sse_event_too_large);
    EXPECT_NE(std::string(thrown.what()).find("16-byte limit"), std::string::npos);
  }
}

}  // namespace
}  // namespace cipherline::http
