// Headers: case-insensitive lookup, order, token lists, and injection guards.
#include "cipherline/http/headers.hpp"

#include <gtest/gtest.h>

namespace cipherline::http {
namespace {

TEST(Headers, CaseInsensitiveLookupKeepsOrderAndCase) {
  Headers h;
  h.add("Content-Type", "text/plain");
  h.add("X-Twice", "1");
  h.add("x-twice", "2");
  EXPECT_EQ(h.get("content-type"), "text/plain");
  EXPECT_EQ(h.get("X-TWICE"), "1");
  EXPECT_EQ(h.fields()[2].first, "x-twice");
  h.set("X-Twice", "3");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.get("x-twice"), "3");
  h.remove("CONTENT-TYPE");
  EXPECT_FALSE(h.contains("Content-Type"));
}

TEST(Headers, TokenLists) {
  Headers h;
  h.add("Connection", "keep-alive, Upgrade");
  EXPECT_TRUE(h.has_token("connection", "upgrade"));
  EXPECT_TRUE(h.has_token("Connection", "keep-alive"));
  EXPECT_FALSE(h.has_token("Connection", "close"));
}

TEST(Headers, RejectsInjection) {
  Headers h;
  EXPECT_THROW(h.add("X", "a\r\nInjected: 1"), std::invalid_argument);
  EXPECT_THROW(h.add("Bad Name", "v"), std::invalid_argument);
  EXPECT_THROW(h.add("", "v"), std::invalid_argument);
  EXPECT_THROW(h.set("X", std::string("a\0b", 3)), std::invalid_argument);
}

}  // namespace
}  // namespace cipherline::http
