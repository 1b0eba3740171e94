// Result<T>: values, errors, and the exceptions value() throws.
#include "cipherline/runtime/result.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace cipherline {
namespace {

TEST(Result, HoldsAValue) {
  Result<std::string> r = std::string("token");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "token");
  EXPECT_EQ(r->size(), 5u);
  EXPECT_FALSE(r.error());
}

TEST(Result, HoldsAnError) {
  Result<int> r = errc::timed_out;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::timed_out);
  EXPECT_EQ(r.error(), std::errc::timed_out);
  EXPECT_EQ(r.error().message(), "operation timed out");
}

TEST(Result, ValueThrowsTheErrorAsSystemError) {
  Result<int> r = errc::operation_cancelled;
  try {
    (void)r.value();
    FAIL();
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), errc::operation_cancelled);
    EXPECT_EQ(e.code(), std::errc::operation_canceled);
  }
}

TEST(Result, MoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 7);
}

TEST(Result, VoidResult) {
  Result<void> ok;
  EXPECT_TRUE(ok);
  EXPECT_NO_THROW(ok.value());
  Result<void> bad = errc::channel_closed;
  EXPECT_FALSE(bad);
  EXPECT_THROW(bad.value(), std::system_error);
}

TEST(Result, UvErrorsMapToGenericConditions) {
  const std::error_code refused = uv_error(-ECONNREFUSED);
  EXPECT_EQ(refused, std::errc::connection_refused);
  EXPECT_EQ(refused.message(), "connection refused");
}

TEST(Result, EveryRuntimeErrorHasAMessage) {
  for (int code = 1; code <= static_cast<int>(errc::read_in_progress); ++code) {
    const std::string text = make_error_code(static_cast<errc>(code)).message();
    EXPECT_FALSE(text.empty());
    EXPECT_EQ(text.find("unknown"), std::string::npos) << code;
  }
}

}  // namespace
}  // namespace cipherline
